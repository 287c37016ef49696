// Fast paths of QuantizeLinear / DequantizeLinear for the common case of a QDQ model's activations: float32 <->
// int8/uint8 with one constant scale and zero point (per tensor). The general kernels in ops/quantize.ts index the
// scale per element and divide by a loaded value; these hoist the parameters and, on simd, do 16 elements per
// iteration (four f32x4 <-> one i8x16) with the lane helpers of the int8 element-wise kernels. Same arithmetic as
// the general path: x / scale in f32, round half to even, + zp, saturate; (q - zp) in integers, * scale in f32.

import { dequantizeQuarters, quantizeQuarters, quantizeScalar, widenBytes } from '../codegen/int8-lanes.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import type { DType } from '../src/ir/dtype.js';
import { numel, tensorNumbers, type Tensor } from '../src/ir/graph.js';
import type { EmitCtx, Operand } from './types.js';

/** A per-tensor constant scale and zero point (absent zero point: 0), or undefined when not both constant scalars. */
function constParams(s: Operand, zp: Operand | undefined): { scale: number; zp: number } | undefined {
  const one = (t: Tensor | undefined) => (t && numel(t.shape) === 1 ? tensorNumbers(t)[0] : undefined);
  const scale = s.dtype === 'float32' ? one(s.const) : undefined;
  const z = zp ? one(zp.const) : 0;
  return scale === undefined || z === undefined ? undefined : { scale, zp: z };
}

const isByte = (dt: DType) => dt === 'int8' || dt === 'uint8';

/** x, y, the constant parameters, the element count and whether to use simd; undefined when the node has no such parameters. */
function fastOperands(ctx: EmitCtx<unknown>) {
  const [x, s, zp] = ctx.inputs as (Operand | undefined)[];
  const p = x && s ? constParams(s, zp) : undefined;
  return x && p ? { x, y: ctx.outputs[0], p, n: numel(x.shape), simd: ctx.target === 'simd' } : undefined;
}

/** Loop over n elements: 16 at a time on simd (vector(i) for elements i..i+15), then one at a time. */
function lanes16(k: Kernel, n: number, simd: boolean, vector: (i: Local) => Expr, scalar: (i: Local) => Expr): Expr[] {
  const n16 = simd ? n - (n % 16) : 0;
  return [n16 ? k.loop(0, n16, vector, 16) : k.nop(), n16 < n ? k.loop(n16, n, scalar) : k.nop()];
}

/** QuantizeLinear float32 -> int8/uint8 with constant per-tensor parameters; false when the node is not that case. */
export function emitQuantizeFast(ctx: EmitCtx<unknown>, divisionType: DType): boolean {
  const o = fastOperands(ctx);
  if (!o || o.x.dtype !== 'float32' || divisionType !== 'float32' || !isByte(o.y.dtype)) return false;
  const { x, y, p, n, simd } = o;
  const fn = ctx.kernel(`qlin-fast:${y.dtype}:${p.scale}:${p.zp}:${n}:${simd}`, ['i32', 'i32'], (k) => {
    const [xp, yp] = k.params;
    const xAt = (i: Local, off = 0) => k.i32.add(xp.get(), k.i32.shl(k.i32.add(i.get(), k.c32(off)), k.c32(2)));
    const yAt = (i: Local) => k.i32.add(yp.get(), i.get());
    const divided = (v: Expr) => k.f32x4.div(v, k.f32x4.splat(k.cf32(p.scale)));
    return lanes16(k, n, simd,
      (i) => k.v128.store(0, 1, yAt(i), quantizeQuarters(k, [0, 4, 8, 12].map((o) => divided(k.v128.load(0, 4, xAt(i, o)))), p.zp, y.dtype)),
      (i) => k.i32.store8(0, 1, yAt(i), quantizeScalar(k, k.f32.div(k.f32.load(0, 4, xAt(i)), k.cf32(p.scale)), p.zp, y.dtype)));
  });
  ctx.call(fn, [x.ptr, y.ptr]);
  return true;
}

/** DequantizeLinear int8/uint8 -> float32 with constant per-tensor parameters; false when the node is not that case. */
export function emitDequantizeFast(ctx: EmitCtx<unknown>): boolean {
  const o = fastOperands(ctx);
  if (!o || !isByte(o.x.dtype) || o.y.dtype !== 'float32') return false;
  const { x, y, p, n, simd } = o;
  const fn = ctx.kernel(`dqlin-fast:${x.dtype}:${p.scale}:${p.zp}:${n}:${simd}`, ['i32', 'i32'], (k) => {
    const [xp, yp] = k.params;
    const yAt = (i: Local, off = 0) => k.i32.add(yp.get(), k.i32.shl(k.i32.add(i.get(), k.c32(off)), k.c32(2)));
    const xAt = (i: Local) => k.i32.add(xp.get(), i.get());
    return lanes16(k, n, simd,
      (i) => {
        const f = dequantizeQuarters(k, widenBytes(k, k.v128.load(0, 1, xAt(i)), x.dtype), p.zp, p.scale);
        return k.block(f.map((v, j) => k.v128.store(0, 4, yAt(i, 4 * j), v)));
      },
      (i) => {
        const q = x.dtype === 'int8' ? k.i32.load8_s(0, 1, xAt(i)) : k.i32.load8_u(0, 1, xAt(i));
        return k.f32.store(0, 4, yAt(i), k.f32.mul(k.f32.convert_s.i32(p.zp ? k.i32.sub(q, k.c32(p.zp)) : q), k.cf32(p.scale)));
      });
  });
  ctx.call(fn, [x.ptr, y.ptr]);
  return true;
}
