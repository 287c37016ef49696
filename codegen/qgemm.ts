// The int8 GEMM shared by QLinearConv, QLinearMatMul, ConvInteger, MatMulInteger and the int8 Gemm the QDQ
// lowering produces: C[M,N] = epilogue(sum_k A[m,k] * B[k,n]) with exact i32 accumulation.
//
// A GEMM is described by its operand storage and its epilogue (QGemmSpec); one function serves every layer with
// the same description, shapes and pointers being run-time parameters (like the float GEMM in gemm.ts).
// Zero points never reach the kernel: a constant operand is stored with its zero point subtracted at compile
// time (as i16 when the difference does not fit in 8 bits), a run-time operand is packed to i16 minus its zero
// point by packPairs / packRows below. So the inner loop is pure multiply-accumulate.
//
// K is consumed in pairs, the unit of SIMD128's i32x4.dot_i16x8_s (a0*b0 + a1*b1 per i32 lane, 8 products per
// instruction):
//  - A in panels of QMR rows: A(m, k) at a + (m/QMR)*pA + (k/2)*QMR*2e + (m%QMR)*2e + (k%2)*e (e = 1 for 'i8'/'u8',
//    2 for 'i16'), so a tile walks one pointer and its rows' pairs sit at constant offsets; a pair (2 or 4 bytes) is
//    splatted across the vector (load16_splat + extend, or load32_splat). K is padded to even and M to whole
//    panels with A = 0.
//  - B is a list of panels of NR = 8 columns: panel j/NR at b + (j/NR)*pB holds pair p at + p*ldb as
//    [c0k0 c0k1 c1k0 c1k1 ... c7k0 c7k1]: 16 bytes ('i8'/'u8', extended on load by load8x8) or 32 bytes ('i16').
//    Columns past N are zero.
//  - bias (i32) per row or per column, added to the accumulator (output 'f32': a float32 bias added after scaling).
//  - output 'i32' stores the accumulator; 'q' requantizes: round_half_even(f32(acc) * mult) + zp, saturated to
//    int8/uint8 and clamped to [lo, hi] (a fused Relu/Clip), mult a float32 per row or per column. The scalar target
//    computes the same integers with the same float32 operations.

import { roundHalfEven } from '../ops/qparams.js';
import type { EmitCtx } from '../ops/types.js';
import type { Expr, Kernel, Local } from './wasm.js';

export const QMR = 4;
export const QNR = 8;

export type QStorage = 'i8' | 'u8' | 'i16';

export interface QEpilogue {
  bias: 'none' | 'row' | 'col';
  /**
   * 'i32': store the accumulator (ConvInteger). 'f32': store f32(acc) * mult + bias, the bias a float32 vector (a
   * quantized layer whose output stays float, such as a classifier). Otherwise requantize to this dtype.
   */
  out: 'i32' | 'f32' | 'int8' | 'uint8';
  /** Requantization multiplier per row or per column (unused for 'i32'). */
  scale: 'row' | 'col';
  /** Clamp of the quantized result (a fused Relu or Clip, in the output's integer domain). */
  lo: number; hi: number;
  /** 'f32' output: a fused Relu (max(v, 0) after the bias). */
  relu?: boolean;
  /**
   * A Relu or Clip between two quantizations, fused (QDQ: op -> Q(s1) -> DQ -> Clip -> Q(s2, z2)): the rounded
   * value r = round(acc * mult) goes on as round(f32(r * s1) / s2) + z2, the spec's DQ -> Q in float32. The
   * activation's clamp and q1's saturation are clamps of a monotone map, so they are [lo, hi] on the final value
   * (src/passes/lower-qdq.ts computes them). 'leaky': a LeakyRelu, f32(r * s1) < 0 multiplied by alpha first.
   * Parameters: ACT_PARAMS at the `act` pointer (actParams). 'ratio': a 'clamp' whose float32 division proved
   * equal to one multiplication, round(f32(r * c)) + z2 with c in the s1 slot (fusedAct).
   */
  act?: 'clamp' | 'leaky' | 'ratio';
  /**
   * |f32(acc) * mult| <= 2^22 for every output, and so is a fused activation's second rounding input (the caller
   * proved it from the weights, the input's range, the multipliers and the activation's scales with requantBound
   * and roundingsBounded): the roundings skip their clamp to +-2^22, which then never acts.
   */
  bounded?: boolean;
}

/** The fused activation: the first quantization's scale, the output's scale and zero point, a LeakyRelu's alpha. */
export interface QAct { s1: number; s2: number; z2: number; alpha?: number }
export const ACT_PARAMS = 5;
/** s1, s2, z2 as float32, then z2 as roundToLanes' i32 offset (z2 - MAGIC_BITS), then alpha. */
export function actParams(a: QAct): Float32Array {
  const p = Float32Array.of(a.s1, a.s2, a.z2, 0, a.alpha ?? 1);
  new Int32Array(p.buffer)[3] = a.z2 - MAGIC_BITS;
  return p;
}

/**
 * The fused activation's kernel form and parameters for a result clamped to [lo, hi] (within the output type): a
 * Relu/Clip whose round(f32(f32(r * s1) / s2)) equals round(f32(r * c)) for c = f32(s1 / s2) on every r that the
 * clamp does not decide runs as that one multiplication ('ratio': no division, a fifth of a small-K GEMM's or a
 * depthwise layer's epilogue). Both maps are monotone, so checking r from where both are <= lo up to where both
 * are >= hi proves it for every r.
 */
