// Softmax's exp (codegen/exp-below-max.ts) against float64 Math.exp over the float32s it is defined on (d <= 0):
// every 61st bit pattern from -0 to -inf (about 18 million arguments), plus special values.
// EXP_BELOW_MAX_STRIDE=1 npx vitest run test/ops/exp-below-max.test.ts checks every one (about half a minute; the worst then is 1.849e-7, at d = -86.49).

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

  it('within 1.85e-7 relatively where e^d is a normal float32 (d >= -87), within 2^-126 to -88, exactly 0 below', () => {
    const bits = new Uint32Array(CHUNK);
    const xs = new Float32Array(bits.buffer);
    let worstRel = 0, relAt = 0, worstTiny = 0, tinyAt = 0, notZero = 0, count = 0;
    for (let start = 0x80000000; start <= 0xff800000; start += CHUNK * STRIDE) {
      let n = 0;
      for (; n < CHUNK && start + n * STRIDE <= 0xff800000; n++) bits[n] = start + n * STRIDE;
      const got = exp(xs.subarray(0, n));
      for (let i = 0; i < n; i++) {
        const d = xs[i], y = got[i], want = Math.exp(d);
        if (d >= -87) {
          const e = Math.abs(y - want) / want;
          if (!(e <= worstRel)) { worstRel = e; relAt = d; }
        } else if (d >= -88) {
          const e = Math.abs(y - want);
          if (!(e <= worstTiny)) { worstTiny = e; tinyAt = d; }
        } else if (y !== 0) notZero++;
      }
      count += n;
    }
    console.log(`exp below max: ${count} arguments, max relative error ${worstRel.toExponential(3)} at d = ${relAt}`);
    expect(count).toBeGreaterThan(0x7f800000 / STRIDE - 1);
    expect(worstRel, `worst at d = ${relAt}`).toBeLessThanOrEqual(1.85e-7);
    expect(worstTiny, `worst at d = ${tinyAt}`).toBeLessThanOrEqual(2 ** -126);
    expect(notZero).toBe(0);
  }, STRIDE < 61 ? 3600_000 : undefined);

  it('special values: 0 -> 1, -inf -> 0, NaN -> NaN, exact powers of two', () => {
    const got = exp(Float32Array.from([0, -0, -Infinity, NaN, -Math.LN2, -10 * Math.LN2, -1e30, -88.5]));
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1);
    expect(got[2]).toBe(0);
    expect(got[3]).toBeNaN();
    expect(got[4]).toBeCloseTo(0.5, 7);
    expect(Math.abs(got[5] / 2 ** -10 - 1)).toBeLessThanOrEqual(1.85e-7);
    expect(got[6]).toBe(0);
    expect(got[7]).toBe(0);
  });
});
