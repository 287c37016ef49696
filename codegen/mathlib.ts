// The math library: wasm has no transcendental instructions, so kernels call helper functions emitted into the
// module on first use (WasmModule.ensureHelper). Two families:
//  - accurate f64 scalar functions (math_exp_f64, math_log_f64, ...), within a few ulp for ordinary arguments;
//    float32 kernels use them through promote/demote (callMath(k, fn, args, 'f32')).
//  - fast float32 functions (exp, expm1-based tanh, sigmoid, erf, gelu) written once over "lanes" so the same
//    code builds a scalar f32 helper and an inline f32x4 SIMD body; about 1e-7 relative error (erf: 3e-7).
//    The recurrent layers' gates use two cheaper ones with absolute error bounds (gate_sigmoid, gate_tanh).
// Sin/cos/tan reduce the argument with a four-part pi/2 (Cody-Waite): accurate for |x| < 2^27; beyond that the
// argument is reduced modulo a double 2 pi first (bounded, but not the correctly reduced value).

import type { Expr, Kernel, Local, WasmModule } from './wasm.js';

export type FloatT = 'f32' | 'f64';

/** Accurate scalar functions: name -> arity. */
export const MATH_FNS = {
  exp: 1, expm1: 1, log: 1, log1p: 1, pow: 2, fmod: 2,
  sin: 1, cos: 1, tan: 1, asin: 1, acos: 1, atan: 1,
  sinh: 1, cosh: 1, tanh: 1, asinh: 1, acosh: 1, atanh: 1, erf: 1,
} as const;
export type MathFn = keyof typeof MATH_FNS;

/** Calls an accurate math helper on f64 (or f32 via promote/demote) arguments. */
export function callMath(k: Kernel, fn: MathFn, args: Expr[], t: FloatT): Expr {
  const name = ensureMath(k.w, fn);
  if (t === 'f64') return k.call(name, args, 'f64');
  return k.f32.demote(k.call(name, args.map((a) => k.f64.promote(a)), 'f64'));
}

/** e^x. float32 uses the fast f32 version (same algorithm as the SIMD one), float64 the accurate one. */
export function callExp(k: Kernel, x: Expr, t: FloatT): Expr {
  return t === 'f32' ? callFast(k, 'exp', x) : callMath(k, 'exp', [x], 'f64');
}

// ---------------------------------------------------------------------------------------------------------------
// Fast float32 functions over lanes (scalar f32 or f32x4).

export type FastFn = 'exp' | 'sigmoid' | 'tanh' | 'erf' | 'gelu' | 'gelu_tanh' | 'gate_sigmoid' | 'gate_tanh';

/** Scalar f32 fast function (a shared helper). */
export function callFast(k: Kernel, fn: FastFn, x: Expr): Expr {
  const name = `mathf_${fn}`;
  k.w.ensureHelper(name, (w) => {
    w.addFunction(name, ['f32'], 'f32', (h) => FAST[fn](lanes(h, false), h.params[0].get()));
  });
  return k.call(name, [x], 'f32');
}

/** The f32x4 version of a fast function, as an inline expression on a v128 value. */
export function simdFast(k: Kernel, fn: FastFn, v: Expr): Expr {
  return FAST[fn](lanes(k, true), v);
}
export const simdExp = (k: Kernel, v: Expr) => simdFast(k, 'exp', v);

export const simdSigmoid = (k: Kernel, v: Expr) => simdFast(k, 'sigmoid', v);
export const simdTanh = (k: Kernel, v: Expr) => simdFast(k, 'tanh', v);
export const simdErf = (k: Kernel, v: Expr) => simdFast(k, 'erf', v);

/** Operations on one f32 (scalar) or four (f32x4) at once; masks are i32 (scalar) or v128 (vector). */
interface Lanes {
  k: Kernel;
  type: 'f32' | 'v128';
  c(v: number): Expr;
  local(): Local;
  add(a: Expr, b: Expr): Expr; sub(a: Expr, b: Expr): Expr; mul(a: Expr, b: Expr): Expr; div(a: Expr, b: Expr): Expr;
  min(a: Expr, b: Expr): Expr; max(a: Expr, b: Expr): Expr;
  /** min / max where a NaN in `a` passes through and signed zeros need no care: one instruction on f32x4. */
  fastMin(a: Expr, b: Expr): Expr; fastMax(a: Expr, b: Expr): Expr;
  abs(a: Expr): Expr; nearest(a: Expr): Expr; floor(a: Expr): Expr;
  lt(a: Expr, b: Expr): Expr;
  /** mask ? a : b */
  sel(mask: Expr, a: Expr, b: Expr): Expr;
  /** |mag| with the sign of sgn */
  copysign(mag: Expr, sgn: Expr): Expr;
  /** 2^n for integral n in [-126, 127] */
  pow2(n: Expr): Expr;
}

/**
 * 2^n without a float-to-int conversion (several instructions for f32x4 on x86): n + 1.5 * 2^23 + 127 holds
 * n + 127 in its low mantissa bits, which the shift by 23 moves into the exponent field (the rest shifts out).
 */
export const POW2_MAGIC = 1.5 * 2 ** 23 + 127;