export function fusedAct(a: QAct, lo: number, hi: number): { kind: 'clamp' | 'leaky' | 'ratio'; params: Float32Array } {
  if (a.alpha !== undefined) return { kind: 'leaky', params: actParams(a) };
  // the kernel's float32 values and operations
  const s1 = Math.fround(a.s1), s2 = Math.fround(a.s2), c = Math.fround(s1 / s2);
  const general = (r: number) => roundHalfEven(Math.fround(Math.fround(r * s1) / s2)) + a.z2;
  const single = (r: number) => roundHalfEven(Math.fround(r * c)) + a.z2;
  const limit = 1 << 20;
  let proven = s1 > 0 && s2 > 0 && Number.isFinite(c) && c > 0;
  let r = Math.floor((lo - a.z2) / c) - 2;
  for (let n = 0; proven && !(general(r) <= lo && single(r) <= lo); n++, r--) if (n > limit) proven = false;
  for (let n = 0; proven && !(general(r) >= hi && single(r) >= hi); n++, r++) if (n > limit || general(r) !== single(r)) proven = false;
  return proven ? { kind: 'ratio', params: actParams({ s1: c, s2: 1, z2: a.z2 }) } : { kind: 'clamp', params: actParams(a) };
}

/** 1.5 * 2^23: adding it to |v| <= 2^22 rounds v half to even (the FPU's rounding) into the low mantissa bits. */
const MAGIC = 12582912, MAGIC_BITS = 0x4b400000, ROUND_LIMIT = 4194304;
/** The i32 lane offset roundToLanes adds: the zero point minus the magic number's bits. */
export const zpOffset = (k: Kernel, zp: Expr) => k.i32x4.splat(k.i32.sub(zp, k.c32(MAGIC_BITS)));

/**
 * round_half_even(v) + zp on four f32 lanes, as i32 lanes (zpOff from zpOffset): v is clamped to +-2^22 (far
 * outside every 8-bit range, so the later saturation gives the same bytes), then rounded by the magic-number
 * addition. Exact, and a fraction of nearest + trunc_sat's cost on x64.
 */
export function roundToLanes(k: Kernel, v: Expr, zpOff: Expr, bounded = false): Expr {
  return k.i32x4.add(roundedFloat(k, v, bounded), zpOff);
}

/**
 * MAGIC + round_half_even(v) as f32 lanes (v clamped to +-2^22, unless the caller proved |v| <= 2^22): the float
 * form of roundToLanes' result.
 */
function roundedFloat(k: Kernel, v: Expr, bounded = false): Expr {
  const limited = bounded ? v : k.f32x4.pmax(k.f32x4.pmin(v, k.f32x4.splat(k.cf32(ROUND_LIMIT))), k.f32x4.splat(k.cf32(-ROUND_LIMIT)));
  return k.f32x4.add(limited, k.f32x4.splat(k.cf32(MAGIC)));
}

/**
 * The largest |f32(acc) * mult| over rows m: |acc| <= |bias| + sum over k of |w - zw| * the input's largest
 * |x - zx|, with a margin for float32's rounding of the product.
 */
export function requantBound(rows: number, wAbsSum: (m: number) => number, xMaxAbs: number, bias: (m: number) => number, mult: (m: number) => number): number {
  let max = 0;
  for (let m = 0; m < rows; m++) max = Math.max(max, (Math.abs(bias(m)) + wAbsSum(m) * xMaxAbs) * Math.abs(mult(m)) * 1.001);
  return max;
}

/**
 * QEpilogue.bounded: whether both roundings' inputs stay within 2^22 given the first's bound (requantBound) and
 * the fused activation (fusedAct): the second rounds r * c, or f32(r * s1) / s2 (times alpha when above 1).
 */
export function roundingsBounded(maxAbs: number, act?: { kind: 'clamp' | 'leaky' | 'ratio'; params: Float32Array }): boolean {
  if (!(maxAbs < ROUND_LIMIT)) return false;
  if (!act) return true;
  const [s1, s2, , , alpha] = act.params;
  const factor = act.kind === 'ratio' ? s1 : (s1 / s2) * Math.max(1, act.kind === 'leaky' ? alpha : 1);
  return (maxAbs + 1) * factor * 1.001 < ROUND_LIMIT;
}

/** The largest |x - zp| of an 8-bit input; a zero point known only at run time can be any value of the type. */
export function inputMaxAbs(signed: boolean, zp: number | undefined): number {
  if (zp === undefined) return 255;
  return signed ? Math.max(Math.abs(-128 - zp), Math.abs(127 - zp)) : Math.max(Math.abs(zp), Math.abs(255 - zp));
}

/**
 * requantize(v) on four f32 lanes v = acc * mult: round_half_even(v) + zp as i32 lanes (zpOff = zpOffset(zp)), or
 * with a fused activation (act = its ACT_PARAMS splatted) round_half_even(f32(round(v) * s1) / s2) + z2.
 */
export function requantLanes(k: Kernel, v: Expr, zpOff: () => Expr, act?: (i: number) => Expr, leaky = false, bounded = false, ratio = false): Expr {
  if (!act) return roundToLanes(k, v, zpOff(), bounded);
  // round(v) exactly, as a float: the magic number's addition subtracted back
  const r = k.f32x4.sub(roundedFloat(k, v, bounded), k.f32x4.splat(k.cf32(MAGIC)));
  let x = k.f32x4.mul(r, act(0));
  if (leaky) {
    // max(x, 0) + min(x, 0) * alpha: one of the two is +0, so the sum is exactly x or f32(x * alpha)
    const t = k.local('v128');
    x = k.block([t.set(x), k.f32x4.add(k.f32x4.pmax(t.get(), k.f32x4.splat(k.cf32(0))), k.f32x4.mul(k.f32x4.pmin(t.get(), k.f32x4.splat(k.cf32(0))), act(4)))], 'v128');
  }
  return roundToLanes(k, ratio ? x : k.f32x4.div(x, act(1)), act(3), bounded);
}

