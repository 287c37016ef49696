// Operators that make tensors from attributes and shapes: Constant, ConstantOfShape, EyeLike, Range. They fold
// at compile time; a result too large to fold (past the folding limit) is written at run time instead.

import { ALL_DTYPES, ONNX_DTYPE, fromNumbers, readNumber, type DType } from '../src/ir/dtype.js';
import { makeTensor, numel, type Tensor } from '../src/ir/graph.js';
import { bytesOf, dense, emitCopy, emitFill } from '../codegen/copy.js';
import { defineOp, type AttrReader, type EmitCtx, type InferCtx } from './types.js';
import { constInts } from './move.js';
import { checkedElements, MAX_CONSTANT_BYTES } from '../src/ir/limits.js';
import { nodeLabel } from '../src/errors.js';

/** Writes a tensor computed at compile time into output 0 (for results past the folding limit). */
function emitResult(ctx: EmitCtx<unknown>, t: Tensor): void {
  const y = ctx.outputs[0];
  emitCopy(ctx, y.dtype, ctx.data(bytesOf(t.data)), y.ptr, { shape: y.shape, src: dense(y.shape), dst: dense(y.shape) });
}

// --- Constant ---

/** The constant, or why there is none (reported by infer, which names the node). */
function constantValue(a: AttrReader): Tensor | string {
  const t = a.tensor('value') ?? a.tensor('sparse_value');
  if (t) return t;
  if (a.has('value_float')) return makeTensor('float32', [], Float32Array.of(a.float('value_float')));
  if (a.has('value_floats')) { const v = a.floats('value_floats'); return makeTensor('float32', [v.length], Float32Array.from(v)); }
  if (a.has('value_int')) return makeTensor('int64', [], BigInt64Array.of(BigInt(a.int('value_int'))));
  if (a.has('value_ints')) { const v = a.ints('value_ints'); return makeTensor('int64', [v.length], BigInt64Array.from(v, BigInt)); }
  if (a.has('value_string') || a.has('value_strings')) return 'string constants are not supported';
  return 'no value attribute (value, sparse_value, value_float(s), value_int(s))';
}

export const Constant = defineOp<{ value: Tensor | string }>({
  op: 'Constant', since: 1, dtypes: ALL_DTYPES,
  attrs: (a) => ({ value: constantValue(a) }),
  infer(ctx) {
    const v = ctx.attrs.value;
    return typeof v === 'string' ? ctx.fail(v) : [{ dtype: v.dtype, shape: v.shape }];
  },
  evaluate: (ctx) => [ctx.attrs.value as Tensor],
  emit: (ctx) => emitResult(ctx, ctx.attrs.value as Tensor),
});

// --- ConstantOfShape ---


export const ConstantOfShape = defineOp<{ value: Tensor }>({
  op: 'ConstantOfShape', since: 9, dtypes: ALL_DTYPES, constInputs: [0],
  attrs: (a) => ({ value: a.tensor('value') ?? makeTensor('float32', [1], Float32Array.of(0)) }),
  infer(ctx) {
    if (ctx.attrs.value.data.length !== 1) ctx.fail(`value must have one element, it has ${ctx.attrs.value.data.length}`);
    const shape = constInts(ctx as InferCtx<unknown>, 0, 'shape');
    if (shape.some((d) => d < 0)) ctx.fail(`shape [${shape}] has negative dims`);
    return [{ dtype: ctx.attrs.value.dtype, shape }];
  },
  evaluate(ctx) {
    const { value } = ctx.attrs;
    const shape = constInts(ctx as InferCtx<unknown>, 0, 'shape');
    const data = new (value.data.constructor as new (n: number) => typeof value.data)(numel(shape));
    data.fill(value.data[0] as never);
    return [makeTensor(value.dtype, shape, data)];
  },
  emit(ctx) {
    const y = ctx.outputs[0];
    emitFill(ctx, y.dtype, ctx.attrs.value.data, y.ptr, y.shape);
  },
});

// --- EyeLike: depends only on the input's shape ---

interface EyeAttrs { dtype?: DType; code?: number; k: number }

