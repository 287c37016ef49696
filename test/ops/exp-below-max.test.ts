// Softmax's exp (codegen/exp-below-max.ts) against float64 Math.exp over the float32s it is defined on (d <= 0):
// every 61st bit pattern from -0 to -inf (about 18 million arguments), plus special values.
// EXP_BELOW_MAX_STRIDE=1 npx vitest run test/ops/exp-below-max.test.ts checks every one (about half a minute).

import { describe, expect, it } from 'vitest';
import { simdExpBelowMax } from '../../codegen/exp-below-max.js';
import { WasmModule } from '../../codegen/wasm.js';

const STRIDE = Number(process.env.EXP_BELOW_MAX_STRIDE ?? 61);
const CHUNK = 1 << 18;

/** A module whose `exp(p, end)` replaces the floats at [p, end) with their simdExpBelowMax. */
function build(): (xs: Float32Array) => Float32Array {
  const w = new WasmModule('simd');
  w.addFunction('exp', ['i32', 'i32'], 'none', (k) => {
    const [p, end] = k.params;
    return k.while(() => k.i32.lt_u(p.get(), end.get()), [
      k.v128.store(0, 4, p.get(), simdExpBelowMax(k, k.v128.load(0, 4, p.get()))),
      p.set(k.i32.add(p.get(), k.c32(16))),
    ]);
  });
  w.exportFunction('exp');
  const bytes = w.finish(4 * CHUNK + 65536, true);
  w.dispose();
  const ex = new WebAssembly.Instance(new WebAssembly.Module(bytes), {}).exports as { exp(p: number, end: number): void; memory: WebAssembly.Memory };
  return (xs) => {
    const n = Math.ceil(xs.length / 4) * 4;
    const mem = new Float32Array(ex.memory.buffer, 1024, n);
    mem.fill(0);
    mem.set(xs);
    ex.exp(1024, 1024 + 4 * n);
    return mem.slice(0, xs.length);
  };
}

describe('Softmax exp (e^d for d <= 0) against float64', () => {
  const exp = build();

  it('within 2e-7 + 7.4e-8 |d| relatively where e^d is a normal float32 (d >= -87), within 1.6e-7 absolutely, exactly 0 below -88', () => {
    const bits = new Uint32Array(CHUNK);
    const xs = new Float32Array(bits.buffer);
    let worstRel = 0, relAt = 0, worstAbs = 0, absAt = 0, notZero = 0, count = 0;
    for (let start = 0x80000000; start <= 0xff800000; start += CHUNK * STRIDE) {
      let n = 0;
      for (; n < CHUNK && start + n * STRIDE <= 0xff800000; n++) bits[n] = start + n * STRIDE;
      const got = exp(xs.subarray(0, n));
      for (let i = 0; i < n; i++) {
        const d = xs[i], y = got[i], want = Math.exp(d), e = Math.abs(y - want);
        if (!(e <= worstAbs)) { worstAbs = e; absAt = d; }
        // the relative error less the part that grows with |d| (z = d log2e: rounding, and log2e in float32)
        const rel = e / want - Math.abs(d) * 7.4e-8;
        if (d >= -87 && !(rel <= worstRel)) { worstRel = rel; relAt = d; }
        if (d < -88 && y !== 0) notZero++;
      }
      count += n;
    }
    console.log(`exp below max: ${count} arguments, relative error at most ${worstRel.toExponential(3)} + 7.4e-8 |d| (at d = ${relAt}), ` +
      `absolute ${worstAbs.toExponential(3)} (at d = ${absAt})`);
    expect(count).toBeGreaterThan(0x7f800000 / STRIDE - 1);
    expect(worstRel, `worst at d = ${relAt}`).toBeLessThanOrEqual(2e-7);
    expect(worstAbs, `worst at d = ${absAt}`).toBeLessThanOrEqual(1.6e-7);
    expect(notZero).toBe(0);
  }, STRIDE < 61 ? 3600_000 : undefined);

  it('special values: 0 -> 1, -inf -> 0, NaN -> NaN, exact powers of two', () => {
    const got = exp(Float32Array.from([0, -0, -Infinity, NaN, -Math.LN2, -10 * Math.LN2, -1e30, -88.5]));
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1);
    expect(got[2]).toBe(0);
    expect(got[3]).toBeNaN();
    expect(got[4]).toBeCloseTo(0.5, 7);
    expect(Math.abs(got[5] / 2 ** -10 - 1)).toBeLessThanOrEqual(2e-7 + 7 * 7.4e-8);
    expect(got[6]).toBe(0);
    expect(got[7]).toBe(0);
  });
});
