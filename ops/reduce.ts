// Reduce* operators: Sum, Mean, Max, Min, Prod, L1, L2, LogSum, LogSumExp, SumSquare.
// axes is an attribute before opset 13 (ReduceSum) / 18 (the others) and a constant input after; an empty
// axes list reduces everything unless noop_with_empty_axes is set, in which case only the element-wise
// part (abs, square, log...) remains. Reducing an empty set gives the reduction's identity.

import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { FLOATS, type DType } from '../src/ir/dtype.js';
import { numel, tensorNumbers } from '../src/ir/graph.js';
import { abs, add, divByCount, extremeValue, mathFn, maxOf, mul, normalizeAxes, reduceKernel, reducedShape, toF64, type Reducer } from './reduce-kernel.js';
import { defineOp, type InferCtx, type OpDef, type TensorInfo } from './types.js';

interface ReduceAttrs { keepdims: boolean; noop: boolean; axesAttr?: number[] }

type AxesCtx = Pick<InferCtx<ReduceAttrs>, 'attrs' | 'fail' | 'node' | 'opset'> & {
  inputs: ({ dtype: DType; shape: number[]; const?: { data: ArrayLike<unknown>; dtype: DType; shape: number[] } } | undefined)[];
};

/** The normalized reduced axes (attribute or constant input), applying noop_with_empty_axes. */
function reducedAxes(ctx: AxesCtx): number[] {
  const rank = ctx.inputs[0]!.shape.length;
  let axes = ctx.attrs.axesAttr;
  if (axes === undefined) {
    const a = ctx.inputs[1];
    if (a) {
      if (!a.const) (ctx as InferCtx<ReduceAttrs>).constInput(1, 'axes');
      axes = tensorNumbers(a.const as never);
    } else axes = [];
  }
  if (!axes.length) return ctx.attrs.noop ? [] : [...Array(rank).keys()];
  return normalizeAxes(ctx as never, axes, rank);
}

const I32_64: DType[] = ['int32', 'int64', 'uint32', 'uint64'];

/** A 0/1 attribute; runtimes disagree on other values (onnxruntime narrows them to 32 bits), so they are refused. */
function flag(v: number, name: string): boolean {
  if (v !== 0 && v !== 1) throw new Error(`attribute ${name} must be 0 or 1, got ${v}`);
  return v === 1;
}

