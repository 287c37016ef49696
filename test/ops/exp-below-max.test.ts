// codegen/exp-below-max.ts against float64 Math.exp: Softmax's exp (simdExpBelowMax) and the two-part-ln2
// simdExpNonPositive over the float32s they are defined on (d <= 0), the Sigmoid built on the latter over both
// signs: every 61st bit pattern (about 35 million arguments each), plus special values.
// EXP_BELOW_MAX_STRIDE=1 npx vitest run test/ops/exp-below-max.test.ts checks every float32 (a few minutes).

import { describe, expect, it } from 'vitest';
import { simdExpBelowMax, simdExpNonPositive, simdSigmoidViaExpNonPositive } from '../../codegen/exp-below-max.js';
import { WasmModule, type Expr, type Kernel } from '../../codegen/wasm.js';

const STRIDE = Number(process.env.EXP_BELOW_MAX_STRIDE ?? 61);
const TIMEOUT = STRIDE < 61 ? 3600_000 : undefined;
const CHUNK = 1 << 18;
const FNS: Record<string, (k: Kernel, v: Expr) => Expr> = {
  expBelowMax: simdExpBelowMax, expNonPositive: simdExpNonPositive, sigmoid: simdSigmoidViaExpNonPositive,
};

/** A module whose `<name>(p, end)` replaces the floats at [p, end) with the function's values. */
function build(): (fn: string, xs: Float32Array) => Float32Array {
  const w = new WasmModule('simd');
  for (const [name, f] of Object.entries(FNS)) {
    w.addFunction(name, ['i32', 'i32'], 'none', (k) => {
      const [p, end] = k.params;
      return k.while(() => k.i32.lt_u(p.get(), end.get()), [
        k.v128.store(0, 4, p.get(), f(k, k.v128.load(0, 4, p.get()))),
        p.set(k.i32.add(p.get(), k.c32(16))),
      ]);
    });
    w.exportFunction(name);
  }
  const bytes = w.finish(4 * CHUNK + 65536, true);
  w.dispose();
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as Record<string, (p: number, end: number) => void> & { memory: WebAssembly.Memory };
  return (fn, xs) => {
    const n = Math.ceil(xs.length / 4) * 4;
    const mem = new Float32Array(ex.memory.buffer, 1024, n);
    mem.fill(0);
    mem.set(xs);
    ex[fn](1024, 1024 + 4 * n);
    return mem.slice(0, xs.length);
  };
}

/** Calls visit(x, fn(x)) for every STRIDE-th float32 bit pattern from `from` to `to` (inclusive, ascending bits). */
function sweep(run: (fn: string, xs: Float32Array) => Float32Array, fn: string, from: number, to: number, visit: (x: number, y: number) => void): number {
  const bits = new Uint32Array(CHUNK);
  const xs = new Float32Array(bits.buffer);
  let count = 0;
  for (let start = from; start <= to; start += CHUNK * STRIDE) {
    let n = 0;
    for (; n < CHUNK && start + n * STRIDE <= to; n++) bits[n] = start + n * STRIDE;
    const got = run(fn, xs.subarray(0, n));
    for (let i = 0; i < n; i++) visit(xs[i], got[i]);
    count += n;
  }
  return count;
}

const NEGATIVE = [0x80000000, 0xff800000] as const; // -0 .. -inf
const POSITIVE = [0, 0x7f800000] as const; // 0 .. inf