export interface QGemmSpec extends QEpilogue {
  a: QStorage;
  b: QStorage;
  /**
   * Some call's N ends with a panel of 1 to 4 columns (a 7x7 layer's 49): the SIMD kernel carries a half tile for
   * it (one B vector, four accumulators) instead of a full one; about 0.8 KB of code, so only where it is used.
   * Requantizing GEMMs, and i32 ones with wholeTiles.
   */
  halfTile?: boolean;
  /**
   * C has room for whole tiles (rows padded to QMR, each row to whole panels of QNR columns: the int8 Winograd's M):
   * the SIMD kernel stores every tile whole, with no test for the last row or column panel.
   */
  wholeTiles?: boolean;
}

export const qgemmKey = (s: QGemmSpec) => `${s.a}x${s.b}_${s.bias}_${s.out}_${s.scale}_${s.lo}_${s.hi}${s.act ? `_${s.act}` : ''}${s.relu ? '_relu' : ''}${s.bounded ? '_b' : ''}${hasHalfTile(s) ? '_h' : ''}${s.wholeTiles ? '_w' : ''}`.replace(/-/g, 'm');

export interface QGemmArgs {
  a: Expr; pA: Expr;
  b: Expr; ldb: Expr; pB: Expr;
  c: Expr; ldc: Expr;
  M: Expr; N: Expr; K: Expr;
  bias?: Expr; mult?: Expr; zp?: Expr;
  /** 8-bit A on 'simd': where one row panel is widened to i16 (qgemmTmpBytes). */
  aTmp?: Expr;
  /** The fused activation's ACT_FLOATS parameters (spec.act). */
  act?: Expr;
}

/** Bytes of the aTmp buffer for a GEMM of depth K with 8-bit A (one row panel in i16). */
export const qgemmTmpBytes = (K: number) => ((K + 1) >> 1) * QMR * 4;

const PARAMS = ['a', 'pA', 'b', 'ldb', 'pB', 'c', 'ldc', 'M', 'N', 'K', 'bias', 'mult', 'zp', 'aTmp', 'act'] as const;
const aBytes = (s: QStorage) => (s === 'i16' ? 2 : 1);
const bPairBytes = (s: QStorage) => QNR * 2 * (s === 'i16' ? 2 : 1);
const outBytes = (e: QEpilogue) => (e.out === 'i32' || e.out === 'f32' ? 4 : 1);
const isQuantized = (e: QEpilogue) => e.out === 'int8' || e.out === 'uint8';
/** The half tile serves requantizing GEMMs and the i32 ones that store whole tiles (the int8 Winograd's). */
const hasHalfTile = (s: QGemmSpec) => !!s.halfTile && (isQuantized(s) || (s.out === 'i32' && !!s.wholeTiles));

/** Name of the shared GEMM function for this description, created on first use. The kernel name carries it. */
export function qgemmKernel(ctx: EmitCtx<unknown>, s: QGemmSpec): string {
  const fn = ctx.kernel(`qgemm:${qgemmKey(s)}`, PARAMS.map(() => 'i32' as const), (k) => (k.simd ? buildSimd(k, s) : buildScalar(k, s)));
  // one tile over K = PRIME_K read from the zero area (the widened A panel, 512 bytes, goes to the out area)
  ctx.prime(fn, (zeros, out) => [zeros, 0, zeros, 0, 0, out + 512, 8, QMR, QNR, PRIME_K, zeros, zeros, 0, out, zeros], PRIME_CALLS);
  return fn;
}

const PRIME_K = 64, PRIME_CALLS = 160;

export function callQGemm(k: Kernel, fn: string, g: QGemmArgs): Expr {
  const z = k.c32(0);
  return k.call(fn, [g.a, g.pA, g.b, g.ldb, g.pB, g.c, g.ldc, g.M, g.N, g.K, g.bias ?? z, g.mult ?? z, g.zp ?? z, g.aTmp ?? z, g.act ?? z]);
}

// ------------------------------------------------------------------------------------------------- SIMD

/**
 * Two i32x4 of requantized values -> their 8 bytes (the low half of the result), saturated to int8/uint8 and
 * clamped to [lo, hi] (a fused Relu or Clip in the integer domain). Shared with the int8 depthwise kernel.
 */
export function narrowToBytes(k: Kernel, v0: Expr, v1: Expr, out: 'int8' | 'uint8', lo: number, hi: number, next?: [Expr, Expr]): Expr {
  const signed = out === 'int8';
  const wide = k.i16x8.narrow_i32x4_s(v0, v1);
  // a second row's 8 values (next) go to the high 8 bytes, narrowed and clamped by the same instructions
  const wide2 = next ? k.i16x8.narrow_i32x4_s(next[0], next[1]) : k.i16x8.splat(k.c32(0));
  let bytes = signed ? k.i8x16.narrow_i16x8_s(wide, wide2) : k.i8x16.narrow_i16x8_u(wide, wide2);
  const [tlo, thi] = signed ? [-128, 127] : [0, 255];
  if (lo > tlo) bytes = signed ? k.i8x16.max_s(bytes, k.i8x16.splat(k.c32(lo))) : k.i8x16.max_u(bytes, k.i8x16.splat(k.c32(lo)));
  if (hi < thi) bytes = signed ? k.i8x16.min_s(bytes, k.i8x16.splat(k.c32(hi))) : k.i8x16.min_u(bytes, k.i8x16.splat(k.c32(hi)));
  return bytes;
}

/** Splats of the ACT_PARAMS at ptr, loaded once into locals: the statements that set them, and a getter. */
export function loadActVectors(k: Kernel, ptr: Local): { set: Expr[]; v: (i: number) => Expr } {
  const locals = Array.from({ length: ACT_PARAMS }, () => k.local('v128'));
  return { set: locals.map((l, i) => l.set(k.v128.load32_splat(i * 4, 4, ptr.get()))), v: (i) => locals[i].get() };
}