function lanes(k: Kernel, vec: boolean): Lanes {
  if (!vec) {
    const f = k.f32;
    return {
      k, type: 'f32', c: (v) => k.cf32(v), local: () => k.local('f32'),
      add: f.add, sub: f.sub, mul: f.mul, div: f.div, min: f.min, max: f.max, abs: f.abs, nearest: f.nearest, floor: f.floor,
      lt: f.lt, sel: (m, a, b) => k.select(m, a, b), copysign: f.copysign, fastMin: f.min, fastMax: f.max,
      pow2: (n) => f.reinterpret(k.i32.shl(k.i32.reinterpret(f.add(n, k.cf32(POW2_MAGIC))), k.c32(23))),
    };
  }
  const v = k.f32x4;
  const splatI = (x: number) => k.i32x4.splat(k.c32(x));
  return {
    k, type: 'v128', c: (x) => v.splat(k.cf32(x)), local: () => k.local('v128'),
    add: v.add, sub: v.sub, mul: v.mul, div: v.div, min: v.min, max: v.max, abs: v.abs, nearest: v.nearest, floor: v.floor,
    lt: v.lt, sel: (m, a, b) => k.v128.bitselect(a, b, m),
    // pmin(a, b) = b < a ? b : a, pmax(a, b) = a < b ? b : a: a NaN `a` is returned
    fastMin: v.pmin, fastMax: v.pmax,
    copysign: (mag, sgn) => k.v128.bitselect(mag, sgn, splatI(0x7fffffff)),
    pow2: (n) => k.i32x4.shl(v.add(n, v.splat(k.cf32(POW2_MAGIC))), k.c32(23)),
  };
}

/** c[0] + t*(c[1] + t*(...)), t read from a local. */
function hornerL(L: Lanes, t: Local, c: readonly number[]): Expr {
  let acc = L.c(c[c.length - 1]);
  for (let i = c.length - 2; i >= 0; i--) acc = L.add(L.mul(acc, t.get()), L.c(c[i]));
  return acc;
}

export const LOG2E = 1.4426950408889634;
// ln 2 split so that n * LN2_HI_F32 is exact in float32 for |n| < 2^12.
export const LN2_HI_F32 = 0.693145751953125;
export const LN2_LO_F32 = 1.4286067653302e-6;
/** expm1(r) / r on |r| <= ln2/2: Taylor coefficients 1/(k+1)!. */
const EXPM1_F32 = [1, 1 / 2, 1 / 6, 1 / 24, 1 / 120, 1 / 720, 1 / 5040];

/**
 * Range reduction for exp: returns [n, q] with x = n ln2 + r and q = expm1(r), so e^x = 2^n (1 + q).
 * The caller has clamped x so that n stays within the range it needs.
 */
function expReduce(L: Lanes, x: Expr): { stmts: Expr[]; n: Local; q: Local } {
  const xl = L.local(), n = L.local(), r = L.local(), q = L.local();
  return {
    n, q,
    stmts: [
      xl.set(x),
      n.set(L.nearest(L.mul(xl.get(), L.c(LOG2E)))),
      r.set(L.sub(L.sub(xl.get(), L.mul(n.get(), L.c(LN2_HI_F32))), L.mul(n.get(), L.c(LN2_LO_F32)))),
      q.set(L.mul(r.get(), hornerL(L, r, EXPM1_F32))),
    ],
  };
}

function block(L: Lanes, stmts: Expr[], result: Expr): Expr {
  return L.k.block([...stmts, result], L.type);
}

function fastExp(L: Lanes, x: Expr): Expr {
  // Clamp so that 2^n splits into two normal factors; overflow still reaches inf, underflow reaches 0.
  const red = expReduce(L, L.fastMin(L.fastMax(x, L.c(-104)), L.c(89)));
  const n1 = L.local();
  return block(L, [
    ...red.stmts,
    n1.set(L.floor(L.mul(red.n.get(), L.c(0.5)))),
  ], L.mul(L.mul(L.add(L.c(1), red.q.get()), L.pow2(n1.get())), L.pow2(L.sub(red.n.get(), n1.get()))));
}

/** e^x for x <= 0, clamped at -87 (e^-87 is still a normal float32): a single 2^n factor. */
function fastExpNonPositive(L: Lanes, x: Expr): Expr {
  const red = expReduce(L, L.fastMax(x, L.c(-87)));
  return block(L, red.stmts, L.mul(L.add(L.c(1), red.q.get()), L.pow2(red.n.get())));
}

function fastSigmoid(L: Lanes, x: Expr): Expr {
  return L.div(L.c(1), L.add(L.c(1), fastExp(L, L.sub(L.c(0), x))));
}

function fastTanh(L: Lanes, x: Expr): Expr {
  // tanh|x| = E / (E + 2) with E = expm1(2|x|), accurate near 0; tanh(9) rounds to 1 in float32.
  const xl = L.local(), e = L.local(), s = L.local();
  const red = expReduce(L, L.mul(L.min(L.abs(xl.get()), L.c(9)), L.c(2)));
  return block(L, [
    xl.set(x),
    ...red.stmts,
    s.set(L.pow2(red.n.get())),
    e.set(L.add(L.mul(s.get(), red.q.get()), L.sub(s.get(), L.c(1)))),
  ], L.copysign(L.div(e.get(), L.add(e.get(), L.c(2))), xl.get()));
}