describe('Softmax and Sigmoid exps against float64', () => {
  const run = build();

  it('Softmax exp: within 1.72e-7 + 7.4e-8 |d| relatively where e^d is a normal float32 (d >= -87), within 1.55e-7 absolutely, exactly 0 below -88', () => {
    let worstRel = 0, relAt = 0, worstAbs = 0, absAt = 0, notZero = 0;
    const count = sweep(run, 'expBelowMax', ...NEGATIVE, (d, y) => {
      const want = Math.exp(d), e = Math.abs(y - want);
      if (!(e <= worstAbs)) { worstAbs = e; absAt = d; }
      // the relative error less the part that grows with |d| (z = d log2e: rounding, and log2e in float32)
      const rel = e / want - Math.abs(d) * 7.4e-8;
      if (d >= -87 && !(rel <= worstRel)) { worstRel = rel; relAt = d; }
      if (d < -88 && y !== 0) notZero++;
    });
    console.log(`Softmax exp: ${count} arguments, relative error at most ${worstRel.toExponential(3)} + 7.4e-8 |d| (at d = ${relAt}), ` +
      `absolute ${worstAbs.toExponential(3)} (at d = ${absAt})`);
    expect(count).toBeGreaterThan(0x7f800000 / STRIDE - 1);
    expect(worstRel, `worst at d = ${relAt}`).toBeLessThanOrEqual(1.72e-7);
    expect(worstAbs, `worst at d = ${absAt}`).toBeLessThanOrEqual(1.55e-7);
    expect(notZero).toBe(0);
  }, TIMEOUT);

  it('two-part ln 2 exp: within 1.85e-7 relatively for d >= -87, within 2^-126 absolutely to -88, exactly 0 below', () => {
    let worstRel = 0, relAt = 0, worstTiny = 0, tinyAt = 0, notZero = 0;
    const count = sweep(run, 'expNonPositive', ...NEGATIVE, (d, y) => {
      const want = Math.exp(d), e = Math.abs(y - want);
      if (d >= -87) {
        if (!(e / want <= worstRel)) { worstRel = e / want; relAt = d; }
      } else if (d >= -88) {
        if (!(e <= worstTiny)) { worstTiny = e; tinyAt = d; }
      } else if (y !== 0) notZero++;
    });
    console.log(`two-part exp: ${count} arguments, relative error at most ${worstRel.toExponential(3)} (at d = ${relAt})`);
    expect(worstRel, `worst at d = ${relAt}`).toBeLessThanOrEqual(1.85e-7);
    expect(worstTiny, `worst at d = ${tinyAt}`).toBeLessThanOrEqual(2 ** -126);
    expect(notZero).toBe(0);
  }, TIMEOUT);

  it('Sigmoid: within 3e-7 relatively of the logistic function for every float32 whose value is a normal float32, inside [0, 1]', () => {
    let worstRel = 0, relAt = 0, outside = 0, nan = 0;
    const visit = (x: number, y: number) => {
      const want = 1 / (1 + Math.exp(-x));
      if (Number.isNaN(y)) nan++;
      if (y < 0 || y > 1) outside++;
      if (want >= 2 ** -126 && !(Math.abs(y - want) / want <= worstRel)) { worstRel = Math.abs(y - want) / want; relAt = x; }
    };
    const count = sweep(run, 'sigmoid', ...NEGATIVE, visit) + sweep(run, 'sigmoid', ...POSITIVE, visit);
    console.log(`Sigmoid: ${count} arguments, relative error at most ${worstRel.toExponential(3)} (at x = ${relAt})`);
    expect(worstRel, `worst at x = ${relAt}`).toBeLessThanOrEqual(3e-7);
    expect(outside).toBe(0);
    expect(nan).toBe(0);
  }, TIMEOUT);

  it('special values', () => {
    const d = Float32Array.from([0, -0, -Infinity, NaN, -Math.LN2, -10 * Math.LN2, -1e30, -88.5]);
    for (const fn of ['expBelowMax', 'expNonPositive']) {
      const got = run(fn, d);
      expect(got[0]).toBe(1);
      expect(got[1]).toBe(1);
      expect(got[2]).toBe(0);
      expect(got[3]).toBeNaN();
      expect(got[4]).toBeCloseTo(0.5, 7);
      expect(Math.abs(got[5] / 2 ** -10 - 1)).toBeLessThanOrEqual(1.72e-7 + 7 * 7.4e-8);
      expect(got[6]).toBe(0);
      expect(got[7]).toBe(0);
    }
    const s = run('sigmoid', Float32Array.from([0, -0, Infinity, -Infinity, NaN, 100, -100, 1e30, -1e30, -88.5]));
    expect(Array.from(s.slice(0, 4))).toEqual([0.5, 0.5, 1, 0]);
    expect(s[4]).toBeNaN();
    expect(s[5]).toBe(1);
    expect(s[6]).toBe(0); // e^-100 is below float32's normal range
    expect(Array.from(s.slice(7, 9))).toEqual([1, 0]);
    expect(Math.abs(s[9] - Math.exp(-88.5))).toBeLessThanOrEqual(2 ** -126);
  });
});