/**
 * The scalar requantization of acc * mult (f32): round_half_even + zp as f32, or with a fused activation
 * (param(i) reads ACT_PARAMS[i]) round_half_even(f32(round(v) * s1) / s2) + z2. The same integers as requantLanes.
 */
export function requantScalar(k: Kernel, v: Expr, zp: () => Expr, param?: (i: number) => Expr, leaky = false, ratio = false): Expr {
  if (!param) return k.f32.add(k.f32.nearest(v), zp());
  let x = k.f32.mul(k.f32.nearest(v), param(0));
  if (leaky) {
    const t = k.local('f32');
    x = k.block([t.set(x), k.select(k.f32.lt(t.get(), k.cf32(0)), k.f32.mul(t.get(), param(4)), t.get())], 'f32');
  }
  return k.f32.add(k.f32.nearest(ratio ? x : k.f32.div(x, param(1))), param(2));
}

const PANEL_PARAMS = ['a', 'b', 'pB', 'pairs', 'c', 'ldc', 'bias', 'mult', 'zp', 'mRem', 'N', 'act'] as const;

/**
 * One QMR-row panel of C against every column panel, with i16 A: per QMR x QNR tile the whole K runs with its 8
 * accumulators in registers, then the epilogue. Its own function (the driver only walks the row panels), so that a
 * small-K GEMM pays one call per row panel rather than per tile. The accumulators start at the i32 bias; a
 * per-row multiplier is splatted once per row.
 */
