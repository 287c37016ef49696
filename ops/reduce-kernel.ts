// Shared pieces of the reduction family (Reduce*, normalizations, pooling, softmax): axis handling, typed
// scalar arithmetic on compute values, dtype identities, and the generic reduction kernel.
//
// The reduction kernel collapses the input into alternating runs of kept and reduced dims, walks the kept
// dims with one pointer pair (input base, output), and for each output element walks the reduced dims.
// float32 gets two SIMD shapes: 4 lanes along a contiguous reduced run (sum over the last axis), or 4
// adjacent outputs at once when the innermost run is kept (sum over a channel axis).

import { stridedLoop } from '../codegen/elementwise.js';
import { callExp, callMath, simdExp } from '../codegen/mathlib.js';
import { computeType, type Expr, type Kernel, type Local, type WType } from '../codegen/wasm.js';
import { DTYPE_SIZE, type DType } from '../src/ir/dtype.js';
import { stridesOf, type Shape } from '../src/ir/graph.js';
import type { BaseCtx } from './types.js';

// --- axes ---

/** An axis in [-r, r-1] made non-negative; anything else is an invalid model. */
export function normalizeAxis(ctx: BaseCtx<unknown>, axis: number, rank: number, what = 'axis'): number {
  const r = Math.max(rank, 1);
  if (axis < -r || axis >= r) ctx.fail(`${what} ${axis} is out of range for rank ${rank}`);
  return axis < 0 ? axis + r : axis;
}

export function normalizeAxes(ctx: BaseCtx<unknown>, axes: number[], rank: number): number[] {
  const out = axes.map((a) => normalizeAxis(ctx, a, rank, 'axes value'));
  if (new Set(out).size !== out.length) ctx.fail(`axes [${axes}] repeat an axis`);
  return out.sort((a, b) => a - b);
}

/** Shape after reducing `axes` (kept as 1 or dropped). */
export function reducedShape(shape: Shape, axes: number[], keepdims: boolean): Shape {
  const set = new Set(axes);
  return keepdims ? shape.map((d, i) => (set.has(i) ? 1 : d)) : shape.filter((_, i) => !set.has(i));
}

/** Splits a shape around one axis: [product before, the axis, product after]. */
export function splitAt(shape: Shape, axis: number): [number, number, number] {
  const outer = shape.slice(0, axis).reduce((a, b) => a * b, 1);
  const inner = shape.slice(axis + 1).reduce((a, b) => a * b, 1);
  return [outer, shape[axis] ?? 1, inner];
}

// --- typed scalar arithmetic on compute values (wasm type t; unsigned dtypes compare unsigned) ---

const isUnsigned = (dt: DType) => dt.startsWith('uint') || dt === 'bool';

export function add(k: Kernel, t: WType, a: Expr, b: Expr): Expr {
  return t === 'f32' ? k.f32.add(a, b) : t === 'f64' ? k.f64.add(a, b) : t === 'i64' ? k.i64.add(a, b) : k.i32.add(a, b);
}
export function sub(k: Kernel, t: WType, a: Expr, b: Expr): Expr {
  return t === 'f32' ? k.f32.sub(a, b) : t === 'f64' ? k.f64.sub(a, b) : t === 'i64' ? k.i64.sub(a, b) : k.i32.sub(a, b);
}
export function mul(k: Kernel, t: WType, a: Expr, b: Expr): Expr {
  return t === 'f32' ? k.f32.mul(a, b) : t === 'f64' ? k.f64.mul(a, b) : t === 'i64' ? k.i64.mul(a, b) : k.i32.mul(a, b);
}

/** a > b in dtype dt's order (floats: false when either is NaN). */
export function greater(k: Kernel, dt: DType, a: Expr, b: Expr): Expr {
  const t = computeType(dt);
  const u = isUnsigned(dt);
  if (t === 'f32') return k.f32.gt(a, b);
  if (t === 'f64') return k.f64.gt(a, b);
  if (t === 'i64') return u ? k.i64.gt_u(a, b) : k.i64.gt_s(a, b);
  return u ? k.i32.gt_u(a, b) : k.i32.gt_s(a, b);
}