// The recurrent layers' gate functions: tanh(x) = x P(x^2) / Q(x^2), P and Q of degree 4 (a rational fit on
// |x| <= 9, Lawson-weighted towards minimax relative error: 2.1e-8 in exact arithmetic), with x clamped to
// +-TANH_END: no exp, one division, about half the instructions of 'tanh' and 'sigmoid', for a larger rounding
// error. Checked on every float32 against float64: gate_tanh within 3.7e-7 of tanh (6 ulp at x = 4.01; relative
// too), gate_sigmoid within 2e-7 of the logistic function, absolutely (test/ops/gate-math.test.ts samples the same
// sweep). A gate's pre-activation, a float32 sum over the input and hidden sizes, carries more rounding than that,
// and both functions have slopes <= 1. TANH_END is a float32 where the rational rounds to exactly 1 and below which
// it never rounds above 1: results stay inside [-1, 1] and [0, 1] and saturate exactly (1 - tanh(TANH_END) is
// 3.2e-7), with no clamp of their own. NaN stays NaN.
const TANH_P = [1, 0.13381023705005646, 0.0034955856390297413, 2.0609038983820938e-5, 1.3354597427905901e-8];
const TANH_Q = [1, 0.46714338660240173, 0.0258769728243351, 0.0003285630664322525, 7.776532697789662e-7];
const TANH_END = 7.822607040405273;

/** x P(x^2) / Q(x^2) for x clamped to +-end (fastMin/fastMax keep a NaN x). */
function oddRational(L: Lanes, x: Expr, end: number, P: readonly number[], Q: readonly number[]): Expr {
  const xl = L.local(), z = L.local();
  return block(L, [
    xl.set(L.fastMin(L.fastMax(x, L.c(-end)), L.c(end))),
    z.set(L.mul(xl.get(), xl.get())),
  ], L.div(L.mul(xl.get(), hornerL(L, z, P)), hornerL(L, z, Q)));
}

function gateTanh(L: Lanes, x: Expr): Expr {
  return oddRational(L, x, TANH_END, TANH_P, TANH_Q);
}

/**
 * sigmoid(x) = 0.5 + 0.5 tanh(x / 2) = 0.5 + x P(x^2 / 4) / (4 Q(x^2 / 4)): the coefficients scaled by powers of
 * 2, so before the final addition every step is exactly half of gate_tanh's at x / 2, and the error is half of
 * gate_tanh's plus one rounding. Negative tails come out as multiples of 2^-25 (absolute, not relative, accuracy).
 */
const SIGMOID_P = TANH_P.map((p, i) => p / 4 ** (i + 1));
const SIGMOID_Q = TANH_Q.map((q, i) => q / 4 ** i);

function gateSigmoid(L: Lanes, x: Expr): Expr {
  return L.add(oddRational(L, x, 2 * TANH_END, SIGMOID_P, SIGMOID_Q), L.c(0.5));
}

// erf(x) = x P(x^2) / Q(x^2) on |x| <= 4, P and Q of degree 5 (a rational least-squares fit, Lawson-weighted
// towards minimax relative error: 2.5e-8 in exact arithmetic, ~3e-7 after float32 rounding). erf(4) is 1 in
// float32, so x is clamped to +-4 first; the result is clamped to +-1 since rounding can land one ulp above.
const ERF_P = [
  1.1283791065216064, 0.19354534149169922, 0.053101714700460434, 0.0038833380676805973, 0.0002845626149792224,
  1.9867381979565835e-6,
];
const ERF_Q = [
  1, 0.5048576593399048, 0.11535005271434784, 0.015207241289317608, 0.0011855638585984707, 3.741954787983559e-5,
];
const ERF_END = 4;

function fastErf(L: Lanes, x: Expr): Expr {
  // no exp, one division; clamping keeps NaN (fastMin/fastMax pass a NaN `a` through) and the sign of zero
  const xl = L.local(), z = L.local();
  return block(L, [
    xl.set(L.fastMin(L.fastMax(x, L.c(-ERF_END)), L.c(ERF_END))),
    z.set(L.mul(xl.get(), xl.get())),
  ], L.fastMin(L.fastMax(L.div(L.mul(xl.get(), hornerL(L, z, ERF_P)), hornerL(L, z, ERF_Q)), L.c(-1)), L.c(1)));
}

// erfcx(a) = e^(a^2) erfc(a), smooth and slowly varying: a rational fit P(u) / Q(u) in u = a / 9.5 on
// 0 <= a <= 9.5 (relative error 1.3e-7); beyond, erfc(a) is below float32's smallest normal value.
const ERFCX_P = [0.9999998682185279, 9.143984600070052, 38.92974636203253, 69.9085560070167, 0.01512017854843761];
const ERFCX_Q = [1, 19.86349116910641, 161.6196005556962, 654.1745828440311, 1178.03866365344];
const ERFCX_END = 9.5;