function buildSimdPanel(k: Kernel, s: QGemmSpec): Expr[] {
  const [a, b, pB, pairs, c, ldc, bias, mult, zp, mRem, N, act] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const acc: Local[][] = Array.from({ length: QMR }, () => [k.local('v128'), k.local('v128')]);
  const b0 = k.local('v128'), b1 = k.local('v128'), av = k.local('v128');
  const ap = k.local('i32'), bp = k.local('i32'), left = k.local('i32'), j = k.local('i32'), bPanel = k.local('i32'), cBlk = k.local('i32');
  const loadB = (off: number) => (s.b === 'i16' ? k.v128.load(off, 16, bp.get()) : s.b === 'i8' ? k.v128.load8x8_s(off / 2, 8, bp.get()) : k.v128.load8x8_u(off / 2, 8, bp.get()));
  // A tile of QNR columns (vectors q = 0, 1), or of QNR / 2 (half: vector 0 only) for a last panel of at most 4
  // columns (QGemmSpec.halfTile).
  const vecs = (half: boolean) => (half ? [0] : [0, 1]);
  // The i32 bias is the accumulators' start (rows past M are the panel's zero padding: computed, never stored).
  const intBias = s.out !== 'f32' && s.bias !== 'none';
  // Without a bias, the full tile of an i32 GEMM (the int8 Winograd's 16, of small K) peels its first pair; the
  // others start from zero (the peeled step is code that a float-output classifier's long K does not repay).
  const peeled = (half: boolean) => !intBias && s.out === 'i32' && !half;
  const zeroAcc = (half: boolean) => acc.flatMap((row) => vecs(half).map((q) => row[q].set(k.i32x4.splat(c32(0)))));
  const kLoop = (half: boolean): Expr[] => {
    // A is i16 here (buildSimd widens 8-bit A): a pair is one 32-bit splat. first: the accumulators start at the
    // first pair's products instead of at zero (peeled).
    const step = (first: boolean): Expr[] => {
      const e: Expr[] = [b0.set(loadB(0)), ...(half ? [] : [b1.set(loadB(16))])];
      for (let r = 0; r < QMR; r++) {
        e.push(av.set(k.v128.load32_splat(r * 4, 4, ap.get())));
        for (const q of vecs(half)) {
          const dot = k.i32x4.dot_i16x8_s(av.get(), (q ? b1 : b0).get());
          e.push(acc[r][q].set(first ? dot : k.i32x4.add(acc[r][q].get(), dot)));
        }
      }
      e.push(ap.set(i32.add(ap.get(), c32(QMR * 4))), bp.set(i32.add(bp.get(), c32(bPairBytes(s.b)))), left.set(i32.sub(left.get(), c32(1))));
      return e;
    };
    const label = k.w.nextLabel('QK');
    return [ap.set(a.get()), bp.set(bPanel.get()), left.set(pairs.get()),
      ...(peeled(half) ? [k.if(left.get(), step(true), zeroAcc(half))] : []),
      k.if(left.get(), k.m.loop(label, k.block([...step(false), k.m.br(label, left.get())])))];
  };

  // Per-row values are splatted, per-column values are the tile's columns (vector q at column j + 4q).
  const colVec = (ptr: Local, q: number) => k.v128.load(q * 16, 4, i32.add(ptr.get(), i32.shl(j.get(), c32(2))));
  const vec = (ptr: Local, side: 'row' | 'col', r: number, q: number) => (side === 'row' ? k.v128.load32_splat(r * 4, 4, ptr.get()) : colVec(ptr, q));
  const init = (half: boolean): Expr[] => {
    if (!intBias) return peeled(half) ? [] : zeroAcc(half);
    const e: Expr[] = [];
    for (let r = 0; r < QMR; r++) {
      for (const q of vecs(half)) {
        if (s.bias === 'col') e.push(acc[r][q].set(colVec(bias, q)));
        else e.push(acc[r][q].set(q ? acc[r][0].get() : vec(bias, 'row', r, 0)));
      }
    }
    return e;
  };

  // Epilogue: i32 stores, float32 scaling, or requantize + narrow to 8 bytes per row.
  const cRow = (r: number) => (r === 0 ? cBlk.get() : i32.add(cBlk.get(), i32.mul(ldc.get(), c32(r))));
  const outV: Local[] = [k.local('v128'), k.local('v128')];
  const setup: Expr[] = [];
  const zpf = k.local('v128');
  const actV = isQuantized(s) && s.act ? loadActVectors(k, act) : undefined;
  if (isQuantized(s)) setup.push(zpf.set(zpOffset(k, zp.get())), ...(actV ? actV.set : []));
  const mv = [k.local('v128'), k.local('v128')];
  const rq: Local[] = [k.local('v128'), k.local('v128')];
  const fin = (half: boolean): Expr[] => {
    const e: Expr[] = [];
    if (s.out === 'f32') {
      for (let r = 0; r < QMR; r++) {
        for (const q of vecs(half)) {
          const v = k.f32x4.mul(k.f32x4.convert_i32x4_s(acc[r][q].get()), vec(mult, s.scale, r, q));
          const biased = s.bias === 'none' ? v : k.f32x4.add(v, vec(bias, s.bias, r, q));
          e.push(acc[r][q].set(s.relu ? k.f32x4.pmax(biased, k.f32x4.splat(k.cf32(0))) : biased));
        }
      }
    }
    if (!isQuantized(s)) return e;
    // the multipliers: one splat per row, or the tile's column vectors shared by its rows
    if (s.scale === 'col') for (const q of vecs(half)) e.push(mv[q].set(colVec(mult, q)));
    // rows r and r + 1 narrow into one vector (bytes 0-7 and 8-15); a half tile's upper lanes are zeros
    for (let r = 0; r < QMR; r += 2) {
      const rows: Expr[][] = [];
      for (const rr of [r, r + 1]) {
        if (s.scale === 'row') e.push(mv[0].set(vec(mult, 'row', rr, 0)));
        const m = (q: number) => mv[s.scale === 'row' ? 0 : q].get();
        const requant = (q: number) => (half && q ? k.i32x4.splat(c32(0)) : requantLanes(k, k.f32x4.mul(k.f32x4.convert_i32x4_s(acc[rr][q].get()), m(q)), () => zpf.get(), actV?.v, s.act === 'leaky', s.bounded, s.act === 'ratio'));
        if (rr === r) { e.push(rq[0].set(requant(0)), rq[1].set(requant(1))); rows.push([rq[0].get(), rq[1].get()]); } else rows.push([requant(0), requant(1)]);
      }
      e.push(outV[r >> 1].set(narrowToBytes(k, rows[0][0], rows[0][1], s.out as 'int8' | 'uint8', s.lo, s.hi, [rows[1][0], rows[1][1]])));
    }
    return e;
  };
  const nRem = () => i32.sub(N.get(), j.get());
  const storeFull = (): Expr[] => Array.from({ length: QMR }, (_, r) => (isQuantized(s) ? [k.v128.store64_lane(0, 1, r & 1, cRow(r), outV[r >> 1].get())]
    : [k.v128.store(0, 4, cRow(r), acc[r][0].get()), k.v128.store(16, 4, cRow(r), acc[r][1].get())])).flat();
  // the first nRem columns of the rows below mRem
  const storePartial = (cols: number): Expr[] => Array.from({ length: QMR }, (_, r) => {
    const lanes = Array.from({ length: cols }, (_, l) => k.if(i32.gt_s(nRem(), c32(l)), isQuantized(s)
      ? k.i32.store8(l, 1, cRow(r), k.i8x16.extract_lane_u(outV[r >> 1].get(), (r & 1) * 8 + l))
      : k.i32.store(l * 4, 4, cRow(r), k.i32x4.extract_lane(acc[r][l >> 2].get(), l & 3))));
    return r === 0 ? k.block(lanes) : k.if(i32.gt_s(mRem.get(), c32(r)), lanes);
  });
  const fullTile = [...init(false), ...kLoop(false), ...fin(false),
    ...(s.wholeTiles ? storeFull() : [k.if(i32.and(i32.ge_s(mRem.get(), c32(QMR)), i32.ge_s(nRem(), c32(QNR))), storeFull(), storePartial(QNR))])];
  // a half tile's i32 accumulators into whole tiles' room: one vector a row
  const storeHalf = (): Expr[] => (s.wholeTiles && s.out === 'i32' ? Array.from({ length: QMR }, (_, r) => k.v128.store(0, 4, cRow(r), acc[r][0].get())) : storePartial(QNR / 2));
  const tile = hasHalfTile(s) ? [k.if(i32.le_s(nRem(), c32(QNR / 2)), [...init(true), ...kLoop(true), ...fin(true), ...storeHalf()], fullTile)] : fullTile;
  const eb = outBytes(s);
  return [
    ...setup,
    j.set(c32(0)), bPanel.set(b.get()), cBlk.set(c.get()),
    k.while(() => i32.lt_s(j.get(), N.get()), [
      ...tile,
      j.set(i32.add(j.get(), c32(QNR))),
      bPanel.set(i32.add(bPanel.get(), pB.get())),
      cBlk.set(i32.add(cBlk.get(), c32(QNR * eb))),
    ]),
  ];
}