function reduceOp(op: string, since: number, until: number | undefined, axesInputSince: number, reducer: Reducer, dtypes: DType[]): OpDef<ReduceAttrs> {
  return defineOp<ReduceAttrs>({
    op, since, until, dtypes,
    notes: 'keepdims and noop_with_empty_axes other than 0 or 1 are refused (INVALID_MODEL): runtimes read them differently',
    attrs: (a, opset) => ({
      keepdims: flag(a.int('keepdims', 1), 'keepdims'),
      noop: opset >= axesInputSince && flag(a.int('noop_with_empty_axes', 0), 'noop_with_empty_axes'),
      axesAttr: opset >= axesInputSince ? undefined : a.ints('axes', []),
    }),
    infer(ctx): TensorInfo[] {
      const x = ctx.inputs[0]!;
      if (!dtypes.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported`);
      if (ctx.inputs[1]) ctx.constInput(1, 'axes');
      return [{ dtype: x.dtype, shape: reducedShape(x.shape, reducedAxes(ctx), ctx.attrs.keepdims) }];
    },
    emit(ctx) {
      const x = ctx.inputs[0]!;
      const fn = reduceKernel(ctx, reducer, x.dtype, x.shape, reducedAxes(ctx));
      if (fn && numel(ctx.outputs[0].shape)) ctx.call(fn, [x.ptr, ctx.outputs[0].ptr]);
    },
  });
}

const zero = (k: Kernel, dt: DType) => k.const(computeType(dt), 0);
const sum = (k: Kernel, dt: DType, a: Expr, b: Expr) => add(k, computeType(dt), a, b);
const square = (k: Kernel, dt: DType, x: Expr) => {
  const l = k.local(computeType(dt));
  return mul(k, computeType(dt), l.tee(x), l.get());
};
const squareLanes = (k: Kernel, x: Expr) => {
  const l = k.local('v128');
  return k.f32x4.mul(l.tee(x), l.get());
};
/** f(result) computed in floating point for float dtypes, in f64 then truncated for integers. */
function floatFinish(k: Kernel, dt: DType, v: Expr, f: (x: Expr, t: 'f32' | 'f64') => Expr): Expr {
  const t = computeType(dt);
  if (t === 'f32' || t === 'f64') return f(v, t);
  return k.cast(f(toF64(k, dt, v), 'f64'), 'float64', dt);
}
const sqrt = (k: Kernel, x: Expr, t: 'f32' | 'f64') => (t === 'f32' ? k.f32.sqrt(x) : k.f64.sqrt(x));

const SUM: Reducer = {
  name: 'sum', init: zero, combine: sum,
  simd: { combine: (k, a, b) => k.f32x4.add(a, b) },
};
const MEAN: Reducer = {
  ...SUM, name: 'mean',
  finish: (k, dt, acc, n) => divByCount(k, dt, acc, n),
  simd: { combine: (k, a, b) => k.f32x4.add(a, b), finish: (k, v, n) => (n ? k.f32x4.div(v, k.f32x4.splat(k.cf32(n))) : v) },
};
const MAX: Reducer = {
  name: 'max', init: (k, dt) => extremeValue(k, dt, true), combine: (k, dt, a, b) => maxOf(k, dt, a, b),
  simd: { combine: (k, a, b) => k.f32x4.max(a, b) },
};
const MIN: Reducer = {
  name: 'min', init: (k, dt) => extremeValue(k, dt, false), combine: (k, dt, a, b) => maxOf(k, dt, a, b, true),
  simd: { combine: (k, a, b) => k.f32x4.min(a, b) },
};
const PROD: Reducer = {
  name: 'prod', init: (k, dt) => k.const(computeType(dt), 1), combine: (k, dt, a, b) => mul(k, computeType(dt), a, b),
  simd: { combine: (k, a, b) => k.f32x4.mul(a, b) },
};
const L1: Reducer = {
  name: 'l1', init: zero, map: abs, combine: sum,
  simd: { map: (k, x) => k.f32x4.abs(x), combine: (k, a, b) => k.f32x4.add(a, b) },
};
const SUM_SQUARE: Reducer = {
  name: 'sumsq', init: zero, map: square, combine: sum,
  simd: { map: squareLanes, combine: (k, a, b) => k.f32x4.add(a, b) },
};
const L2: Reducer = {
  ...SUM_SQUARE, name: 'l2',
  finish: (k, dt, acc) => floatFinish(k, dt, acc, (x, t) => sqrt(k, x, t)),
  simd: { ...SUM_SQUARE.simd!, finish: (k, v) => k.f32x4.sqrt(v) },
};
const LOG_SUM: Reducer = {
  name: 'logsum', init: zero, combine: sum,
  finish: (k, dt, acc) => floatFinish(k, dt, acc, (x, t) => mathFn(k, 'log', t, x)),
};
/** Integers follow onnxruntime: each exp(x - max) truncated to the integer type, then trunc(log(sum) + max). */
const LOG_SUM_EXP: Reducer = {
  name: 'logsumexp', init: zero, combine: sum, shiftByMax: true,
  map: (k, dt, x) => floatFinish(k, dt, x, (v, t) => mathFn(k, 'exp', t, v)),
  // log(sum exp(x - m)) + m; when m is infinite (empty set, all -inf, or +inf present) the result is m.
  finishShifted(k, dt, acc, m) {
    const t = computeType(dt);
    if (t !== 'f32' && t !== 'f64') return k.cast(k.f64.add(mathFn(k, 'log', 'f64', toF64(k, dt, acc)), toF64(k, dt, m)), 'float64', dt);
    const ml = k.local(t);
    const ns = t === 'f32' ? k.f32 : k.f64;
    const finite = ns.eq(ns.sub(ml.get(), ml.get()), k.const(t, 0));
    return k.block([ml.set(m), k.select(finite, ns.add(mathFn(k, 'log', t, acc), ml.get()), ml.get())], t);
  },
};

export { MEAN as MEAN_REDUCER, MAX as MAX_REDUCER, L1 as L1_REDUCER, L2 as L2_REDUCER, SUM_SQUARE as SUM_SQUARE_REDUCER };

const NUM = [...FLOATS, ...I32_64];
const NUM8 = [...NUM, 'int8', 'uint8'] as DType[];

/** One OpDef per semantic range: axes attribute before `axesInputSince`, input from it on. */
function family(op: string, reducer: Reducer, axesInputSince: number, dtypes: (opset: number) => DType[]): OpDef<ReduceAttrs>[] {
  return [
    reduceOp(op, 1, axesInputSince - 1, axesInputSince, reducer, dtypes(1)),
    reduceOp(op, axesInputSince, undefined, axesInputSince, reducer, dtypes(axesInputSince)),
  ];
}

export const ReduceSum = family('ReduceSum', SUM, 13, () => NUM);
export const ReduceMean = family('ReduceMean', MEAN, 18, () => NUM);
export const ReduceMax = family('ReduceMax', MAX, 18, (v) => (v >= 18 ? [...NUM8, 'bool'] : NUM8));
export const ReduceMin = family('ReduceMin', MIN, 18, (v) => (v >= 18 ? [...NUM8, 'bool'] : NUM8));
export const ReduceProd = family('ReduceProd', PROD, 18, () => NUM);
export const ReduceL1 = family('ReduceL1', L1, 18, () => NUM);
export const ReduceL2 = family('ReduceL2', L2, 18, () => NUM);
export const ReduceLogSum = family('ReduceLogSum', LOG_SUM, 18, () => NUM);
export const ReduceLogSumExp = family('ReduceLogSumExp', LOG_SUM_EXP, 18, () => NUM);
export const ReduceSumSquare = family('ReduceSumSquare', SUM_SQUARE, 18, () => NUM);