function fastGelu(L: Lanes, x: Expr): Expr {
  // gelu x = x Phi(x) with Phi(x) = h for x < 0 and 1 - h otherwise, h = erfc(a) / 2, a = |x| / sqrt 2:
  // one exp and one division, no cancellation for negative x; -inf gives -inf * 0 = NaN as the formula does
  const xl = L.local(), a = L.local(), u = L.local(), h = L.local();
  return block(L, [
    xl.set(x),
    a.set(L.mul(L.abs(xl.get()), L.c(Math.SQRT1_2))),
    u.set(L.mul(L.fastMin(a.get(), L.c(ERFCX_END)), L.c(1 / ERFCX_END))),
    h.set(L.mul(L.mul(L.c(0.5), fastExpNonPositive(L, L.mul(a.get(), L.sub(L.c(0), a.get())))), L.div(hornerL(L, u, ERFCX_P), hornerL(L, u, ERFCX_Q)))),
    h.set(L.sel(L.lt(L.c(ERFCX_END), a.get()), L.c(0), h.get())),
  ], L.mul(xl.get(), L.sel(L.lt(xl.get(), L.c(0)), h.get(), L.sub(L.c(1), h.get()))));
}

function fastGeluTanh(L: Lanes, x: Expr): Expr {
  // 0.5 x (1 + tanh u) = x sigmoid(2u), u = sqrt(2/pi) (x + 0.044715 x^3): no cancellation for negative x
  const xl = L.local();
  const u2 = L.mul(L.c(2 * Math.sqrt(2 / Math.PI)), L.add(xl.get(), L.mul(L.c(0.044715), L.mul(xl.get(), L.mul(xl.get(), xl.get())))));
  return block(L, [xl.set(x)], L.mul(xl.get(), fastSigmoid(L, u2)));
}

const FAST: Record<FastFn, (L: Lanes, x: Expr) => Expr> = {
  exp: fastExp, sigmoid: fastSigmoid, tanh: fastTanh, erf: fastErf, gelu: fastGelu, gelu_tanh: fastGeluTanh,
  gate_sigmoid: gateSigmoid, gate_tanh: gateTanh,
};

// ---------------------------------------------------------------------------------------------------------------
// Accurate f64 scalar functions.

/** Adds the helper for fn (and the helpers it calls) once; returns its name. */
export function ensureMath(w: WasmModule, fn: MathFn): string {
  const name = `math_${fn}_f64`;
  w.ensureHelper(name, () => {
    w.addFunction(name, new Array(MATH_FNS[fn]).fill('f64'), 'f64', (k) => F64[fn](k, k.params.map((p) => p.get())));
  });
  return name;
}

const m64 = (k: Kernel, fn: MathFn, ...args: Expr[]) => k.call(ensureMath(k.w, fn), args, 'f64');

/** Horner evaluation of c[0] + t c[1] + ... in f64. */
function horner(k: Kernel, t: Local, c: readonly number[]): Expr {
  let acc = k.cf64(c[c.length - 1]);
  for (let i = c.length - 2; i >= 0; i--) acc = k.f64.add(k.f64.mul(acc, t.get()), k.cf64(c[i]));
  return acc;
}

/** Series coefficients: f(j) for j = from..to. */
const series = (from: number, to: number, f: (j: number) => number) => Array.from({ length: to - from + 1 }, (_, i) => f(i + from));
const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

const LN2_HI = 6.93147180369123816490e-01; // ln 2 with trailing zero bits: n * LN2_HI is exact
const LN2_LO = 1.90821492927058770002e-10;
const EXPM1_OVER_R = series(0, 13, (j) => 1 / factorial(j + 1));

/** x * 2^n for an integral f64 n in [-2100, 2100] (two steps so each factor is a normal number). */
function scale2(k: Kernel, x: Expr, n: Expr): Expr {
  const ni = k.local('i32'), n1 = k.local('i32');
  const pow2 = (e: Expr) => k.f64.reinterpret(k.i64.shl(k.i64.extend_s(k.i32.add(e, k.c32(1023))), k.c64(52)));
  return k.block([
    ni.set(k.i32.trunc_s_sat.f64(n)),
    n1.set(k.i32.shr_s(ni.get(), k.c32(1))),
    k.f64.mul(k.f64.mul(x, pow2(n1.get())), pow2(k.i32.sub(ni.get(), n1.get()))),
  ], 'f64');
}

/** x = n ln2 + r with |r| <= ln2/2; sets n and q = expm1(r). */
function expReduce64(k: Kernel, x: Local, n: Local, q: Local): Expr[] {
  const r = k.local('f64');
  return [
    n.set(k.f64.nearest(k.f64.mul(x.get(), k.cf64(LOG2E)))),
    r.set(k.f64.sub(k.f64.sub(x.get(), k.f64.mul(n.get(), k.cf64(LN2_HI))), k.f64.mul(n.get(), k.cf64(LN2_LO)))),
    q.set(k.f64.mul(r.get(), horner(k, r, EXPM1_OVER_R))),
  ];
}

function exp64(k: Kernel, [x]: Expr[]): Expr[] {
  const xl = k.local('f64'), n = k.local('f64'), q = k.local('f64');
  const F = k.f64;
  return [
    xl.set(x),
    k.if(F.ne(xl.get(), xl.get()), k.return(xl.get())),
    k.if(F.gt(xl.get(), k.cf64(709.782712893384)), k.return(k.cf64(Infinity))),
    k.if(F.lt(xl.get(), k.cf64(-745.1332191019412)), k.return(k.cf64(0))),
    ...expReduce64(k, xl, n, q),
    scale2(k, F.add(k.cf64(1), q.get()), n.get()),
  ];
}