function buildSimd(k: Kernel, s: QGemmSpec): Expr[] {
  // The panel kernel always reads i16 A (one load32_splat per row and pair): 8-bit A is widened a row panel at a time.
  const wide: QGemmSpec = { ...s, a: 'i16' };
  const panelName = `qgemm_panel_${qgemmKey(wide)}`;
  const panel = k.w.addFunction(panelName, PANEL_PARAMS.map(() => 'i32' as const), 'none', (t) => buildSimdPanel(t, wide));
  // A single call site: binaryen would inline it, and inside the driver's loop nest V8 spills the accumulators.
  k.w.keepOutOfLine(panel);
  const [a, pA, b, , pB, c, ldc, M, N, K, bias, mult, zp, aTmp, act] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const i = k.local('i32'), q = k.local('i32'), pairs = k.local('i32');
  const aBlk = k.local('i32'), tileA = k.local('i32'), cRow = k.local('i32');
  const widen = s.a === 'i16' ? [tileA.set(aBlk.get())] : [
    k.dynFor(q, c32(0), pA.get(), 8, () => k.v128.store(0, 16, i32.add(aTmp.get(), i32.shl(q.get(), c32(1))),
      s.a === 'i8' ? k.v128.load8x8_s(0, 1, i32.add(aBlk.get(), q.get())) : k.v128.load8x8_u(0, 1, i32.add(aBlk.get(), q.get())))),
    tileA.set(aTmp.get()),
  ];
  // Row panels outside, column panels inside: each A panel is widened once, the B panels stream from L2.
  const rowPtr = (ptr: Local, side: 'row' | 'col') => (side === 'row' ? i32.add(ptr.get(), i32.shl(i.get(), c32(2))) : ptr.get());
  return [
    k.if(i32.or(i32.le_s(M.get(), c32(0)), i32.le_s(N.get(), c32(0))), k.return()),
    pairs.set(i32.shr_s(i32.add(K.get(), c32(1)), c32(1))),
    i.set(c32(0)), aBlk.set(a.get()), cRow.set(c.get()),
    k.while(() => i32.lt_s(i.get(), M.get()), [
      ...widen,
      k.call(panel, [
        tileA.get(), b.get(), pB.get(), pairs.get(), cRow.get(), ldc.get(),
        s.bias === 'none' ? c32(0) : rowPtr(bias, s.bias),
        s.out === 'i32' ? c32(0) : rowPtr(mult, s.scale),
        zp.get(), i32.sub(M.get(), i.get()), N.get(), act.get(),
      ]),
      i.set(i32.add(i.get(), c32(QMR))),
      aBlk.set(i32.add(aBlk.get(), pA.get())),
      cRow.set(i32.add(cRow.get(), i32.mul(ldc.get(), c32(QMR)))),
    ]),
  ];
}

// ----------------------------------------------------------------------------------------------- scalar

/** One output element at a time over the same layouts, with the same float32 requantization. */
function buildScalar(k: Kernel, s: QGemmSpec): Expr[] {
  const [a, pA, b, ldb, pB, c, ldc, M, N, K, bias, mult, zp, , act] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const m = k.local('i32'), n = k.local('i32'), p = k.local('i32'), pairs = k.local('i32');
  const acc = k.local('i32'), ap = k.local('i32'), bp = k.local('i32');
  const ea = aBytes(s.a), eB = s.b === 'i16' ? 2 : 1;
  const loadA = (off: number) => (s.a === 'i16' ? k.i32.load16_s(off, 2, ap.get()) : s.a === 'i8' ? k.i32.load8_s(off, 1, ap.get()) : k.i32.load8_u(off, 1, ap.get()));
  const loadB = (off: number) => (s.b === 'i16' ? k.i32.load16_s(off, 2, bp.get()) : s.b === 'i8' ? k.i32.load8_s(off, 1, bp.get()) : k.i32.load8_u(off, 1, bp.get()));
  const eb = outBytes(s);
  const cAddr = i32.add(c.get(), i32.add(i32.mul(m.get(), ldc.get()), i32.mul(n.get(), c32(eb))));
  const biasAt = () => i32.add(bias.get(), i32.shl((s.bias === 'row' ? m : n).get(), c32(2)));
  const biasV = s.bias === 'none' || s.out === 'f32' ? c32(0) : k.i32.load(0, 4, biasAt());
  const multAt = () => i32.add(mult.get(), i32.shl((s.scale === 'row' ? m : n).get(), c32(2)));
  let store: Expr;
  if (s.out === 'i32') store = k.i32.store(0, 4, cAddr, acc.get());
  else if (s.out === 'f32') {
    const v = k.f32.mul(k.f32.convert_s.i32(acc.get()), k.f32.load(0, 4, multAt()));
    const biased = s.bias === 'none' ? v : k.f32.add(v, k.f32.load(0, 4, biasAt()));
    store = k.f32.store(0, 4, cAddr, s.relu ? k.f32.max(biased, k.cf32(0)) : biased);
  } else {
    const mv = k.f32.load(0, 4, multAt());
    const [tlo, thi] = s.out === 'int8' ? [-128, 127] : [0, 255];
    const lo = Math.max(tlo, s.lo), hi = Math.min(thi, s.hi);
    const v = requantScalar(k, k.f32.mul(k.f32.convert_s.i32(acc.get()), mv), () => k.f32.convert_s.i32(zp.get()),
      s.act ? (i) => k.f32.load(i * 4, 4, act.get()) : undefined, s.act === 'leaky', s.act === 'ratio');
    store = k.i32.store8(0, 1, cAddr, k.i32.trunc_s_sat.f32(k.f32.min(k.f32.max(v, k.cf32(lo)), k.cf32(hi))));
  }
  return [
    pairs.set(i32.shr_s(i32.add(K.get(), c32(1)), c32(1))),
    k.dynFor(m, c32(0), M.get(), 1, () => k.dynFor(n, c32(0), N.get(), 1, () => [
      acc.set(biasV),
      ap.set(i32.add(i32.add(a.get(), i32.mul(i32.div_u(m.get(), c32(QMR)), pA.get())), i32.mul(i32.rem_u(m.get(), c32(QMR)), c32(2 * ea)))),
      bp.set(i32.add(i32.add(b.get(), i32.mul(i32.shr_u(n.get(), c32(3)), pB.get())), i32.mul(i32.and(n.get(), c32(QNR - 1)), c32(2 * eB)))),
      k.dynFor(p, c32(0), pairs.get(), 1, () => [
        acc.set(i32.add(acc.get(), i32.add(i32.mul(loadA(0), loadB(0)), i32.mul(loadA(ea), loadB(eB))))),
        ap.set(i32.add(ap.get(), c32(QMR * 2 * ea))),
        bp.set(i32.add(bp.get(), ldb.get())),
      ]),
      store,
    ])),
  ];
}