export const EyeLike = defineOp<EyeAttrs>({
  op: 'EyeLike', since: 9, dtypes: ALL_DTYPES, shapeOnly: true,
  attrs: (a) => {
    const code = a.has('dtype') ? a.int('dtype') : undefined;
    return { code, dtype: code === undefined ? undefined : ONNX_DTYPE[code], k: a.int('k', 0) };
  },
  infer(ctx) {
    const x = ctx.inputs[0]!;
    if (ctx.attrs.code !== undefined && !ctx.attrs.dtype) ctx.fail(`unsupported dtype code ${ctx.attrs.code}`);
    if (x.shape.length !== 2) ctx.fail(`input must be 2-D, it has shape [${x.shape}]`);
    return [{ dtype: ctx.attrs.dtype ?? x.dtype, shape: x.shape }];
  },
  evaluate(ctx) {
    const [rows, cols] = ctx.inputs[0]!.shape;
    const dtype = ctx.attrs.dtype ?? ctx.inputs[0]!.dtype;
    const v = new Array<number>(rows * cols).fill(0);
    const d = diagonal(rows, cols, ctx.attrs.k);
    for (let i = 0; i < d.count; i++) v[d.first + i * (cols + 1)] = 1;
    return [makeTensor(dtype, [rows, cols], fromNumbers(dtype, v))];
  },
  emit(ctx) {
    const y = ctx.outputs[0];
    const [rows, cols] = y.shape;
    emitFill(ctx, y.dtype, fromNumbers(y.dtype, [0]), y.ptr, y.shape);
    const d = diagonal(rows, cols, ctx.attrs.k);
    emitFill(ctx, y.dtype, fromNumbers(y.dtype, [1]), y.ptr, [d.count], { offset: d.first, strides: [cols + 1] });
  },
});

/** The elements [i, i+k] inside a rows x cols matrix: first flat index and how many. */
function diagonal(rows: number, cols: number, k: number): { first: number; count: number } {
  const i0 = Math.max(0, -k);
  const count = Math.max(0, Math.min(rows - i0, cols - (i0 + k)));
  return { first: i0 * cols + i0 + k, count };
}

// --- Range: its output length depends on the values, so they must be constants ---

function rangeTensor(ctx: InferCtx<{ stash: number }>): Tensor {
  const [start, limit, delta] = [0, 1, 2].map((i) => ctx.constInput(i, ['start', 'limit', 'delta'][i]));
  const dtype = start.dtype;
  if (limit.dtype !== dtype || delta.dtype !== dtype) ctx.fail('start, limit and delta must have the same dtype');
  for (const t of [start, limit, delta]) if (t.data.length !== 1) ctx.fail('start, limit and delta must be scalars');
  const [s, l, d] = [start, limit, delta].map((t) => readNumber(dtype, t.data, 0));
  if (d === 0) ctx.fail('delta is 0');
  const n = Math.max(Math.ceil((l - s) / d), 0);
  if (!Number.isFinite(n)) ctx.fail('the range is infinite');
  // The values are computed here and stored in the module: refuse before allocating them.
  checkedElements(dtype, [n], { what: `${nodeLabel(ctx.node, ctx.opset)} output`, node: ctx.node.name, op: ctx.node.opType }, MAX_CONSTANT_BYTES);
  const values = new Array<number>(n);
  if ((dtype === 'float16' || dtype === 'bfloat16') && !ctx.attrs.stash) {
    // Accumulate in the narrow type itself (stash_type = 0).
    let acc = s;
    for (let i = 0; i < n; i++) { values[i] = acc; acc = readNumber(dtype, fromNumbers(dtype, [acc + d]), 0); }
  } else if (dtype === 'float32' || dtype === 'float16' || dtype === 'bfloat16') {
    for (let i = 0; i < n; i++) values[i] = Math.fround(s + Math.fround(i * d));
  } else for (let i = 0; i < n; i++) values[i] = s + i * d;
  return makeTensor(dtype, [n], fromNumbers(dtype, values));
}

export const Range = defineOp<{ stash: number }>({
  op: 'Range', since: 11, dtypes: ['float32', 'float64', 'int16', 'int32', 'int64', 'float16', 'bfloat16'],
  constInputs: [0, 1, 2],
  attrs: (a, opset) => ({ stash: opset >= 27 ? a.int('stash_type', 1) : 1 }),
  infer(ctx) {
    const t = rangeTensor(ctx);
    return [{ dtype: t.dtype, shape: t.shape }];
  },
  evaluate: (ctx) => [rangeTensor(ctx)],
  emit(ctx) {
    // Only reached past the folding limit: the values are still compile-time constants.
    const [s, l, d] = ctx.inputs.map((i) => i!.const!);
    const fake = { ...ctx, inputs: ctx.inputs, constInput: (i: number) => [s, l, d][i] } as unknown as InferCtx<{ stash: number }>;
    emitResult(ctx, rangeTensor(fake));
  },
});
