// The elementwise kernel factory: N inputs broadcast (numpy rules) to one output, any dtypes, a scalar body per
// element and an optional f32x4 body. Dims that are contiguous for every operand are merged, pointers walk the
// loop nest by strides (no index division), and the innermost loop runs 4 lanes at a time when it can.

import type { DType } from '../src/ir/dtype.js';
import { DTYPE_SIZE } from '../src/ir/dtype.js';
import { numel, stridesOf, type Shape } from '../src/ir/graph.js';
import type { EmitCtx, Operand } from '../ops/types.js';
import { computeType, type Expr, type Kernel, type Local } from './wasm.js';

export interface ElementwiseSpec {
  /** Key part naming the computation (with every attribute it depends on), e.g. 'add' or 'clip:0:6'. */
  name: string;
  /** Per element: args in computeType(inputDtypes[i]); returns a value in computeType(outDtype). */
  scalar(k: Kernel, args: Expr[], dtypes: DType[]): Expr;
  /** Optional 4-lane version for float32 in and out: args and result are f32x4 v128 values. */
  simd?(k: Kernel, args: Expr[]): Expr;
  /** Optional 16-lane version for 1-byte dtypes in and out (int8 kernels): args and result are i8x16 v128 values. */
  simdBytes?(k: Kernel, args: Expr[]): Expr;
}

/** numpy-style broadcast of shapes; undefined when incompatible. */
export function broadcastShapes(shapes: readonly Shape[]): Shape | undefined {
  const rank = Math.max(0, ...shapes.map((s) => s.length));
  const out: number[] = [];
  for (let i = 0; i < rank; i++) {
    let d = 1;
    for (const s of shapes) {
      const x = s[s.length - rank + i] ?? 1;
      if (x === 1) continue;
      if (d !== 1 && d !== x) return undefined;
      d = x;
    }
    // A zero-sized dim broadcasts only with 1 or 0.
    out.push(shapes.some((s) => (s[s.length - rank + i] ?? 1) === 0) ? 0 : d);
  }
  return out;
}

/** Byte strides of `shape` viewed as broadcast to `outShape` (0 where broadcast). */
export function broadcastStrides(shape: Shape, outShape: Shape, elemBytes: number): number[] {
  const st = stridesOf(shape);
  const off = outShape.length - shape.length;
  return outShape.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : st[i - off] * elemBytes));
}

/** Merge adjacent dims that every operand walks contiguously; drop size-1 dims. */
export function collapseDims(shape: Shape, strides: number[][]): { shape: Shape; strides: number[][] } {
  const dims: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < shape.length; d++) {
    if (shape[d] === 1) continue;
    const last = dims.length - 1;
    if (last >= 0 && strides.every((s, j) => st[j][last] === s[d] * shape[d])) {
      dims[last] *= shape[d];
      strides.forEach((s, j) => (st[j][last] = s[d]));
    } else {
      dims.push(shape[d]);
      strides.forEach((s, j) => st[j].push(s[d]));
    }
  }
  return { shape: dims, strides: st };
}

/**
 * Builds a loop nest over `shape` moving one pointer per operand by its byte strides;
 * body(ptrs, vector) emits the work for one element (or `lanes` elements when vector is true).
 * vectorize: the innermost loop goes `lanes` (4 f32, or 16 bytes) elements at a time with a scalar tail.
 */
export function stridedLoop(
  k: Kernel, shape: Shape, strides: number[][], ptrs: Local[],
  body: (vector: boolean) => Expr[], vectorize: boolean, lanes = 4,
): Expr {
  const D = shape.length;
  if (D === 0) return k.block(body(false));
  const advance = (d: number, scale = 1) =>
    ptrs.map((p, j) => (strides[j][d] * scale ? p.set(k.i32.add(p.get(), k.c32(strides[j][d] * scale))) : k.nop()));
  const level = (d: number): Expr => {
    if (d === D - 1) {
      const n = shape[d];
      if (vectorize && n >= lanes) {
        const nv = n - (n % lanes);
        const stmts: Expr[] = [k.loop(0, nv, () => [...body(true), ...advance(d, lanes)], lanes)];
        if (nv < n) stmts.push(k.loop(nv, n, () => [...body(false), ...advance(d)]));
        return k.block(stmts);
      }
      return k.loop(0, n, () => [...body(false), ...advance(d)]);
    }
    // After the inner loops the pointers moved shape[d+1]*stride[d+1]; correct to one step of stride[d].
    const fix = ptrs.map((p, j) => {
      const delta = strides[j][d] - shape[d + 1] * strides[j][d + 1];
      return delta ? p.set(k.i32.add(p.get(), k.c32(delta))) : k.nop();
    });
    return k.loop(0, shape[d], () => [level(d + 1), ...fix]);
  };
  return level(0);
}

