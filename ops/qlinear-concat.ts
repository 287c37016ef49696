// com.microsoft::QLinearConcat (Y_scale, Y_zero_point, then (X, X_scale, X_zero_point) per input; axis). Each
// input fills its slab of the output: as bytes when its scale and zero point are the output's, otherwise through
// the requantizing lookup table (quantize(dequantize(x)) for the 256 byte values, in the spec's float32 arithmetic).

import { dense, emitCopy } from '../codegen/copy.js';
import { numel, stridesOf } from '../src/ir/graph.js';
import { normAxis, type OpCtx } from './move.js';
import { callLookup, lookupTable } from './qlinear-lookup.js';
import { qparam, sameQParam, type QParam } from './qparams.js';
import { defineOp, type InferCtx, type TensorInfo } from './types.js';

interface ConcatAttrs { axis: number }

function layout(ctx: OpCtx<ConcatAttrs> | InferCtx<ConcatAttrs>) {
  const n = ctx.inputs.length;
  if (n < 5 || (n - 2) % 3 !== 0) ctx.fail(`needs Y_scale, Y_zero_point and (X, X_scale, X_zero_point) triples, not ${n} inputs`);
  const xs = Array.from({ length: (n - 2) / 3 }, (_, i) => 2 + 3 * i);
  const first = ctx.inputs[xs[0]];
  if (!first) ctx.fail('input 2 (the first X) is missing');
  const dtype = first!.dtype;
  const y: QParam = qparam(ctx, 0, 1, dtype, 'Y');
  const rank = first!.shape.length;
  const axis = normAxis(ctx, ctx.attrs.axis, rank);
  const parts = xs.map((i) => {
    const x = ctx.inputs[i];
    if (!x) ctx.fail(`input ${i} (X) is missing`);
    if (x!.dtype !== dtype) ctx.fail(`inputs have different types (${dtype}, ${x!.dtype})`);
    if (x!.shape.length !== rank || x!.shape.some((d, j) => j !== axis && d !== first!.shape[j])) {
      ctx.fail(`input shapes ${xs.map((j) => `[${ctx.inputs[j]?.shape}]`).join(', ')} do not match outside axis ${axis}`);
    }
    return { index: i, shape: x!.shape, q: qparam(ctx, i + 1, i + 2, dtype, 'X') };
  });
  const shape = [...first!.shape];
  shape[axis] = parts.reduce((s, p) => s + p.shape[axis], 0);
  return { dtype, y, axis, shape, parts };
}

export const QLinearConcat = defineOp<ConcatAttrs>({
  op: 'QLinearConcat', domain: 'com.microsoft', since: 1, dtypes: ['int8', 'uint8'],
  notes: 'per-tensor constant scales and zero points; inputs quantized like the output are copied as bytes, others requantized through a lookup table',
  attrs: (a) => ({ axis: a.int('axis') }),
  infer(ctx): TensorInfo[] {
    const l = layout(ctx);
    return [{ dtype: l.dtype, shape: l.shape }];
  },
  emit(ctx) {
    const l = layout(ctx);
    const y = ctx.outputs[0];
    const st = stridesOf(l.shape);
    const outer = numel(l.shape.slice(0, l.axis));
    let at = 0;
    for (const p of l.parts) {
      const x = ctx.inputs[p.index]!;
      const offset = at * st[l.axis];
      at += p.shape[l.axis];
      if (!numel(p.shape)) continue;
      if (sameQParam(p.q, l.y)) {
        emitCopy(ctx, l.dtype, x.ptr, y.ptr, { shape: p.shape, src: dense(p.shape), dst: { offset, strides: st } });
        continue;
      }
      const len = numel(p.shape.slice(l.axis));
      const table = lookupTable(p.q.scale, p.q.zp, p.q.dtype, l.y.scale, l.y.zp, l.y.dtype, (v) => v);
      callLookup(ctx, x.ptr, y.ptr + offset, table, outer, len, len, st[l.axis] * l.shape[l.axis]);
    }
  },
});