// ------------------------------------------------------------------------------------ run-time packing

/**
 * Packs a run-time int8/uint8 matrix B[k, n] (row k at src + k*ldk, columns contiguous) into i16 panels minus
 * its zero point (an i32 parameter): the 'i16' B layout above, for K rows and N columns, zero-padded to
 * whole panels and an even K; the panel stride is pB = ceil(K/2) * 32.
 */
export function packPairsKernel(ctx: EmitCtx<unknown>, src: 'i8' | 'u8'): string {
  return ctx.kernel(`qpack_pairs:${src}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [x, ldk, dst, K, N, zp] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const p = k.local('i32'), j = k.local('i32'), col = k.local('i32'), pairs = k.local('i32'), pB = k.local('i32');
    const row0 = k.local('i32'), row1 = k.local('i32'), out = k.local('i32'), full = k.local('i32'), k1 = k.local('i32');
    const fullCols = k.local('i32'), outPanel = k.local('i32');
    const ld = (addr: Expr) => (src === 'i8' ? k.i32.load8_s(0, 1, addr) : k.i32.load8_u(0, 1, addr));
    // One element: row r (0 or 1 of the pair) of column col; zero past K or N.
    const elem = (rowBase: Local, r: number) => k.select(
      i32.and(i32.lt_s(col.get(), N.get()), r === 0 ? c32(1) : i32.lt_s(k1.get(), K.get())),
      i32.sub(ld(i32.add(rowBase.get(), col.get())), zp.get()), c32(0));
    const scalarCols = k.dynFor(col, j.get(), i32.add(j.get(), c32(QNR)), 1, () => [
      k.i32.store16(0, 2, i32.add(out.get(), i32.shl(i32.sub(col.get(), j.get()), c32(2))), elem(row0, 0)),
      k.i32.store16(2, 2, i32.add(out.get(), i32.shl(i32.sub(col.get(), j.get()), c32(2))), elem(row1, 1)),
    ]);
    let panel: Expr = scalarCols;
    if (k.simd) {
      const ext = (addr: Expr) => k.i16x8.sub(src === 'i8' ? k.v128.load8x8_s(0, 1, addr) : k.v128.load8x8_u(0, 1, addr), k.i16x8.splat(zp.get()));
      const r0 = k.local('v128'), r1 = k.local('v128');
      const lo = [0, 1, 16, 17, 2, 3, 18, 19, 4, 5, 20, 21, 6, 7, 22, 23], hi = lo.map((v) => v + 8);
      panel = k.if(full.get(), [
        r0.set(ext(i32.add(row0.get(), j.get()))),
        r1.set(ext(i32.add(row1.get(), j.get()))),
        k.v128.store(0, 16, out.get(), k.i8x16.shuffle(r0.get(), r1.get(), lo)),
        k.v128.store(16, 16, out.get(), k.i8x16.shuffle(r0.get(), r1.get(), hi)),
      ], scalarCols);
    }
    // Column panels outside, pairs inside: the output is written in order. (Pairs outside wrote 32 bytes every pB
    // bytes, a power of two for power-of-two K: 4K aliasing made the packing up to 40% of a pointwise layer.)
    return [
      pairs.set(i32.shr_s(i32.add(K.get(), c32(1)), c32(1))),
      pB.set(i32.shl(pairs.get(), c32(5))),
      j.set(c32(0)),
      outPanel.set(dst.get()),
      k.while(() => i32.lt_s(j.get(), N.get()), [
        fullCols.set(i32.le_s(i32.add(j.get(), c32(QNR)), N.get())),
        row0.set(x.get()),
        out.set(outPanel.get()),
        k.dynFor(p, c32(0), pairs.get(), 1, () => [
          k1.set(i32.add(i32.shl(p.get(), c32(1)), c32(1))),
          // an odd K's last pair reads row 0 twice and zeroes the second
          row1.set(k.select(i32.lt_s(k1.get(), K.get()), i32.add(row0.get(), ldk.get()), row0.get())),
          full.set(i32.and(fullCols.get(), i32.lt_s(k1.get(), K.get()))),
          panel,
          row0.set(i32.add(row0.get(), i32.shl(ldk.get(), c32(1)))),
          out.set(i32.add(out.get(), c32(32))),
        ]),
        j.set(i32.add(j.get(), c32(QNR))),
        outPanel.set(i32.add(outPanel.get(), pB.get())),
      ]),
    ];
  });
}

/**
 * Packs run-time int8/uint8 rows A[m, k] (row m at src + m*lda) into the 'i16' A layout minus the zero point zp:
 * QMR-row panels of K-pairs (panel stride pA = ceil(K/2) * QMR * 4), rows past M and the odd K's pad zero.
 */
export function packRowsKernel(ctx: EmitCtx<unknown>, src: 'i8' | 'u8'): string {
  return ctx.kernel(`qpack_rows:${src}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [x, lda, dst, M, K, zp] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const m = k.local('i32'), q = k.local('i32'), row = k.local('i32'), out = k.local('i32'), pA = k.local('i32'), mEnd = k.local('i32');
    const ld = (addr: Expr) => (src === 'i8' ? k.i32.load8_s(0, 1, addr) : k.i32.load8_u(0, 1, addr));
    // element (m, q) at dst + (m/QMR)*pA + (q/2)*QMR*4 + (m%QMR)*4 + (q%2)*2
    const at = (qq: Local) => i32.add(out.get(), i32.add(i32.mul(i32.shr_u(qq.get(), c32(1)), c32(QMR * 4)), i32.shl(i32.and(qq.get(), c32(1)), c32(1))));
    const body: Expr[] = [
      row.set(i32.add(x.get(), i32.mul(m.get(), lda.get()))),
      out.set(i32.add(dst.get(), i32.add(i32.mul(i32.div_u(m.get(), c32(QMR)), pA.get()), i32.shl(i32.rem_u(m.get(), c32(QMR)), c32(2))))),
      q.set(c32(0)),
    ];
    if (k.simd) {
      // 8 values = 4 pairs, one 32-bit lane into each of 4 consecutive pair slots
      const v = k.local('v128');
      const lanes: Expr[] = [0, 1, 2, 3].map((l) => k.v128.store32_lane(l * QMR * 4, 4, l, i32.add(out.get(), i32.mul(q.get(), c32(QMR * 2))), v.get()));
      body.push(k.while(() => i32.le_s(i32.add(q.get(), c32(8)), K.get()), [
        v.set(k.i16x8.sub(src === 'i8' ? k.v128.load8x8_s(0, 1, i32.add(row.get(), q.get())) : k.v128.load8x8_u(0, 1, i32.add(row.get(), q.get())), k.i16x8.splat(zp.get()))),
        ...lanes,
        q.set(i32.add(q.get(), c32(8))),
      ]));
    }
    body.push(k.while(() => i32.lt_s(q.get(), K.get()), [
      k.i32.store16(0, 2, at(q), i32.sub(ld(i32.add(row.get(), q.get())), zp.get())),
      q.set(i32.add(q.get(), c32(1))),
    ]));
    return [
      pA.set(i32.mul(i32.shr_u(i32.add(K.get(), c32(1)), c32(1)), c32(QMR * 4))),
      // zero the whole panels first: padding rows and the odd K's last value
      mEnd.set(i32.mul(i32.div_u(i32.add(M.get(), c32(QMR - 1)), c32(QMR)), pA.get())),
      k.simd ? k.m.memory.fill(dst.get(), c32(0), mEnd.get())
        : k.dynFor(q, c32(0), mEnd.get(), 4, () => k.i32.store(0, 4, i32.add(dst.get(), q.get()), c32(0))),
      k.dynFor(m, c32(0), M.get(), 1, () => body),
    ];
  });
}

