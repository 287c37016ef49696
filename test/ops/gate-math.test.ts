// The recurrent layers' gate functions (codegen/mathlib.ts gate_tanh, gate_sigmoid) against float64, over the
// whole float32 range: every 1021st bit pattern of each sign (about four million arguments per function and target),
// plus special values. GATE_MATH_STRIDE=1 npx vitest run test/ops/gate-math.test.ts checks every float32 (about five
// minutes per function and target). The bounds are absolute errors (the functions' purpose); gate_tanh is also
// bounded relatively, so that a state near zero keeps its digits.

import { beforeAll, describe, expect, it } from 'vitest';
import { buildMathKernels, type MathKernels } from '../helpers/mathkernels.js';

let K: MathKernels;
beforeAll(() => { K = buildMathKernels(); });

const STRIDE = Number(process.env.GATE_MATH_STRIDE ?? 1021);
/** An exhaustive sweep takes minutes: no per-test timeout then. */
const TIMEOUT = STRIDE < 1021 ? 24 * 3600_000 : undefined;
const CHUNK = 1 << 17;
const FNS = {
  gate_tanh: { ref: Math.tanh, abs: 3.7e-7, lo: -1, hi: 1 },
  gate_sigmoid: { ref: (x: number) => 1 / (1 + Math.exp(-x)), abs: 2e-7, lo: 0, hi: 1 },
} as const;

interface Worst { abs: number; absAt: number; rel: number; relAt: number; outside: number; nan: number }

/** Sweeps every STRIDE-th finite float32 of both signs through fn on one target. */
function sweep(fn: keyof typeof FNS, simd: boolean): Worst {
  const { ref, lo, hi } = FNS[fn];
  const bits = new Uint32Array(CHUNK);
  const xs = new Float32Array(bits.buffer);
  const w: Worst = { abs: 0, absAt: 0, rel: 0, relAt: 0, outside: 0, nan: 0 };
  for (const sign of [0, 0x80000000]) {
    for (let start = 0; start < 0x7f800000; start += CHUNK * STRIDE) {
      let n = 0;
      for (; n < CHUNK && start + n * STRIDE < 0x7f800000; n++) bits[n] = (start + n * STRIDE) | sign;
      const got = K.fast(fn, xs.subarray(0, n), simd);
      for (let i = 0; i < n; i++) {
        const y = got[i], r = ref(xs[i]);
        if (Number.isNaN(y)) { w.nan++; continue; }
        if (y < lo || y > hi) w.outside++;
        const e = Math.abs(y - r);
        if (e > w.abs) { w.abs = e; w.absAt = xs[i]; }
        if (r !== 0 && e / Math.abs(r) > w.rel) { w.rel = e / Math.abs(r); w.relAt = xs[i]; }
      }
    }
  }
  return w;
}

describe('gate_tanh and gate_sigmoid against float64', () => {
  for (const fn of Object.keys(FNS) as (keyof typeof FNS)[]) {
    for (const simd of [false, true]) {
      it(`${fn} ${simd ? 'f32x4' : 'scalar'}: within ${FNS[fn].abs} absolutely, inside [${FNS[fn].lo}, ${FNS[fn].hi}], no NaN from a number`, () => {
        const w = sweep(fn, simd);
        expect(w.abs, `worst at x = ${w.absAt}`).toBeLessThanOrEqual(FNS[fn].abs);
        if (fn === 'gate_tanh') expect(w.rel, `worst relative at x = ${w.relAt}`).toBeLessThanOrEqual(FNS[fn].abs);
        expect(w.outside).toBe(0);
        expect(w.nan).toBe(0);
      }, TIMEOUT);
    }
  }

  it('special values, and the same bits from both targets', () => {
    const xs = Float32Array.from([0, -0, Infinity, -Infinity, NaN, 1e-45, -1e-45, 1e-20, -1e-20, 9, -9, 18, -18, 100, -100, 3e38, -3e38]);
    const t = K.fast('gate_tanh', xs, true), s = K.fast('gate_sigmoid', xs, true);
    expect(Array.from(t.slice(0, 4))).toEqual([0, -0, 1, -1]);
    expect(Object.is(t[1], -0)).toBe(true);
    expect(t[4]).toBeNaN();
    expect(Array.from(t.slice(5, 9))).toEqual(Array.from(xs.slice(5, 9))); // tanh x = x below float32's resolution
    expect(Array.from(t.slice(13))).toEqual([1, -1, 1, -1]);
    expect(Array.from(s.slice(0, 4))).toEqual([0.5, 0.5, 1, 0]);
    expect(s[4]).toBeNaN();
    expect(Array.from(s.slice(13))).toEqual([1, 0, 1, 0]);
    const r = new Float32Array(4096).map((_, i) => (i - 2048) / 64);
    for (const fn of ['gate_tanh', 'gate_sigmoid'] as const) {
      for (const arr of [xs, r]) {
        // bit for bit, except a NaN's sign (wasm leaves it unspecified)
        const bitsOf = (v: Float32Array) => Array.from(new Uint32Array(v.buffer), (b, i) => (Number.isNaN(v[i]) ? 'NaN' : b));
        expect(bitsOf(K.fast(fn, arr, true))).toEqual(bitsOf(K.fast(fn, arr, false)));
      }
    }
  });
});
