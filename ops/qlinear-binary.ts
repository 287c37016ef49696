// com.microsoft::QLinearAdd and QLinearMul (A, A_scale, A_zero_point, B, B_scale, B_zero_point, C_scale,
// C_zero_point; numpy broadcasting). Computed as the spec's float32 pipeline, so that they match the
// DequantizeLinear -> Add/Mul -> QuantizeLinear graph: each input dequantized in f32, the float op, a division by
// C_scale, rounding half to even, + C_zero_point, saturation. Scales and zero points are per-tensor constants.
// The element-wise factory broadcasts; on simd, 16 lanes at a time when every operand's innermost dim is
// contiguous or broadcast (same shapes, a scalar operand, a row broadcast).

import { emitElementwise, type ElementwiseSpec } from '../codegen/elementwise.js';
import { dequantizeQuarters, quantizeQuarters, quantizeScalar, widenBytes } from '../codegen/int8-lanes.js';
import type { Expr, Kernel } from '../codegen/wasm.js';
import { broadcastOrFail } from './elementwise.js';
import { dequantize, qparam, qparamKey, quantize, type QParam } from './qparams.js';
import type { OpCtx } from './move.js';
import { defineOp, type InferCtx, type TensorInfo } from './types.js';
import { makeTensor, numel, stridesOf, type Tensor } from '../src/ir/graph.js';
import { broadcastStrides } from '../codegen/elementwise.js';

type FloatOp = 'add' | 'mul';

function params(ctx: OpCtx<unknown> | InferCtx<unknown>): [QParam, QParam, QParam] {
  const [a, b] = [ctx.inputs[0], ctx.inputs[3]];
  if (!a || !b) ctx.fail('needs A and B');
  if (a!.dtype !== b!.dtype) ctx.fail(`A and B must have one type (${a!.dtype}, ${b!.dtype})`);
  return [qparam(ctx, 1, 2, a!.dtype, 'A'), qparam(ctx, 4, 5, b!.dtype, 'B'), qparam(ctx, 6, 7, a!.dtype, 'C')];
}

/** The kernel body: scalar and 16-lane versions of quantize(op(dequantize(a), dequantize(b))). */
function spec(op: FloatOp, [pa, pb, pc]: [QParam, QParam, QParam]): ElementwiseSpec {
  const fop = (k: Kernel) => (op === 'add' ? k.f32.add : k.f32.mul);
  const vop = (k: Kernel) => (op === 'add' ? k.f32x4.add : k.f32x4.mul);
  const dq = (k: Kernel, v: Expr, p: QParam) => k.f32.mul(k.f32.convert_s.i32(p.zp ? k.i32.sub(v, k.c32(p.zp)) : v), k.cf32(p.scale));
  return {
    name: `qlinear-${op}:${qparamKey(pa)}:${qparamKey(pb)}:${qparamKey(pc)}`,
    scalar: (k, [a, b]) => quantizeScalar(k, k.f32.div(fop(k)(dq(k, a, pa), dq(k, b, pb)), k.cf32(pc.scale)), pc.zp, pc.dtype),
    simdBytes(k, [a, b]) {
      const fa = dequantizeQuarters(k, widenBytes(k, a, pa.dtype), pa.zp, pa.scale);
      const fb = dequantizeQuarters(k, widenBytes(k, b, pb.dtype), pb.zp, pb.scale);
      // finite operands (int8 values, finite scales) and a positive divisor: no NaN, the cheaper rounding
      return quantizeQuarters(k, fa.map((x, i) => k.f32x4.div(vop(k)(x, fb[i]), k.f32x4.splat(k.cf32(pc.scale)))), pc.zp, pc.dtype, true);
    },
  };
}

/** The same arithmetic on constant inputs (constant folding). */
function evaluate(op: FloatOp, a: Tensor, b: Tensor, p: [QParam, QParam, QParam], shape: number[]): Tensor {
  const y = makeTensor(p[2].dtype, shape);
  const [sa, sb] = [broadcastStrides(a.shape, shape, 1), broadcastStrides(b.shape, shape, 1)];
  const st = stridesOf(shape);
  for (let i = 0; i < numel(shape); i++) {
    let ia = 0, ib = 0;
    st.forEach((s, d) => { const c = Math.floor(i / s) % shape[d]; ia += c * sa[d]; ib += c * sb[d]; });
    const fa = dequantize(Number(a.data[ia]), p[0]), fb = dequantize(Number(b.data[ib]), p[1]);
    y.data[i] = quantize(op === 'add' ? Math.fround(fa + fb) : Math.fround(fa * fb), p[2]);
  }
  return y;
}

function qlinearBinary(op: 'QLinearAdd' | 'QLinearMul', fop: FloatOp) {
  return defineOp({
    op, domain: 'com.microsoft', since: 1, dtypes: ['int8', 'uint8'],
    notes: 'numpy broadcasting; per-tensor constant scales and zero points; float32 arithmetic as DequantizeLinear -> op -> QuantizeLinear',
    constInputs: [1, 2, 4, 5, 6, 7],
    inPlace: true,
    infer(ctx): TensorInfo[] {
      const p = params(ctx);
      return [{ dtype: p[2].dtype, shape: broadcastOrFail(ctx, [ctx.inputs[0]!, ctx.inputs[3]!]) }];
    },
    evaluate(ctx) {
      const shape = broadcastOrFail(ctx, [ctx.inputs[0]!, ctx.inputs[3]!]);
      return [evaluate(fop, ctx.constInput(0), ctx.constInput(3), params(ctx), shape)];
    },
    emit(ctx) {
      const [a, b] = [ctx.inputs[0]!, ctx.inputs[3]!];
      emitElementwise(ctx, spec(fop, params(ctx)), [a, b]);
    },
  });
}

export const QLinearAdd = qlinearBinary('QLinearAdd', 'add');
export const QLinearMul = qlinearBinary('QLinearMul', 'mul');
