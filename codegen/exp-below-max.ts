// e^d for d = x - max(row) <= 0, four lanes at a time: the exp of Softmax and LogSoftmax, which is most of their
// work. Cheaper than the math library's shared exp (which must cover positive arguments and is used by other
// ops): d <= 0 needs one 2^n factor and no clamp, and a degree-5 polynomial fitted for minimax relative error
// replaces the degree-7 Taylor series.
//
// d = n ln2 + r with n = round(d log2e), |r| <= ln2/2 (ln2 in two parts: n * LN2_HI is exact for |n| < 2^12), then
// e^d = 2^n (1 + r p(r)) evaluated as s + (r s) p(r) with s = 2^n. The polynomial's own relative error is 1.2e-7
// (coefficients rounded to float32); with float32 rounding the result is within 1.85e-7 of e^d relatively for
// d >= -87, where e^d is a normal float32 (every float32 d checked against float64: at worst 1.849e-7, at -86.49;
// test/ops/exp-below-max.test.ts).
// Below -88 the result is exactly 0, so that masked scores (-inf) give exactly 0; in between it is 0 or within
// 2^-126 of e^d. A NaN stays NaN.

import type { Expr, Kernel } from './wasm.js';

const LOG2E = 1.4426950408889634;
const LN2_HI = 0.693145751953125;
const LN2_LO = 1.4286067653302e-6;
/** 1 + r (C1 + r (C2 + ...)) ~ e^r on |r| <= ln2/2: a linear-programming minimax fit of the relative error. */
const EXP_COEFFS = [0.9999997615814209, 0.4999904930591583, 0.16667519509792328, 0.04190782085061073, 0.008294669911265373];
/** n + POW2_MAGIC holds n + 127 in its low mantissa bits; shifted left by 23 they are 2^n's exponent field. */
const POW2_MAGIC = 1.5 * 2 ** 23 + 127;
/** Below this e^d is under 2^-126 and the result is 0; above it n >= -127, so 2^n's exponent field is in range. */
const ZERO_BELOW = -88;

/** e^d on f32x4 for lanes d <= 0 or NaN (see the file comment for the error bound). */
export function simdExpBelowMax(k: Kernel, d: Expr): Expr {
  const v = k.f32x4, c = (x: number) => v.splat(k.cf32(x));
  const dl = k.local('v128'), n = k.local('v128'), r = k.local('v128'), s = k.local('v128');
  let p = c(EXP_COEFFS[EXP_COEFFS.length - 1]);
  for (let i = EXP_COEFFS.length - 2; i >= 0; i--) p = v.add(v.mul(p, r.get()), c(EXP_COEFFS[i]));
  return k.block([
    dl.set(d),
    n.set(v.nearest(v.mul(dl.get(), c(LOG2E)))),
    r.set(v.sub(v.sub(dl.get(), v.mul(n.get(), c(LN2_HI))), v.mul(n.get(), c(LN2_LO)))),
    s.set(k.i32x4.shl(v.add(n.get(), c(POW2_MAGIC)), k.c32(23))),
    k.v128.andnot(v.add(v.mul(v.mul(r.get(), s.get()), p), s.get()), v.lt(dl.get(), c(ZERO_BELOW))),
  ], 'v128');
}