function expm164(k: Kernel, [x]: Expr[]): Expr[] {
  const xl = k.local('f64'), n = k.local('f64'), q = k.local('f64');
  const F = k.f64;
  return [
    xl.set(x),
    k.if(F.gt(xl.get(), k.cf64(700)), k.return(m64(k, 'exp', xl.get()))),
    k.if(F.lt(xl.get(), k.cf64(-40)), k.return(k.cf64(-1))),
    ...expReduce64(k, xl, n, q),
    // 2^n (1 + q) - 1 = 2^n q + (2^n - 1), with 2^n - 1 exact
    F.add(scale2(k, q.get(), n.get()), F.sub(scale2(k, k.cf64(1), n.get()), k.cf64(1))),
  ];
}

/** 2 atanh(s) - 2s = sum_j 2 s^(2j+1) / (2j+1): coefficients of z^j (z = s^2), j >= 1, divided by... see log64. */
const LOG_R = series(1, 11, (j) => 2 / (2 * j + 1));

function log64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64, I = k.i64;
  const xl = k.local('f64'), bits = k.local('i64'), e = k.local('f64'), f = k.local('f64');
  const s = k.local('f64'), z = k.local('f64'), hfsq = k.local('f64'), R = k.local('f64');
  return [
    xl.set(x),
    k.if(F.lt(xl.get(), k.cf64(0)), k.return(k.cf64(NaN))),
    k.if(F.eq(xl.get(), k.cf64(0)), k.return(k.cf64(-Infinity))),
    // NaN and +inf return themselves
    k.if(k.i32.eqz(F.lt(xl.get(), k.cf64(Infinity))), k.return(xl.get())),
    e.set(k.cf64(0)),
    k.if(F.lt(xl.get(), k.cf64(2 ** -1022)), [xl.set(F.mul(xl.get(), k.cf64(2 ** 54))), e.set(k.cf64(-54))]),
    bits.set(I.reinterpret(xl.get())),
    e.set(F.add(e.get(), F.convert_s.i64(I.sub(I.shr_u(bits.get(), k.c64(52)), k.c64(1023))))),
    // mantissa m in [1, 2), then into [sqrt(1/2), sqrt(2))
    f.set(F.reinterpret(I.or(I.and(bits.get(), k.c64(0xfffffffffffffn)), k.c64(0x3ff0000000000000n)))),
    k.if(F.gt(f.get(), k.cf64(Math.SQRT2)), [f.set(F.mul(f.get(), k.cf64(0.5))), e.set(F.add(e.get(), k.cf64(1)))]),
    f.set(F.sub(f.get(), k.cf64(1))),
    // log(1+f) = f - (hfsq - s (hfsq + R)), s = f / (2 + f), R = sum_j 2 z^j / (2j+1)
    s.set(F.div(f.get(), F.add(k.cf64(2), f.get()))),
    z.set(F.mul(s.get(), s.get())),
    hfsq.set(F.mul(k.cf64(0.5), F.mul(f.get(), f.get()))),
    R.set(F.mul(z.get(), horner(k, z, LOG_R))),
    F.add(F.mul(e.get(), k.cf64(LN2_HI)),
      F.add(F.sub(f.get(), F.sub(hfsq.get(), F.mul(s.get(), F.add(hfsq.get(), R.get())))), F.mul(e.get(), k.cf64(LN2_LO)))),
  ];
}

function log1p64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), u = k.local('f64');
  return [
    xl.set(x),
    u.set(F.add(k.cf64(1), xl.get())),
    k.if(F.eq(u.get(), k.cf64(1)), k.return(xl.get())),
    k.if(F.eq(u.get(), k.cf64(Infinity)), k.return(u.get())),
    // log(u) * x / (u - 1) corrects the rounding of 1 + x
    F.div(F.mul(m64(k, 'log', u.get()), xl.get()), F.sub(u.get(), k.cf64(1))),
  ];
}

const SIN_C = series(0, 8, (j) => (j % 2 ? -1 : 1) / factorial(2 * j + 1)); // sin(r)/r in z = r^2
const COS_C = series(0, 8, (j) => (j % 2 ? -1 : 1) / factorial(2 * j)); // cos(r) in z
/** pi/2 as four 26-bit parts: n * part is exact for |n| < 2^27, so the reduction is accurate up to |x| ~ 2e8. */
const PIO2_PARTS = splitPiOver2(4, 26);
/** Beyond this the argument is first reduced modulo 2 pi (as a double): bounded but inaccurate results. */
const SINCOS_EXACT_LIMIT = 2 ** 27;

function splitPiOver2(parts: number, bits: number): number[] {
  // pi to 160 bits by Machin's formula, pi = 16 atan(1/5) - 4 atan(1/239), in fixed point
  const ONE = 1n << 160n;
  const atanInv = (q: bigint) => {
    let sum = 0n, term = ONE / q, n = 1n, sign = 1n;
    const q2 = q * q;
    while (term) { sum += sign * term / n; term /= q2; n += 2n; sign = -sign; }
    return sum;
  };
  let rest = (16n * atanInv(5n) - 4n * atanInv(239n)) / 2n; // pi/2 in units of 2^-160
  const out: number[] = [];
  let shift = 160n - 1n; // pi/2 < 2: its leading bit is at 2^0
  for (let i = 0; i < parts; i++) {
    shift -= BigInt(bits);
    const chunk = (rest >> (shift + 1n)) << (shift + 1n);
    out.push(Number(chunk >> (shift + 1n)) * 2 ** (Number(shift + 1n) - 160));
    rest -= chunk;
  }
  return out;
}

