// e^d for d <= 0, four lanes at a time, for the operators that spend most of their time in it: Softmax and
// LogSoftmax (e^(x - max)) and the elementwise Sigmoid (from e^-|x|). Cheaper than the math library's shared exp
// (which must cover positive arguments and is used by other ops, the fused SiLU epilogues among them, and stays as
// it is): d <= 0 needs one 2^n factor and one clamp, and a degree-5 polynomial fitted for minimax relative error
// replaces the degree-7 Taylor series.
//
// simdExpBelowMax (Softmax):
// z = d log2e rounded to float32, n = round(z), t = z - n (exact, |t| <= 1/2), e^d = 2^n 2^t with
// 2^t = 1 + t p(t), evaluated as s + (t s) p(t), s = 2^n. Rounding z, and log2e in float32, cost a relative error
// of up to 7.4e-8 |d| in the result (the float32 subtraction x - max itself may already cost 6e-8 |d|): this is
// what the math library's two-part ln 2 avoids, for three more instructions per vector. The polynomial adds 1.2e-7.
// Every float32 d <= 0 checked against float64 (EXP_BELOW_MAX_STRIDE=1 test/ops/exp-below-max.test.ts): where
// e^d is a normal float32 (d >= -87) within 1.72e-7 + 7.4e-8 |d| relatively, and within 1.55e-7 absolutely
// everywhere (e^d <= 1: a Softmax output's error scale). Below -88 the result is exactly 0, so that masked scores
// (-inf) give exactly 0. A NaN stays NaN.
//
// simdExpNonPositive (Sigmoid, which needs relative accuracy at any d: sigmoid(-80) is e^-80): d = n ln2 + r
// with ln2 in two parts (n LN2_HI_F32 exact for |n| < 2^12), |r| <= ln2/2, e^r by a degree-5 minimax fit; on every
// float32 -87 <= d <= 0 within 1.85e-7 of e^d relatively (1.849e-7 at d = -86.49), exactly 0 below -88.

import { LN2_HI_F32, LN2_LO_F32, LOG2E, POW2_MAGIC } from './mathlib.js';
import type { Expr, Kernel, Local } from './wasm.js';

/** 1 + r (C1 + r (C2 + ...)) ~ e^r on |r| <= ln2/2: a linear-programming minimax fit of the relative error. */
const EXP_COEFFS = [0.9999997615814209, 0.4999904930591583, 0.16667519509792328, 0.04190782085061073, 0.008294669911265373];
/** simdExpNonPositive raises d to this first: round(-88 log2e) = -127, so s = 0 and the result is exactly 0 (r finite). */
const D_MIN = -88;
/** 1 + t (C1 + t (C2 + ...)) ~ 2^t on |t| <= 1/2: a linear-programming minimax fit of the relative error. */
const EXP2_COEFFS = [0.6931470036506653, 0.24022188782691956, 0.055507030338048935, 0.009673943743109703, 0.0013278863625600934];
/**
 * z is raised to this first (pmax: a NaN passes): n = -127 makes 2^n's exponent field 0, so s = 0 and the
 * result is exactly 0 (t stays finite) for every d below -127 ln 2 = -88.03; above it n >= -127 is in range.
 */
const Z_MIN = -127;

/**
 * 2^n (1 + r p(r)) on f32x4, as s + (r s) p(r) with s = 2^n: `reduce` sets n (integral, >= -127) and the reduced
 * argument r, and the polynomial's coefficients are p's.
 */
function expFromReduced(k: Kernel, coeffs: readonly number[], reduce: (n: Local, r: Local) => Expr[]): Expr {
  const v = k.f32x4, c = (x: number) => v.splat(k.cf32(x));
  const n = k.local('v128'), r = k.local('v128'), s = k.local('v128');
  let p = c(coeffs[coeffs.length - 1]);
  for (let i = coeffs.length - 2; i >= 0; i--) p = v.add(v.mul(p, r.get()), c(coeffs[i]));
  return k.block([
    ...reduce(n, r),
    s.set(k.i32x4.shl(v.add(n.get(), c(POW2_MAGIC)), k.c32(23))),
    v.add(v.mul(v.mul(r.get(), s.get()), p), s.get()),
  ], 'v128');
}

/** e^d on f32x4 for lanes d <= 0 or NaN (see the file comment for the error bound). */
export function simdExpBelowMax(k: Kernel, d: Expr): Expr {
  const v = k.f32x4, c = (x: number) => v.splat(k.cf32(x));
  // r holds z = d log2e, then t = z - round(z)
  return expFromReduced(k, EXP2_COEFFS, (n, r) => [
    r.set(v.pmax(v.mul(d, c(LOG2E)), c(Z_MIN))),
    n.set(v.nearest(r.get())),
    r.set(v.sub(r.get(), n.get())),
  ]);
}

/** e^d on f32x4 for lanes d <= 0 or NaN, with the relative error bounded independently of d (see the file comment). */
export function simdExpNonPositive(k: Kernel, d: Expr): Expr {
  const v = k.f32x4, c = (x: number) => v.splat(k.cf32(x));
  // r holds d, then d - n ln2
  return expFromReduced(k, EXP_COEFFS, (n, r) => [
    r.set(v.pmax(d, c(D_MIN))),
    n.set(v.nearest(v.mul(r.get(), c(LOG2E)))),
    r.set(v.sub(v.sub(r.get(), v.mul(n.get(), c(LN2_HI_F32))), v.mul(n.get(), c(LN2_LO_F32)))),
  ]);
}

/**
 * The logistic function on f32x4 from e = e^-|x| (never overflows): sigmoid(|x|) = 1 / (1 + e), and for x < 0
 * sigmoid(x) = e / (1 + e). Relative error within 2.96e-7 on every float32 (test/ops/exp-below-max.test.ts)
 * where the value is a normal float32 (x >= -87.3; below, 0 or within 2^-126); sigmoid(+-inf) = 1, 0; NaN stays NaN.
 */
export function simdSigmoidViaExpNonPositive(k: Kernel, x: Expr): Expr {
  const v = k.f32x4;
  const xl = k.local('v128'), e = k.local('v128'), p = k.local('v128');
  return k.block([
    xl.set(x),
    e.set(simdExpNonPositive(k, k.v128.or(xl.get(), k.i32x4.splat(k.c32(0x80000000 | 0))))),
    p.set(v.div(v.splat(k.cf32(1)), v.add(v.splat(k.cf32(1)), e.get()))),
    // lanes with the sign bit set (x < 0, -0) take e / (1 + e)
    k.v128.bitselect(v.mul(e.get(), p.get()), p.get(), k.i32x4.shr_s(xl.get(), k.c32(31))),
  ], 'v128');
}
