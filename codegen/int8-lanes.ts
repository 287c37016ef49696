// Lane helpers for the int8 element-wise kernels: 16 int8/uint8 lanes widened to four f32x4 (dequantized), and
// four f32x4 quantized back to 16 lanes with the spec's rounding (half to even) and saturation. The arithmetic
// is lane for lane that of the scalar path (ops/quantize.ts saturateRound), so both targets give the same bytes.

import type { DType } from '../src/ir/dtype.js';
import { roundToLanes, zpOffset } from './qgemm.js';
import type { Expr, Kernel } from './wasm.js';

/** A quantization parameter: a compile-time number, or a function giving a fresh expression for a run-time one. */
export type LaneParam = number | (() => Expr);
const f32Param = (k: Kernel, p: LaneParam) => (typeof p === 'number' ? k.cf32(p) : p());
const i32Param = (k: Kernel, p: LaneParam) => (typeof p === 'number' ? k.c32(p) : p());

/** The 16 byte lanes of v as four i32x4 (lanes 0-3, 4-7, 8-11, 12-15), sign- or zero-extended by dtype. */
export function widenBytes(k: Kernel, v: Expr, dt: DType): Expr[] {
  const signed = dt === 'int8';
  const b = k.local('v128');
  const lo = k.local('v128'), hi = k.local('v128');
  const [e16lo, e16hi] = signed ? [k.i16x8.extend_low_i8x16_s, k.i16x8.extend_high_i8x16_s] : [k.i16x8.extend_low_i8x16_u, k.i16x8.extend_high_i8x16_u];
  const [e32lo, e32hi] = signed ? [k.i32x4.extend_low_i16x8_s, k.i32x4.extend_high_i16x8_s] : [k.i32x4.extend_low_i16x8_u, k.i32x4.extend_high_i16x8_u];
  const setup = k.block([b.set(v), lo.set(e16lo(b.get())), hi.set(e16hi(b.get()))]);
  // the first quarter carries the setup so that the four expressions can be used in order
  return [
    k.block([setup, e32lo(lo.get())], 'v128'),
    e32hi(lo.get()),
    e32lo(hi.get()),
    e32hi(hi.get()),
  ];
}

/**
 * DequantizeLinear of four i32x4 quarters: (q - zp) * scale as f32x4 (integer subtraction first, as the scalar path).
 * A run-time zp is an i32 expression, a run-time scale an f32 one.
 */
export function dequantizeQuarters(k: Kernel, quarters: Expr[], zp: LaneParam, scale: LaneParam): Expr[] {
  return quarters.map((q) => k.f32x4.mul(k.f32x4.convert_i32x4_s(zp ? k.i32x4.sub(q, k.i32x4.splat(i32Param(k, zp))) : q), k.f32x4.splat(f32Param(k, scale))));
}

/**
 * QuantizeLinear of four f32x4 (already divided by the scale): nearest (ties to even), + zp, truncated, narrowed to
 * 16 byte lanes. The saturating truncation and narrowings clamp to the type's range (NaN gives 0), as the scalar
 * path's clamp does, without the costly NaN-aware f32x4.min/max. A run-time zp is an f32 expression.
 * `noNaN` (values computed from int8 inputs and finite positive scales, which cannot be NaN; a constant zp): the GEMM epilogue's
 * magic-number rounding instead (roundToLanes, exact for every non-NaN value), a third of the instructions of V8's
 * i32x4.trunc_sat_f32x4_s sequence.
 */
export function quantizeQuarters(k: Kernel, scaled: Expr[], zp: LaneParam, dt: DType, noNaN = false): Expr {
  const narrow = dt === 'int8' ? k.i8x16.narrow_i16x8_s : k.i8x16.narrow_i16x8_u;
  if (noNaN && typeof zp === 'number') {
    const q = scaled.map((v) => roundToLanes(k, v, zpOffset(k, k.c32(zp))));
    return narrow(k.i16x8.narrow_i32x4_s(q[0], q[1]), k.i16x8.narrow_i32x4_s(q[2], q[3]));
  }
  const q = scaled.map((v) => {
    let r = k.f32x4.nearest(v);
    if (zp) r = k.f32x4.add(r, k.f32x4.splat(f32Param(k, zp)));
    return k.i32x4.trunc_sat_f32x4_s(r);
  });
  return narrow(k.i16x8.narrow_i32x4_s(q[0], q[1]), k.i16x8.narrow_i32x4_s(q[2], q[3]));
}

/**
 * QuantizeLinear of one f32 (already divided by the scale), as an i32: nearest (ties to even), + zp, truncated with
 * saturation, clamped to the type's range in integers. The same value as ops/quantize.ts saturateRound (which
 * clamps in float) without V8's NaN-aware f32.min/max sequences.
 */
export function quantizeScalar(k: Kernel, v: Expr, zp: LaneParam, dt: DType): Expr {
  const [lo, hi] = dt === 'int8' ? [-128, 127] : [0, 255];
  const r = k.local('i32');
  let x = k.f32.nearest(v);
  if (zp) x = k.f32.add(x, f32Param(k, zp));
  return k.block([
    r.set(k.i32.trunc_s_sat.f32(x)),
    k.select(k.i32.lt_s(r.get(), k.c32(lo)), k.c32(lo), k.select(k.i32.gt_s(r.get(), k.c32(hi)), k.c32(hi), r.get())),
  ], 'i32');
}