/** Reduces x to r in [-pi/4, pi/4] and quadrant q (0..3, plus `shift`); sets sinK = sin r, cosK = cos r. */
function sinCosReduce(k: Kernel, x: Expr, shift: number, q: Local, sinK: Local, cosK: Local): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), n = k.local('f64'), r = k.local('f64'), z = k.local('f64');
  return [
    xl.set(x),
    k.if(F.ge(F.abs(xl.get()), k.cf64(SINCOS_EXACT_LIMIT)), xl.set(m64(k, 'fmod', xl.get(), k.cf64(2 * Math.PI)))),
    n.set(F.nearest(F.mul(xl.get(), k.cf64(2 / Math.PI)))),
    r.set(PIO2_PARTS.reduce((acc, part) => F.sub(acc, F.mul(n.get(), k.cf64(part))), xl.get())),
    // n mod 4 from the float (exact for |n| < 2^53)
    q.set(k.i32.and(k.i32.add(k.i32.wrap(k.i64.trunc_s_sat.f64(F.sub(n.get(), F.mul(F.floor(F.mul(n.get(), k.cf64(0.25))), k.cf64(4))))), k.c32(shift)), k.c32(3))),
    z.set(F.mul(r.get(), r.get())),
    sinK.set(F.mul(r.get(), horner(k, z, SIN_C))),
    cosK.set(horner(k, z, COS_C)),
  ];
}

function sinOrCos(shift: number) {
  return (k: Kernel, [x]: Expr[]): Expr[] => {
    const q = k.local('i32'), s = k.local('f64'), c = k.local('f64');
    const F = k.f64;
    return [
      ...sinCosReduce(k, x, shift, q, s, c),
      // q: 0 -> s, 1 -> c, 2 -> -s, 3 -> -c
      k.select(k.i32.and(q.get(), k.c32(1)),
        k.select(k.i32.and(q.get(), k.c32(2)), F.neg(c.get()), c.get()),
        k.select(k.i32.and(q.get(), k.c32(2)), F.neg(s.get()), s.get())),
    ];
  };
}

function tan64(k: Kernel, [x]: Expr[]): Expr[] {
  const q = k.local('i32'), s = k.local('f64'), c = k.local('f64');
  const F = k.f64;
  return [
    ...sinCosReduce(k, x, 0, q, s, c),
    k.select(k.i32.and(q.get(), k.c32(1)), F.neg(F.div(c.get(), s.get())), F.div(s.get(), c.get())),
  ];
}

const ATAN_C = series(0, 9, (j) => (j % 2 ? -1 : 1) / (2 * j + 1));

function atan64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), a = k.local('f64'), inv = k.local('i32'), z = k.local('f64'), res = k.local('f64');
  // atan(a) = 2 atan(a / (1 + sqrt(1 + a^2))): three halvings bring a <= 1 below tan(pi/32)
  const halve = () => a.set(F.div(a.get(), F.add(k.cf64(1), F.sqrt(F.add(k.cf64(1), F.mul(a.get(), a.get()))))));
  return [
    xl.set(x),
    a.set(F.abs(xl.get())),
    // tiny x: atan x = x (the halvings below would lose subnormal bits)
    k.if(F.lt(a.get(), k.cf64(1e-9)), k.return(xl.get())),
    inv.set(F.gt(a.get(), k.cf64(1))),
    k.if(inv.get(), a.set(F.div(k.cf64(1), a.get()))),
    halve(), halve(), halve(),
    z.set(F.mul(a.get(), a.get())),
    res.set(F.mul(F.mul(a.get(), horner(k, z, ATAN_C)), k.cf64(8))),
    k.if(inv.get(), res.set(F.sub(k.cf64(Math.PI / 2), res.get()))),
    F.copysign(res.get(), xl.get()),
  ];
}

function asin64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64');
  return [xl.set(x), m64(k, 'atan', F.div(xl.get(), F.sqrt(F.mul(F.sub(k.cf64(1), xl.get()), F.add(k.cf64(1), xl.get())))))];
}

function acos64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64');
  return [xl.set(x), F.mul(k.cf64(2), m64(k, 'atan', F.sqrt(F.div(F.sub(k.cf64(1), xl.get()), F.add(k.cf64(1), xl.get())))))];
}

function sinh64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), a = k.local('f64'), e = k.local('f64');
  return [
    xl.set(x),
    a.set(F.abs(xl.get())),
    // beyond 709 e^a overflows before the halving: e^(a/2) * e^(a/2) / 2
    k.if(F.gt(a.get(), k.cf64(709)), k.return(F.copysign(F.mul(e.tee(m64(k, 'exp', F.mul(a.get(), k.cf64(0.5)))), F.mul(e.get(), k.cf64(0.5))), xl.get()))),
    e.set(m64(k, 'expm1', a.get())),
    // sinh a = (E + E / (E + 1)) / 2 with E = expm1(a)
    F.copysign(F.mul(k.cf64(0.5), F.add(e.get(), F.div(e.get(), F.add(e.get(), k.cf64(1))))), xl.get()),
  ];
}