/** max/min of two compute values; floats propagate NaN like wasm's f32.max. */
export function maxOf(k: Kernel, dt: DType, a: Expr, b: Expr, takeMin = false): Expr {
  const t = computeType(dt);
  if (t === 'f32') return takeMin ? k.f32.min(a, b) : k.f32.max(a, b);
  if (t === 'f64') return takeMin ? k.f64.min(a, b) : k.f64.max(a, b);
  // select evaluates its arms before the condition: set the locals first.
  const la = k.local(t), lb = k.local(t);
  const gt = greater(k, dt, la.get(), lb.get());
  return k.block([la.set(a), lb.set(b), takeMin ? k.select(gt, lb.get(), la.get()) : k.select(gt, la.get(), lb.get())], t);
}

export function abs(k: Kernel, dt: DType, x: Expr): Expr {
  const t = computeType(dt);
  if (t === 'f32') return k.f32.abs(x);
  if (t === 'f64') return k.f64.abs(x);
  if (isUnsigned(dt)) return x;
  const l = k.local(t);
  if (t === 'i64') return k.block([l.set(x), k.select(k.i64.lt_s(l.get(), k.c64(0)), k.i64.sub(k.c64(0), l.get()), l.get())], t);
  return k.block([l.set(x), k.select(k.i32.lt_s(l.get(), k.c32(0)), k.i32.sub(k.c32(0), l.get()), l.get())], t);
}

/** The smallest (lowest=true) or largest value of a dtype, as a compute constant (floats: -/+inf). */
export function extremeValue(k: Kernel, dt: DType, lowest: boolean): Expr {
  const t = computeType(dt);
  if (t === 'f32' || t === 'f64') return k.const(t, lowest ? -Infinity : Infinity);
  const bits = DTYPE_SIZE[dt] * 8;
  if (dt === 'bool') return k.c32(lowest ? 0 : 1);
  if (isUnsigned(dt)) {
    if (lowest) return k.const(t, 0);
    return t === 'i64' ? k.c64(-1) : k.c32(bits === 32 ? -1 : 2 ** bits - 1);
  }
  if (t === 'i64') return k.c64(lowest ? -(2n ** 63n) : 2n ** 63n - 1n);
  return k.c32(lowest ? -(2 ** (bits - 1)) : 2 ** (bits - 1) - 1);
}

/** A compute value converted to f64 (for sqrt/log of integer results). */
export function toF64(k: Kernel, dt: DType, x: Expr): Expr {
  return k.cast(x, dt, 'float64');
}

/** Integer or float division by a static count (count 0 gives 0, and no integer trap). */
export function divByCount(k: Kernel, dt: DType, x: Expr, count: number): Expr {
  const t = computeType(dt);
  // The mean of an empty set is 0 (as onnxruntime computes it), not 0/0.
  if (count === 0) return k.block([k.drop(x), k.const(t, 0)], t);
  if (t === 'f32') return k.f32.div(x, k.cf32(count));
  if (t === 'f64') return k.f64.div(x, k.cf64(count));
  const u = isUnsigned(dt);
  if (t === 'i64') return u ? k.i64.div_u(x, k.c64(count)) : k.i64.div_s(x, k.c64(count));
  return k.normalize(u ? k.i32.div_u(x, k.c32(count)) : k.i32.div_s(x, k.c32(count)), dt);
}

/** The 4 lanes of an f32x4 folded into a scalar with op, combined with acc. */
export function foldLanes(k: Kernel, v: Local, acc: Expr, op: (a: Expr, b: Expr) => Expr): Expr {
  const lane = (i: number) => k.f32x4.extract_lane(v.get(), i);
  return op(acc, op(op(lane(0), lane(1)), op(lane(2), lane(3))));
}

/**
 * for (i = from; i < to; i++) with bounds computed at run time. (Kernel.for cannot tell an Expr from a static
 * bound: both are numbers.)
 */

// --- the generic reduction kernel ---

export interface Reducer {
  /** Key part naming the reduction (with anything its body depends on). */
  name: string;
  /** Accumulator's starting value (the identity of combine), in computeType(dt). */
  init(k: Kernel, dt: DType): Expr;
  /** Each element before combining (abs, square...). */
  map?(k: Kernel, dt: DType, x: Expr): Expr;
  combine(k: Kernel, dt: DType, acc: Expr, x: Expr): Expr;
  /** The accumulator to the output value (in computeType(dt)); count is the number of reduced elements. */
  finish?(k: Kernel, dt: DType, acc: Expr, count: number): Expr;
  /** float32 lanes: given when every step has a vector form. */
  simd?: {
    map?(k: Kernel, x: Expr): Expr;
    combine(k: Kernel, acc: Expr, x: Expr): Expr;
    finish?(k: Kernel, acc: Expr, count: number): Expr;
  };
  /**
   * Two passes (log-sum-exp): first the max over the same elements, then map(x - max) is summed and
   * finish receives the max as well.
   */
  shiftByMax?: boolean;
  finishShifted?(k: Kernel, dt: DType, acc: Expr, max: Expr): Expr;
}

