// The fast float32 erf (codegen/mathlib.ts) against a double-precision erf computed here, over a dense sweep of
// float32 inputs (every 4096th float32, ~90k points from 1e-6 to 4.5, plus tiny, huge and special values), scalar and f32x4.

import { beforeAll, describe, expect, it } from 'vitest';
import { buildMathKernels, type MathKernels } from '../helpers/mathkernels.js';

let K: MathKernels;
beforeAll(() => { K = buildMathKernels(); });

/** erf in double: 2/sqrt(pi) e^(-x^2) sum_n x^(2n+1) 2^n / (1*3*...*(2n+1)), all terms positive (no cancellation). */
function erf64(x: number): number {
  if (Number.isNaN(x)) return NaN;
  const a = Math.abs(x);
  if (a > 6) return Math.sign(x);
  let term = a, sum = a;
  for (let n = 1; term > sum * 1e-17; n++) {
    term *= (2 * a * a) / (2 * n + 1);
    sum += term;
  }
  return Math.sign(x) * (2 / Math.sqrt(Math.PI)) * Math.exp(-a * a) * sum;
}

function sweep(): Float32Array {
  const bits = new Uint32Array(1);
  const f = new Float32Array(bits.buffer);
  const out: number[] = [];
  f[0] = 1e-6;
  const start = bits[0];
  f[0] = 4.5;
  const end = bits[0];
  for (let b = start; b <= end; b += 4096) { bits[0] = b; out.push(f[0], -f[0]); }
  out.push(0, -0, 1e-30, -1e-30, 1e-10, 3.92, 3.93, 4, 5, 10, -10, 1e30, -1e30, Infinity, -Infinity);
  return Float32Array.from(out);
}

describe('fast f32 erf against a double erf', () => {
  const xs = sweep();
  for (const simd of [false, true]) {
    it(`${simd ? 'f32x4' : 'scalar'}: relative error <= 4e-7, odd, exactly +-1 in saturation`, () => {
      const got = K.fast('erf', xs, simd);
      let worst = 0, at = 0;
      xs.forEach((x, i) => {
        const want = erf64(x);
        const e = Math.abs(got[i] - want) / Math.abs(want || 1);
        if (e > worst || Number.isNaN(e)) { worst = e; at = x; }
      });
      console.log(`erf ${simd ? 'f32x4' : 'scalar'}: ${xs.length} points, max relative error ${worst.toExponential(3)} at x=${at}`);
      expect(worst, `worst at x=${at}`).toBeLessThanOrEqual(4e-7);
      expect(got.every((v) => !(Math.abs(v) > 1)), "|erf| <= 1").toBe(true);
      for (let i = 0; i < xs.length; i += 2) if (xs[i] === -xs[i + 1]) expect(got[i + 1]).toBe(-got[i]);
      const sat = K.fast('erf', Float32Array.from([4, -4, 10, -10, 1e30, -1e30, Infinity, -Infinity, 0, -0]), simd);
      expect(Array.from(sat)).toEqual([1, -1, 1, -1, 1, -1, 1, -1, 0, -0]);
      expect(K.fast('erf', Float32Array.from([NaN]), simd)[0]).toBeNaN();
    });
  }
});