function cosh64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const a = k.local('f64'), e = k.local('f64');
  return [
    a.set(F.abs(x)),
    k.if(F.gt(a.get(), k.cf64(709)), k.return(F.mul(e.tee(m64(k, 'exp', F.mul(a.get(), k.cf64(0.5)))), F.mul(e.get(), k.cf64(0.5))))),
    e.set(m64(k, 'exp', a.get())),
    F.mul(k.cf64(0.5), F.add(e.get(), F.div(k.cf64(1), e.get()))),
  ];
}

function tanh64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), e = k.local('f64');
  return [
    xl.set(x),
    k.if(F.gt(F.abs(xl.get()), k.cf64(22)), k.return(F.copysign(k.cf64(1), xl.get()))),
    e.set(m64(k, 'expm1', F.mul(k.cf64(2), F.abs(xl.get())))),
    F.copysign(F.div(e.get(), F.add(e.get(), k.cf64(2))), xl.get()),
  ];
}

function asinh64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), a = k.local('f64');
  return [
    xl.set(x),
    a.set(F.abs(xl.get())),
    k.if(F.gt(a.get(), k.cf64(2 ** 28)), k.return(F.copysign(F.add(m64(k, 'log', a.get()), k.cf64(Math.LN2)), xl.get()))),
    // log1p(a + a^2 / (1 + sqrt(1 + a^2)))
    F.copysign(m64(k, 'log1p', F.add(a.get(), F.div(F.mul(a.get(), a.get()), F.add(k.cf64(1), F.sqrt(F.add(k.cf64(1), F.mul(a.get(), a.get()))))))), xl.get()),
  ];
}

function acosh64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), t = k.local('f64');
  return [
    xl.set(x),
    k.if(F.lt(xl.get(), k.cf64(1)), k.return(k.cf64(NaN))),
    k.if(F.gt(xl.get(), k.cf64(2 ** 28)), k.return(F.add(m64(k, 'log', xl.get()), k.cf64(Math.LN2)))),
    // log1p(t + sqrt(2t + t^2)), t = x - 1 (NaN for x < 1 through sqrt)
    t.set(F.sub(xl.get(), k.cf64(1))),
    m64(k, 'log1p', F.add(t.get(), F.sqrt(F.add(F.mul(k.cf64(2), t.get()), F.mul(t.get(), t.get()))))),
  ];
}

function atanh64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), a = k.local('f64');
  return [
    xl.set(x),
    a.set(F.abs(xl.get())),
    k.if(F.gt(a.get(), k.cf64(1)), k.return(k.cf64(NaN))),
    // 0.5 log1p(2a / (1 - a))
    F.copysign(F.mul(k.cf64(0.5), m64(k, 'log1p', F.div(F.mul(k.cf64(2), a.get()), F.sub(k.cf64(1), a.get())))), xl.get()),
  ];
}

function erf64(k: Kernel, [x]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), a = k.local('f64'), z = k.local('f64'), sum = k.local('f64'), term = k.local('f64');
  const t = k.local('f64'), n = k.local('f64'), f = k.local('f64');
  return [
    xl.set(x),
    a.set(F.abs(xl.get())),
    k.if(F.ne(a.get(), a.get()), k.return(xl.get())),
    k.if(F.ge(a.get(), k.cf64(6)), k.return(F.copysign(k.cf64(1), xl.get()))),
    z.set(F.mul(a.get(), a.get())),
    k.if(F.lt(a.get(), k.cf64(2)), [
      // Taylor series 2/sqrt(pi) sum_n (-1)^n a^(2n+1) / (n! (2n+1)), until the terms stop mattering (<= 32)
      sum.set(k.cf64(0)), term.set(a.get()), n.set(k.cf64(0)), t.set(k.cf64(Infinity)),
      k.while(() => F.gt(F.abs(t.get()), F.mul(k.cf64(1e-17), F.abs(sum.get()))), [
        t.set(F.div(term.get(), F.add(F.mul(k.cf64(2), n.get()), k.cf64(1)))),
        sum.set(F.add(sum.get(), t.get())),
        n.set(F.add(n.get(), k.cf64(1))),
        term.set(F.neg(F.div(F.mul(term.get(), z.get()), n.get()))),
      ]),
      k.return(F.copysign(F.mul(sum.get(), k.cf64(2 / Math.sqrt(Math.PI))), xl.get())),
    ]),
    // erfc a = e^(-a^2) / sqrt(pi) / K, K = a + (1/2) / (a + 1 / (a + (3/2) / (a + ...))), 80 levels
    f.set(a.get()), n.set(k.cf64(80)),
    k.while(() => F.ge(n.get(), k.cf64(1)), [
      f.set(F.add(a.get(), F.div(F.mul(n.get(), k.cf64(0.5)), f.get()))),
      n.set(F.sub(n.get(), k.cf64(1))),
    ]),
    F.copysign(F.sub(k.cf64(1), F.div(F.mul(m64(k, 'exp', F.neg(z.get())), k.cf64(1 / Math.sqrt(Math.PI))), f.get())), xl.get()),
  ];
}