interface Run { n: number; stride: number; reduced: boolean }

/** Elements per block of a long vectorized reduction (see reduceKernel). */
const REDUCE_BLOCK = 1024;

/** Input dims as maximal runs of kept or reduced dims (size-1 dims dropped), with element strides. */
function collapseRuns(shape: Shape, axes: number[]): Run[] {
  const set = new Set(axes);
  const st = stridesOf(shape);
  const runs: Run[] = [];
  shape.forEach((n, i) => {
    if (n === 1) return;
    const reduced = set.has(i);
    const last = runs[runs.length - 1];
    if (last && last.reduced === reduced) { last.n *= n; last.stride = st[i]; } else runs.push({ n, stride: st[i], reduced });
  });
  return runs;
}

/**
 * Kernel fn(x, y): y = reduce(x over axes). The output is the kept dims in order (keepdims only changes
 * the shape, not the layout). Returns undefined when the output is empty.
 */
export function reduceKernel(
  ctx: { target: string; kernel(key: string, params: WType[], build: (k: Kernel) => Expr | Expr[]): string },
  r: Reducer, dt: DType, shape: Shape, axes: number[],
): string | undefined {
  const runs = collapseRuns(shape, axes);
  if (shape.some((d, i) => d === 0 && !axes.includes(i))) return undefined;
  const kept = runs.filter((x) => !x.reduced);
  const red = runs.filter((x) => x.reduced);
  const count = shape.reduce((a, d, i) => (axes.includes(i) ? a * d : a), 1);
  const esz = DTYPE_SIZE[dt];
  const t = computeType(dt);
  const keptStrides = stridesOf(kept.map((x) => x.n));
  const last = runs[runs.length - 1];
  const f32simd = ctx.target === 'simd' && dt === 'float32' && !!r.simd && !r.shiftByMax;
  // 4 outputs at a time: the innermost run is kept (contiguous in x and y).
  const vecOut = f32simd && !!last && !last.reduced && last.n >= 4 && red.length > 0 && (!r.finish || !!r.simd!.finish);
  // 4 lanes along the innermost reduced run.
  const vecRed = f32simd && !vecOut && !!last && last.reduced && last.n >= 8;
  const key = `reduce:${r.name}:${dt}:${runs.map((x) => `${x.reduced ? 'r' : 'k'}${x.n}.${x.stride}`).join(',')}:${vecOut}:${vecRed}`;
  return ctx.kernel(key, ['i32', 'i32'], (k) => {
    const [xBase, y] = k.params;
    const p = k.local('i32');
    const acc = k.local(t);
    const redShape = red.map((x) => x.n);
    const redStrides = [red.map((x) => x.stride * esz)];
    const walk = (body: (vector: boolean) => Expr[], vectorize = false) => [p.set(xBase.get()), stridedLoop(k, redShape, redStrides, [p], body, vectorize)];
    const mapped = (x: Expr, d: DType) => (r.map ? r.map(k, d, x) : x);

    const scalarOne = (): Expr[] => {
      const stmts: Expr[] = [];
      let shift: Local | undefined;
      if (r.shiftByMax) {
        shift = k.local(t);
        stmts.push(shift.set(extremeValue(k, dt, true)),
          ...walk(() => [shift!.set(maxOf(k, dt, shift!.get(), k.load(dt, p.get())))]));
      }
      stmts.push(acc.set(r.init(k, dt)));
      if (vecRed) {
        // Two vector accumulators hide the add latency; lanes are folded once at the end.
        const v = k.local('v128');
        const s = r.simd!;
        const vmap = (e: Expr) => (s.map ? s.map(k, e) : e);
        const n = last.n, n8 = n - (n % 8);
        const innerRed: Run[] = red.slice(0, -1);
        const v2 = k.local('v128');
        const q = k.local('i32');
        const eight = () => [
          v.set(s.combine(k, v.get(), vmap(k.v128.load(0, 4, q.get())))),
          v2.set(s.combine(k, v2.get(), vmap(k.v128.load(16, 4, q.get())))),
          q.set(k.i32.add(q.get(), k.c32(32))),
        ];
        // A long row is summed in blocks whose partial results are combined into `total`: a two-level sum whose
        // float32 error grows with BLOCK + n / BLOCK rather than with n (a mean over a million elements).
        const blocks = Math.floor(n8 / REDUCE_BLOCK);
        const total = k.local('v128');
        const foldBlock = () => [total.set(s.combine(k, total.get(), s.combine(k, v.get(), v2.get()))), v.set(k.f32x4.splat(r.init(k, dt))), v2.set(k.f32x4.splat(r.init(k, dt)))];
        const row = (): Expr[] => [
          q.set(p.get()),
          ...(blocks > 1 ? [k.loop(0, blocks, () => [k.loop(0, REDUCE_BLOCK, eight, 8), ...foldBlock()])] : []),
          k.loop(blocks > 1 ? blocks * REDUCE_BLOCK : 0, n8, eight, 8),
          k.loop(n8, n, () => [acc.set(r.combine(k, dt, acc.get(), mapped(k.f32.load(0, 4, q.get()), dt))), q.set(k.i32.add(q.get(), k.c32(4)))]),
        ];
        const initV = k.f32x4.splat(r.init(k, dt));
        stmts.push(v.set(initV), v2.set(k.f32x4.splat(r.init(k, dt))),
          ...(blocks > 1 ? [total.set(k.f32x4.splat(r.init(k, dt)))] : []),
          p.set(xBase.get()),
          stridedLoop(k, [...innerRed.map((x) => x.n), 1], [[...innerRed.map((x) => x.stride * 4), 0]], [p], () => row(), false),
          v.set(s.combine(k, v.get(), v2.get())),
          ...(blocks > 1 ? [v.set(s.combine(k, v.get(), total.get()))] : []),
          acc.set(foldLanes(k, v, acc.get(), (a, b) => r.combine(k, dt, a, b))));
      } else if (shift) {
        stmts.push(...walk(() => [acc.set(r.combine(k, dt, acc.get(), mapped(sub(k, t, k.load(dt, p.get()), shift!.get()), dt)))]));
      } else {
        stmts.push(...walk(() => [acc.set(r.combine(k, dt, acc.get(), mapped(k.load(dt, p.get()), dt)))]));
      }
      const result = shift ? r.finishShifted!(k, dt, acc.get(), shift.get()) : r.finish ? r.finish(k, dt, acc.get(), count) : acc.get();
      stmts.push(k.store(dt, y.get(), result));
      return stmts;
    };

    const vectorOne = (): Expr[] => {
      const s = r.simd!;
      const v = k.local('v128');
      const res = s.finish ? s.finish(k, v.get(), count) : v.get();
      return [
        v.set(k.f32x4.splat(r.init(k, dt))),
        ...walk(() => [v.set(s.combine(k, v.get(), s.map ? s.map(k, k.v128.load(0, 4, p.get())) : k.v128.load(0, 4, p.get())))]),
        k.v128.store(0, 4, y.get(), res),
      ];
    };

    const keptShape = kept.map((x) => x.n);
    const ptrStrides = [kept.map((x) => x.stride * esz), keptStrides.map((s) => s * esz)];
    return [stridedLoop(k, keptShape, ptrStrides, [xBase, y], (vector) => (vector ? vectorOne() : scalarOne()), vecOut)];
  });
}

// --- transcendental functions (codegen/mathlib.ts) ---

export type MathName = 'exp' | 'log';

/** exp/log of a compute value of wasm type t (float32 exp is the fast one, ~1e-7 relative). */
export function mathFn(k: Kernel, name: MathName, t: 'f32' | 'f64', x: Expr): Expr {
  return name === 'exp' ? callExp(k, x, t) : callMath(k, 'log', [x], t);
}

/** exp/log of 4 float32 lanes (log lane by lane through the scalar helper). */
export function mathFnF32x4(k: Kernel, name: MathName, x: Expr): Expr {
  if (name === 'exp') return simdExp(k, x);
  const v = k.local('v128');
  let out: Expr = v.tee(x);
  for (let i = 0; i < 4; i++) out = k.f32x4.replace_lane(out, i, mathFn(k, 'log', 'f32', k.f32x4.extract_lane(v.get(), i)));
  return out;
}
