// Fast paths of QuantizeLinear / DequantizeLinear for the common case of a QDQ model's activations: float32 <->
// int8/uint8 with one scale and zero point (per tensor; constants, or computed at run time as in a QOperator model's
// input quantization). The general kernels in ops/quantize.ts index the scale per element; these read the
// parameters once and, on simd, do 16 elements per
// iteration (four f32x4 <-> one i8x16) with the lane helpers of the int8 element-wise kernels. Same arithmetic as
// the general path: x / scale in f32, round half to even, + zp, saturate; (q - zp) in integers, * scale in f32.

import { dequantizeQuarters, quantizeQuarters, quantizeScalar, widenBytes } from '../codegen/int8-lanes.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import type { DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import type { EmitCtx, Operand } from './types.js';

const isByte = (dt: DType) => dt === 'int8' || dt === 'uint8';

/**
 * x, y, scale and zero point, the element count and whether to use simd; undefined unless the scale is one float32
 * and the zero point (if any) one value: per tensor, constant or computed at run time.
 */
function fastOperands(ctx: EmitCtx<unknown>) {
  const [x, s, zp] = ctx.inputs as (Operand | undefined)[];
  if (!x || !s || s.dtype !== 'float32' || numel(s.shape) !== 1 || (zp && numel(zp.shape) !== 1)) return undefined;
  return { x, s, zp, y: ctx.outputs[0], n: numel(x.shape), simd: ctx.target === 'simd' };
}

/** Locals holding the scale (f32) and the zero point (i32 and f32), read once per call from their addresses. */
function loadParams(k: Kernel, sp: Local, zpp: Local, zpType: DType | undefined) {
  const scale = k.local('f32'), zp = k.local('i32'), zpF = k.local('f32');
  const zpLoad = zpType === undefined ? k.c32(0) : zpType === 'int8' ? k.i32.load8_s(0, 1, zpp.get()) : k.i32.load8_u(0, 1, zpp.get());
  return {
    scale, zp, zpF,
    setup: [scale.set(k.f32.load(0, 4, sp.get())), zp.set(zpLoad), zpF.set(k.f32.convert_s.i32(zp.get()))],
  };
}

/** Loop over n elements: 16 at a time on simd (vector(i) for elements i..i+15), then one at a time. */
function lanes16(k: Kernel, n: number, simd: boolean, vector: (i: Local) => Expr, scalar: (i: Local) => Expr): Expr[] {
  const n16 = simd ? n - (n % 16) : 0;
  return [n16 ? k.loop(0, n16, vector, 16) : k.nop(), n16 < n ? k.loop(n16, n, scalar) : k.nop()];
}

/** QuantizeLinear float32 -> int8/uint8 with per-tensor parameters; false when the node is not that case. */
export function emitQuantizeFast(ctx: EmitCtx<unknown>, divisionType: DType): boolean {
  const o = fastOperands(ctx);
  if (!o || o.x.dtype !== 'float32' || divisionType !== 'float32' || !isByte(o.y.dtype)) return false;
  const { x, s, zp, y, n, simd } = o;
  const fn = ctx.kernel(`qlin-fast:${y.dtype}:${!!zp}:${n}:${simd}`, ['i32', 'i32', 'i32', 'i32'], (k) => {
    const [xp, sp, zpp, yp] = k.params;
    const p = loadParams(k, sp, zpp, zp?.dtype);
    const zpF = zp ? () => p.zpF.get() : 0;
    const xAt = (i: Local, off = 0) => k.i32.add(xp.get(), k.i32.shl(k.i32.add(i.get(), k.c32(off)), k.c32(2)));
    const yAt = (i: Local) => k.i32.add(yp.get(), i.get());
    const divided = (v: Expr) => k.f32x4.div(v, k.f32x4.splat(p.scale.get()));
    return [...p.setup, ...lanes16(k, n, simd,
      (i) => k.v128.store(0, 1, yAt(i), quantizeQuarters(k, [0, 4, 8, 12].map((off) => divided(k.v128.load(0, 4, xAt(i, off)))), zpF, y.dtype)),
      (i) => k.i32.store8(0, 1, yAt(i), quantizeScalar(k, k.f32.div(k.f32.load(0, 4, xAt(i)), p.scale.get()), zpF, y.dtype)))];
  });
  ctx.call(fn, [x.ptr, s.ptr, zp ? zp.ptr : 0, y.ptr]);
  return true;
}

/** DequantizeLinear int8/uint8 -> float32 with per-tensor parameters; false when the node is not that case. */
export function emitDequantizeFast(ctx: EmitCtx<unknown>): boolean {
  const o = fastOperands(ctx);
  if (!o || !isByte(o.x.dtype) || o.y.dtype !== 'float32') return false;
  const { x, s, zp, y, n, simd } = o;
  const fn = ctx.kernel(`dqlin-fast:${x.dtype}:${!!zp}:${n}:${simd}`, ['i32', 'i32', 'i32', 'i32'], (k) => {
    const [xp, sp, zpp, yp] = k.params;
    const p = loadParams(k, sp, zpp, zp?.dtype);
    const yAt = (i: Local, off = 0) => k.i32.add(yp.get(), k.i32.shl(k.i32.add(i.get(), k.c32(off)), k.c32(2)));
    const xAt = (i: Local) => k.i32.add(xp.get(), i.get());
    return [...p.setup, ...lanes16(k, n, simd,
      (i) => {
        const f = dequantizeQuarters(k, widenBytes(k, k.v128.load(0, 1, xAt(i)), x.dtype), zp ? () => p.zp.get() : 0, () => p.scale.get());
        return k.block(f.map((v, j) => k.v128.store(0, 4, yAt(i, 4 * j), v)));
      },
      (i) => {
        const q = x.dtype === 'int8' ? k.i32.load8_s(0, 1, xAt(i)) : k.i32.load8_u(0, 1, xAt(i));
        return k.f32.store(0, 4, yAt(i), k.f32.mul(k.f32.convert_s.i32(zp ? k.i32.sub(q, p.zp.get()) : q), p.scale.get()));
      })];
  });
  ctx.call(fn, [x.ptr, s.ptr, zp ? zp.ptr : 0, y.ptr]);
  return true;
}
