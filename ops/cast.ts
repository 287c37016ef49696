// Cast and CastLike between every supported dtype pair (float16/bfloat16 through float32; float -> int truncates,
// saturating at the integer range; ints wrap; x -> bool is x != 0). `saturate` only concerns float8 types.

import { emitElementwise } from '../codegen/elementwise.js';
import { ALL_DTYPES, ONNX_DTYPE, ONNX_UNSUPPORTED_DTYPE, type DType } from '../src/ir/dtype.js';
import { defineOp, type EmitCtx } from './types.js';
import { CompileError, nodeLabel } from '../src/errors.js';
import { foldInts } from './elementwise-fold.js';

/** Cast-1 names its target with a string. */
const TYPE_NAMES: Record<string, DType> = {
  FLOAT: 'float32', DOUBLE: 'float64', FLOAT16: 'float16', BFLOAT16: 'bfloat16', INT8: 'int8', INT16: 'int16',
  INT32: 'int32', INT64: 'int64', UINT8: 'uint8', UINT16: 'uint16', UINT32: 'uint32', UINT64: 'uint64', BOOL: 'bool',
};

function emitCast(ctx: EmitCtx<unknown>): void {
  const to = ctx.outputs[0].dtype;
  emitElementwise(ctx, { name: `cast>${to}`, scalar: (k, [x], [from]) => k.cast(x, from, to) }, [ctx.inputs[0]!]);
}

export const Cast = defineOp<{ to: DType }>({
  op: 'Cast', since: 1, dtypes: ALL_DTYPES, elementwise: true,
  attrs(a, opset, node) {
    const raw = a.raw('to');
    if (typeof raw === 'string') {
      const dt = TYPE_NAMES[raw.toUpperCase()];
      if (!dt) throw new Error(`Cast to ${raw} is not supported`);
      return { to: dt };
    }
    const code = a.int('to');
    const dt = ONNX_DTYPE[code];
    if (!dt && ONNX_UNSUPPORTED_DTYPE[code] && code !== 0) {
      throw new CompileError('UNSUPPORTED_DTYPE', `${nodeLabel(node, opset)}: Cast to ${ONNX_UNSUPPORTED_DTYPE[code]} is not supported`, { node: node.name, op: node.opType });
    }
    if (!dt) throw new Error(`to = ${code} is not an ONNX element type`);
    return { to: dt };
  },
  infer(ctx) {
    const x = ctx.inputs[0];
    if (!x) ctx.fail('input is required');
    return [{ dtype: ctx.attrs.to, shape: x!.shape }];
  },
  evaluate: (ctx) => foldInts(ctx, ctx.attrs.to, ([x]) => x),
  emit: emitCast,
});

export const CastLike = defineOp({
  op: 'CastLike', since: 15, dtypes: ALL_DTYPES,
  infer(ctx) {
    const [x, like] = ctx.inputs;
    if (!x || !like) ctx.fail('needs input and target_type');
    return [{ dtype: like!.dtype, shape: x!.shape }];
  },
  evaluate: (ctx) => foldInts(ctx, ctx.inputs[1]!.dtype, ([x]) => x, [ctx.inputs[0]!]),
  emit: emitCast,
});