function pow64(k: Kernel, [x, y]: Expr[]): Expr[] {
  const F = k.f64;
  const xl = k.local('f64'), yl = k.local('f64'), ax = k.local('f64'), r = k.local('f64'), b = k.local('f64');
  const e = k.local('i32'), integral = k.local('i32');
  return [
    xl.set(x), yl.set(y),
    k.if(F.eq(yl.get(), k.cf64(0)), k.return(k.cf64(1))),
    k.if(F.eq(xl.get(), k.cf64(1)), k.return(k.cf64(1))),
    k.if(k.i32.or(F.ne(xl.get(), xl.get()), F.ne(yl.get(), yl.get())), k.return(k.cf64(NaN))),
    ax.set(F.abs(xl.get())),
    k.if(F.eq(F.abs(yl.get()), k.cf64(Infinity)), k.return(
      k.select(F.eq(ax.get(), k.cf64(1)), k.cf64(1),
        k.select(k.i32.eq(F.gt(ax.get(), k.cf64(1)), F.gt(yl.get(), k.cf64(0))), k.cf64(Infinity), k.cf64(0))))),
    integral.set(F.eq(F.floor(yl.get()), yl.get())),
    // small integral exponents: exact binary powering
    k.if(k.i32.and(integral.get(), F.lt(F.abs(yl.get()), k.cf64(2 ** 31))), [
      e.set(k.i32.trunc_s_sat.f64(F.abs(yl.get()))),
      r.set(k.cf64(1)), b.set(xl.get()),
      k.while(() => e.get(), [
        k.if(k.i32.and(e.get(), k.c32(1)), r.set(F.mul(r.get(), b.get()))),
        b.set(F.mul(b.get(), b.get())),
        e.set(k.i32.shr_u(e.get(), k.c32(1))),
      ]),
      k.return(k.select(F.lt(yl.get(), k.cf64(0)), F.div(k.cf64(1), r.get()), r.get())),
    ]),
    k.if(k.i32.and(F.lt(xl.get(), k.cf64(0)), k.i32.and(k.i32.eqz(integral.get()), F.ne(xl.get(), k.cf64(-Infinity)))), k.return(k.cf64(NaN))),
    r.set(m64(k, 'exp', F.mul(yl.get(), m64(k, 'log', ax.get())))),
    // negative base with a huge odd integral exponent keeps the sign
    k.select(k.i32.and(F.lt(xl.get(), k.cf64(0)), k.i32.and(integral.get(),
      F.eq(F.sub(yl.get(), F.mul(k.cf64(2), F.floor(F.mul(yl.get(), k.cf64(0.5))))), k.cf64(1)))), F.neg(r.get()), r.get()),
  ];
}

/** floor(log2 v) for finite v > 0, subnormals included. */
function ilogb(k: Kernel, v: Expr): Expr {
  const bits = k.local('i64'), e = k.local('i32');
  return k.block([
    bits.set(k.i64.reinterpret(v)),
    e.set(k.i32.wrap(k.i64.shr_u(bits.get(), k.c64(52)))),
    k.select(e.get(), k.i32.sub(e.get(), k.c32(1023)), k.i32.sub(k.c32(-1011), k.i32.wrap(k.i64.clz(bits.get())))),
  ], 'i32');
}

/** C fmod, exact: subtract the largest b 2^d that fits, until |a| < |b|. */
function fmod64(k: Kernel, [x, y]: Expr[]): Expr[] {
  const F = k.f64, I = k.i64;
  const xl = k.local('f64'), a = k.local('f64'), b = k.local('f64'), t = k.local('f64'), d = k.local('i32'), d1 = k.local('i32');
  return [
    xl.set(x),
    a.set(F.abs(xl.get())), b.set(F.abs(y)),
    k.if(k.i32.or(k.i32.or(F.ne(b.get(), b.get()), F.eq(b.get(), k.cf64(0))), k.i32.eqz(F.lt(a.get(), k.cf64(Infinity)))), k.return(k.cf64(NaN))),
    k.while(() => F.ge(a.get(), b.get()), [
      k.if(F.lt(a.get(), k.cf64(2 ** -1022)), [
        // both subnormal: integer multiples of 2^-1074
        a.set(F.reinterpret(I.rem_u(I.reinterpret(a.get()), I.reinterpret(b.get())))),
      ], [
        d.set(k.i32.sub(ilogb(k, a.get()), ilogb(k, b.get()))),
        d1.set(k.i32.shr_s(d.get(), k.c32(1))),
        t.set(scale2(k, scale2(k, b.get(), F.convert_s.i32(d1.get())), F.convert_s.i32(k.i32.sub(d.get(), d1.get())))),
        k.if(F.gt(t.get(), a.get()), t.set(F.mul(t.get(), k.cf64(0.5)))),
        a.set(F.sub(a.get(), t.get())),
      ]),
    ]),
    F.copysign(a.get(), xl.get()),
  ];
}

const F64: Record<MathFn, (k: Kernel, args: Expr[]) => Expr | Expr[]> = {
  exp: exp64, expm1: expm164, log: log64, log1p: log1p64, pow: pow64, fmod: fmod64,
  sin: sinOrCos(0), cos: sinOrCos(1), tan: tan64, asin: asin64, acos: acos64, atan: atan64,
  sinh: sinh64, cosh: cosh64, tanh: tanh64, asinh: asinh64, acosh: acosh64, atanh: atanh64, erf: erf64,
};