// --------------------------------------------------------------------------------- compile-time packing

/**
 * The bytes of a constant A (M rows of K values, zero point per row subtracted) in QMR-row panels, each of the
 * `groups` consecutive row groups packed on its own (a grouped convolution's GEMM per group starts at a panel).
 * pA is the panel stride, groupBytes the stride between groups.
 */
export function packConstA(values: ArrayLike<number>, M: number, K: number, zpOfRow: (m: number) => number, signed: boolean, groups = 1):
  { bytes: Uint8Array; storage: QStorage; pA: number; groupBytes: number } {
  const pairs = (K + 1) >> 1, mg = M / groups, panels = Math.ceil(mg / QMR);
  const storage = constStorage(M * K, (i) => Number(values[i]) - zpOfRow(Math.floor(i / K)), signed);
  const narrow = storage !== 'i16';
  const perPanel = pairs * QMR * 2;
  const count = Math.max(1, groups * panels * perPanel);
  const out = storage === 'i8' ? new Int8Array(count) : storage === 'u8' ? new Uint8Array(count) : new Int16Array(count);
  for (let g = 0; g < groups; g++) for (let r = 0; r < mg; r++) {
    const m = g * mg + r, zp = zpOfRow(m);
    const base = (g * panels + Math.floor(r / QMR)) * perPanel + (r % QMR) * 2;
    for (let q = 0; q < K; q++) out[base + (q >> 1) * QMR * 2 + (q & 1)] = Number(values[m * K + q]) - zp;
  }
  const e = narrow ? 1 : 2;
  return { bytes: new Uint8Array(out.buffer), storage, pA: perPanel * e, groupBytes: panels * perPanel * e };
}

/**
 * The narrowest storage of n constant values v(i) (already minus their zero point): as stored when they are the
 * 8-bit values themselves, else 'i8' when they fit (uint8 weights with zero point 128, quantize_dynamic's), else i16.
 */
function constStorage(n: number, v: (i: number) => number, signed: boolean): QStorage {
  let lo = 0, hi = 0;
  for (let i = 0; i < n; i++) { const x = v(i); if (x < lo) lo = x; if (x > hi) hi = x; }
  if (signed ? lo >= -128 && hi <= 127 : lo >= 0 && hi <= 255) return signed ? 'i8' : 'u8';
  return lo >= -128 && hi <= 127 ? 'i8' : 'i16';
}

/** The panels of a constant B (element (k, n) = at(k, n)), zero point per column subtracted. */
export function packConstB(at: (k: number, n: number) => number, K: number, N: number, zpOfCol: (n: number) => number, signed: boolean):
  { bytes: Uint8Array; storage: QStorage; ldb: number; pB: number } {
  const pairs = (K + 1) >> 1, panels = Math.ceil(N / QNR);
  const storage = constStorage(K * N, (i) => at(Math.floor(i / N), i % N) - zpOfCol(i % N), signed);
  const narrow = storage !== 'i16';
  const count = Math.max(1, panels * pairs * QNR * 2);
  const out = storage === 'i8' ? new Int8Array(count) : storage === 'u8' ? new Uint8Array(count) : new Int16Array(count);
  for (let j = 0; j < panels; j++) for (let p = 0; p < pairs; p++) for (let c = 0; c < QNR; c++) for (let r = 0; r < 2; r++) {
    const n = j * QNR + c, kk = 2 * p + r;
    if (n < N && kk < K) out[((j * pairs + p) * QNR + c) * 2 + r] = at(kk, n) - zpOfCol(n);
  }
  const e = narrow ? 1 : 2;
  return { bytes: new Uint8Array(out.buffer), storage, ldb: QNR * 2 * e, pB: pairs * QNR * 2 * e };
}
