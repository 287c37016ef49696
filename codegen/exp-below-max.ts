// e^d for d = x - max(row) <= 0, four lanes at a time: the exp of Softmax and LogSoftmax, which is most of their
// work. Cheaper than the math library's shared exp (which must cover positive arguments, is used by other ops and
// keeps a two-part ln 2): d <= 0 needs one 2^n factor and one clamp, and a degree-5 polynomial fitted for minimax
// relative error replaces the degree-7 Taylor series.
//
// z = d log2e rounded to float32, n = round(z), t = z - n (exact, |t| <= 1/2), e^d = 2^n 2^t with
// 2^t = 1 + t p(t), evaluated as s + (t s) p(t), s = 2^n. Rounding z, and log2e in float32, cost a relative error
// of up to 7.4e-8 |d| in the result (the float32 subtraction x - max itself may already cost 6e-8 |d|): this is
// what the math library's two-part ln 2 avoids, for three more instructions per vector. The polynomial adds 1.2e-7.
// Every float32 d <= 0 checked against float64 (EXP_BELOW_MAX_STRIDE=1 test/ops/exp-below-max.test.ts): where
// e^d is a normal float32 (d >= -87) within 1.71e-7 + 7.4e-8 |d| relatively, and within 1.55e-7 absolutely
// everywhere (e^d <= 1: a Softmax output's error scale). Below -88 the result is exactly 0, so that masked scores
// (-inf) give exactly 0. A NaN stays NaN.

import type { Expr, Kernel } from './wasm.js';

const LOG2E = 1.4426950408889634;
/** 1 + t (C1 + t (C2 + ...)) ~ 2^t on |t| <= 1/2: a linear-programming minimax fit of the relative error. */
const EXP2_COEFFS = [0.6931470036506653, 0.24022188782691956, 0.055507030338048935, 0.009673943743109703, 0.0013278863625600934];
/** n + POW2_MAGIC holds n + 127 in its low mantissa bits; shifted left by 23 they are 2^n's exponent field. */
const POW2_MAGIC = 1.5 * 2 ** 23 + 127;
/**
 * z is raised to this first (pmax: a NaN passes): n = -127 makes 2^n's exponent field 0, so s = 0 and the
 * result is exactly 0 (t stays finite) for every d below -127 ln 2 = -88.03; above it n >= -127 is in range.
 */
const Z_MIN = -127;

/** e^d on f32x4 for lanes d <= 0 or NaN (see the file comment for the error bound). */
export function simdExpBelowMax(k: Kernel, d: Expr): Expr {
  const v = k.f32x4, c = (x: number) => v.splat(k.cf32(x));
  const z = k.local('v128'), n = k.local('v128'), t = k.local('v128'), s = k.local('v128');
  let p = c(EXP2_COEFFS[EXP2_COEFFS.length - 1]);
  for (let i = EXP2_COEFFS.length - 2; i >= 0; i--) p = v.add(v.mul(p, t.get()), c(EXP2_COEFFS[i]));
  return k.block([
    z.set(v.pmax(v.mul(d, c(LOG2E)), c(Z_MIN))),
    n.set(v.nearest(z.get())),
    t.set(v.sub(z.get(), n.get())),
    s.set(k.i32x4.shl(v.add(n.get(), c(POW2_MAGIC)), k.c32(23))),
    v.add(v.mul(v.mul(t.get(), s.get()), p), s.get()),
  ], 'v128');
}