/** Emits an elementwise node: inputs (all present operands, in order) broadcast to outputs[0]. */
export function emitElementwise(ctx: EmitCtx<unknown>, spec: ElementwiseSpec, operands?: Operand[], out?: Operand): void {
  const ins = operands ?? (ctx.inputs.filter(Boolean) as Operand[]);
  const y = out ?? ctx.outputs[0];
  const fn = elementwiseKernel(ctx, spec, ins.map((o) => ({ dtype: o.dtype, shape: o.shape })), { dtype: y.dtype, shape: y.shape });
  if (fn) ctx.call(fn, [...ins.map((o) => o.ptr), y.ptr]);
}

export function elementwiseKernel(
  ctx: EmitCtx<unknown>, spec: ElementwiseSpec,
  ins: { dtype: DType; shape: Shape }[], out: { dtype: DType; shape: Shape },
): string | undefined {
  if (numel(out.shape) === 0) return undefined;
  const strides = [
    ...ins.map((o) => broadcastStrides(o.shape, out.shape, DTYPE_SIZE[o.dtype])),
    broadcastStrides(out.shape, out.shape, DTYPE_SIZE[out.dtype]),
  ];
  const c = collapseDims(out.shape, strides);
  const allF32 = out.dtype === 'float32' && ins.every((o) => o.dtype === 'float32');
  const allBytes = DTYPE_SIZE[out.dtype] === 1 && ins.every((o) => DTYPE_SIZE[o.dtype] === 1);
  const lanes = spec.simd && allF32 ? 4 : spec.simdBytes && allBytes ? 16 : 0;
  const inner = c.shape.length - 1;
  const elem = lanes === 16 ? 1 : 4;
  const vectorize = ctx.target === 'simd' && lanes > 0 && inner >= 0 &&
    c.strides.every((s, j) => s[inner] === elem || (s[inner] === 0 && j < ins.length));
  const key = `ew:${spec.name}:${ins.map((o) => o.dtype).join(',')}>${out.dtype}:${c.shape}:${c.strides.map((s) => s.join('.')).join('/')}:${vectorize}`;
  const dtypes = ins.map((o) => o.dtype);
  return ctx.kernel(key, [...ins.map(() => 'i32' as const), 'i32'], (k) => {
    const ptrs = k.params;
    const yPtr = ptrs[ptrs.length - 1];
    const body = (vector: boolean): Expr[] => {
      if (vector && lanes === 16) {
        const args = ins.map((_, j) => (c.strides[j][inner] === 0 ? k.v128.load8_splat(0, 1, ptrs[j].get()) : k.v128.load(0, 1, ptrs[j].get())));
        return [k.v128.store(0, 1, yPtr.get(), spec.simdBytes!(k, args))];
      }
      if (vector) {
        const args = ins.map((_, j) => (c.strides[j][inner] === 0 ? k.v128.load32_splat(0, 4, ptrs[j].get()) : k.v128.load(0, 4, ptrs[j].get())));
        return [k.v128.store(0, 4, yPtr.get(), spec.simd!(k, args))];
      }
      const args = ins.map((o, j) => k.load(o.dtype, ptrs[j].get()));
      return [k.store(out.dtype, yPtr.get(), spec.scalar(k, args, dtypes))];
    };
    return [stridedLoop(k, c.shape, c.strides, ptrs, body, vectorize, lanes || 4)];
  });
}

/** The compute type for a dtype, re-exported for op files. */
export { computeType };
