// Pooling: MaxPool (with the optional Indices output), AveragePool, LpPool over 1-D/2-D/3-D windows with
// strides, pads, dilations, auto_pad and ceil_mode; GlobalAveragePool/GlobalMaxPool/GlobalLpPool as
// reductions over the spatial axes; MaxUnpool.
//
// The window kernel walks output positions; per dim it computes the range of taps that land inside the
// input, so the tap loops need no bounds tests. In 2-D, the columns whose windows lie fully inside a row
// take a fast path (interior2d): static tap offsets, and 4 output columns at once for float32 Max/Average
// pooling on the simd target (16 at once for int8/uint8 MaxPool with strides 1 and 2).
// float32, int8 and uint8 MaxPool without Indices take the separable kernel of pool-max-separable.ts instead (max
// over rows, then over columns), except where this one-pass kernel is faster (separableMaxPays).

import { computeType, type Expr, type Kernel, type Local } from '../codegen/wasm.js';
import { DTYPE_SIZE, FLOATS, type DType } from '../src/ir/dtype.js';
import { numel, stridesOf, tensorNumbers } from '../src/ir/graph.js';
import { callMath } from '../codegen/mathlib.js';
import { abs, add, extremeValue, greater, mul, reduceKernel, type Reducer } from './reduce-kernel.js';
import { L1_REDUCER, L2_REDUCER, MAX_REDUCER, MEAN_REDUCER } from './reduce.js';
import { separableMaxDType, separableMaxPoolKernel, separableMaxScratch } from './pool-max-separable.js';
import { defineOp, type AttrReader, type BaseCtx, type EmitCtx, type OpDef, type TensorInfo } from './types.js';

export type PoolKind = 'max' | 'avg' | 'lp';

export interface PoolAttrs {
  autoPad: string;
  kernel: number[];
  strides?: number[];
  pads?: number[];
  dilations?: number[];
  ceil: boolean;
  countIncludePad: boolean;
  storageOrder: number;
  p: number;
}

/** Static window geometry for one node. */
export interface PoolGeom {
  /** Spatial input and output dims. */
  inDims: number[];
  outDims: number[];
  kernel: number[];
  strides: number[];
  dilations: number[];
  /** Padding before each spatial dim (after auto_pad). */
  padBegin: number[];
  padEnd: number[];
  /** N*C planes. */
  planes: number;
}

export function readPoolAttrs(a: AttrReader): PoolAttrs {
  const pRaw = a.raw('p');
  return {
    autoPad: a.string('auto_pad', 'NOTSET'),
    kernel: a.ints('kernel_shape'),
    strides: a.has('strides') ? a.ints('strides') : undefined,
    pads: a.has('pads') ? a.ints('pads') : undefined,
    dilations: a.has('dilations') ? a.ints('dilations') : undefined,
    ceil: a.int('ceil_mode', 0) !== 0,
    countIncludePad: a.int('count_include_pad', 0) !== 0,
    storageOrder: a.int('storage_order', 0),
    p: typeof pRaw === 'number' ? pRaw : 2,
  };
}

export function poolGeometry(ctx: BaseCtx<unknown>, at: PoolAttrs, xShape: number[]): PoolGeom {
  const D = xShape.length - 2;
  if (D < 1) ctx.fail(`input of rank ${xShape.length} has no spatial dims (N x C x D1 ...)`);
  const { kernel } = at;
  if (kernel.length !== D) ctx.fail(`kernel_shape [${kernel}] does not match ${D} spatial dims`);
  const strides = at.strides ?? kernel.map(() => 1);
  const dilations = at.dilations ?? kernel.map(() => 1);
  if (strides.length !== D || dilations.length !== D) ctx.fail('strides/dilations do not match the spatial dims');
  if ([...kernel, ...strides, ...dilations].some((v) => v < 1)) ctx.fail('kernel_shape, strides and dilations must be positive');
  const inDims = xShape.slice(2);
  const ext = kernel.map((k, i) => (k - 1) * dilations[i] + 1);
  let padBegin = kernel.map(() => 0), padEnd = kernel.map(() => 0);
  let outDims: number[];
  const div = (a: number, b: number) => (at.ceil ? Math.ceil(a / b) : Math.floor(a / b));
  if (at.autoPad === 'NOTSET') {
    const pads = at.pads ?? new Array(2 * D).fill(0);
    if (pads.length !== 2 * D || pads.some((p) => p < 0)) ctx.fail(`pads [${pads}] must be ${2 * D} non-negative values`);
    padBegin = pads.slice(0, D);
    padEnd = pads.slice(D);
    outDims = inDims.map((n, i) => {
      let o = div(n + padBegin[i] + padEnd[i] - ext[i], strides[i]) + 1;
      // ceil_mode: a window that would start in the end padding is dropped
      if (at.ceil && (o - 1) * strides[i] >= n + padBegin[i]) o--;
      return o;
    });
  } else if (at.autoPad === 'VALID') {
    // ceil((n - ext + 1) / s) with ceil_mode equals floor((n - ext) / s) + 1 without it
    outDims = inDims.map((n, i) => Math.floor((n - ext[i]) / strides[i]) + 1);
  } else if (at.autoPad === 'SAME_UPPER' || at.autoPad === 'SAME_LOWER') {
    outDims = inDims.map((n, i) => Math.ceil(n / strides[i]));
    const total = outDims.map((o, i) => Math.max(0, (o - 1) * strides[i] + ext[i] - inDims[i]));
    padBegin = total.map((t) => (at.autoPad === 'SAME_UPPER' ? Math.floor(t / 2) : Math.ceil(t / 2)));
    padEnd = total.map((t, i) => t - padBegin[i]);
  } else ctx.fail(`auto_pad "${at.autoPad}" is not one of NOTSET, SAME_UPPER, SAME_LOWER, VALID`);
  if (outDims!.some((o) => o < 0)) ctx.fail(`the window does not fit the input [${xShape}]`);
  return { inDims, outDims: outDims!.map((o) => Math.max(o, 0)), kernel, strides, dilations, padBegin, padEnd, planes: xShape[0] * xShape[1] };
}

/** Per dim: the taps [lo, hi) that land inside the input, and the count the average divides by. */
export function tapRange(k: Kernel, g: PoolGeom, i: number, o: Local, countPad: boolean, lo: Local, hi: Local, cnt: Local): Expr[] {
  const s = g.strides[i], d = g.dilations[i], n = g.inDims[i], kk = g.kernel[i];
  const start = k.local('i32');
  // taps t with 0 <= start + t*d < n: t >= ceil(-start/d), t < ceil((n - start)/d)
  const ceilDiv = (num: Expr) => (d === 1 ? num : k.i32.div_s(k.i32.add(num, k.c32(d - 1)), k.c32(d)));
  const clamp = (v: Expr, max: number) => {
    const l = k.local('i32');
    return k.block([l.set(v), k.select(k.i32.lt_s(l.get(), k.c32(0)), k.c32(0), k.select(k.i32.gt_s(l.get(), k.c32(max)), k.c32(max), l.get()))], 'i32');
  };
  const stmts = [
    start.set(k.i32.sub(k.i32.mul(o.get(), k.c32(s)), k.c32(g.padBegin[i]))),
    lo.set(clamp(ceilDiv(k.i32.sub(k.c32(0), start.get())), kk)),
    hi.set(clamp(ceilDiv(k.i32.sub(k.c32(n), start.get())), kk)),
    hi.set(k.select(k.i32.lt_s(hi.get(), lo.get()), lo.get(), hi.get())),
  ];
  if (countPad) {
    // taps inside the padded extent [-padBegin, n + padEnd)
    const plo = clamp(ceilDiv(k.i32.sub(k.c32(-g.padBegin[i]), start.get())), kk);
    const phi = clamp(ceilDiv(k.i32.sub(k.c32(n + g.padEnd[i]), start.get())), kk);
    stmts.push(cnt.set(k.i32.sub(phi, plo)));
  } else stmts.push(cnt.set(k.i32.sub(hi.get(), lo.get())));
  return stmts;
}

/** The scalar window kernel: fn(x, y, indices) for any dtype, any number of spatial dims. */
function poolKernel(ctx: EmitCtx<unknown>, kind: PoolKind, dt: DType, g: PoolGeom, at: PoolAttrs, withIdx: boolean): string {
  // 2-D without Indices: columns whose windows lie inside the row take a fast path (static taps, SIMD)
  const fast = g.inDims.length === 2 && !withIdx;
  const simd = fast && ctx.target === 'simd' && (dt === 'float32' ? kind !== 'lp' : kind === 'max' && BYTE_MAX[dt] !== undefined && g.strides[1] <= 2);
  const key = `pool:${kind}:${dt}:${JSON.stringify(g)}:${at.countIncludePad}:${at.p}:${at.storageOrder}:${withIdx}:${simd}`;
  return ctx.kernel(key, ['i32', 'i32', 'i32'], (k) => {
    const [x, y, yi] = k.params;
    const D = g.inDims.length;
    const esz = DTYPE_SIZE[dt];
    const t = computeType(dt);
    const inStrides = g.inDims.map((_, i) => numel(g.inDims.slice(i + 1)));
    // storage_order 1: the index counts the spatial dims column-major
    const idxStrides = at.storageOrder === 1 ? g.inDims.map((_, i) => numel(g.inDims.slice(0, i))) : inStrides;
    const planeIn = numel(g.inDims);
    const xPlane = k.local('i32'), plane = k.local('i32');
    const o = g.outDims.map(() => k.local('i32'));
    const lo = g.outDims.map(() => k.local('i32')), hi = g.outDims.map(() => k.local('i32')), cnt = g.outDims.map(() => k.local('i32'));
    const tap = g.outDims.map(() => k.local('i32'));
    const acc = k.local(t), v = k.local(t), best = k.local('i32'), pos = k.local('i32');

    const one = (): Expr[] => {
      const stmts: Expr[] = [acc.set(kind === 'max' ? extremeValue(k, dt, true) : k.const(t, 0)), best.set(k.c32(-1))];
      // element offset of tap (t_0..t_{D-1}): sum (o_i*s_i - pb_i + t_i*d_i) * stride_i
      const posOf = (strides: number[]) => g.inDims.map((_, i) =>
        k.i32.mul(k.i32.add(k.i32.sub(k.i32.mul(o[i].get(), k.c32(g.strides[i])), k.c32(g.padBegin[i])), k.i32.mul(tap[i].get(), k.c32(g.dilations[i]))), k.c32(strides[i])))
        .reduce((a, b) => k.i32.add(a, b));
      const body = (): Expr[] => {
        const load = [pos.set(posOf(inStrides)), v.set(k.load(dt, k.i32.add(xPlane.get(), k.i32.mul(pos.get(), k.c32(esz)))))];
        if (kind === 'max') {
          return [...load, k.if(greater(k, dt, v.get(), acc.get()), [acc.set(v.get()), withIdx ? best.set(at.storageOrder === 1 ? posOf(idxStrides) : pos.get()) : k.nop()])];
        }
        if (kind === 'avg') return [...load, acc.set(add(k, t, acc.get(), v.get()))];
        return [...load, acc.set(add(k, t, acc.get(), lpTerm(k, t, dt, v.get(), at.p)))];
      };
      const taps = (i: number): Expr => (i === D ? k.block(body()) : k.dynFor(tap[i], lo[i].get(), hi[i].get(), 1, () => [taps(i + 1)]));
      stmts.push(taps(0));
      let result: Expr = acc.get();
      if (kind === 'avg') {
        const count = cnt.map((c) => c.get()).reduce((a, b) => k.i32.mul(a, b));
        result = t === 'f64' ? k.f64.div(acc.get(), k.f64.convert_s.i32(count)) : k.f32.div(acc.get(), k.f32.convert_s.i32(count));
      } else if (kind === 'lp') result = lpRoot(k, t, acc.get(), at.p);
      stmts.push(k.store(dt, y.get(), result), y.set(k.i32.add(y.get(), k.c32(esz))));
      if (withIdx) {
        const flat = k.i64.extend_s(k.i32.add(k.i32.mul(plane.get(), k.c32(planeIn)), best.get()));
        stmts.push(k.i64.store(0, 8, yi.get(), flat), yi.set(k.i32.add(yi.get(), k.c32(8))));
      }
      return stmts;
    };

    const outLoops = (i: number): Expr => {
      if (i === D) return k.block(one());
      const inner = (): Expr[] => [...tapRange(k, g, i, o[i], at.countIncludePad, lo[i], hi[i], cnt[i]), outLoops(i + 1)];
      if (fast && i === 1) {
        const [oxLo, oxHi] = interiorColumns(g);
        return k.block([
          k.for(o[1], 0, oxLo, 1, inner),
          interior2d(k, kind, dt, g, at, { x: xPlane, y, oy: o[0], ox: o[1], kyLo: lo[0], kyHi: hi[0], rows: cnt[0] }, oxLo, oxHi, simd),
          k.for(o[1], oxHi, g.outDims[1], 1, inner),
        ]);
      }
      return k.for(o[i], 0, g.outDims[i], 1, inner);
    };
    return k.loop(0, g.planes, (p) => [
      plane.set(p.get()),
      xPlane.set(k.i32.add(x.get(), k.i32.mul(p.get(), k.c32(planeIn * esz)))),
      outLoops(0),
    ]);
  });
}

/** Output columns [lo, hi) whose whole window lies inside the input row. */
export function interiorColumns(g: PoolGeom): [number, number] {
  const [W, OW, KW, sx, dx, pb] = [g.inDims[1], g.outDims[1], g.kernel[1], g.strides[1], g.dilations[1], g.padBegin[1]];
  const lo = Math.min(OW, Math.ceil(pb / sx));
  const hi = Math.max(lo, Math.min(OW, Math.floor((W - 1 + pb - (KW - 1) * dx) / sx) + 1));
  return [lo, hi];
}

interface Interior { x: Local; y: Local; oy: Local; ox: Local; kyLo: Local; kyHi: Local; rows: Local }

/**
 * The interior columns of one output row of a 2-D pool: every tap column is inside the row, so the kx taps
 * are unrolled with static offsets; with simd, 4 output columns go at once (float32 max/avg), or 16 (int8/uint8
 * max, strides 1 and 2).
 */
function interior2d(k: Kernel, kind: PoolKind, dt: DType, g: PoolGeom, at: PoolAttrs, r: Interior, oxLo: number, oxHi: number, simd: boolean): Expr {
  if (oxLo >= oxHi) return k.nop();
  const [W, KW, sx, dx, sy, dy] = [g.inDims[1], g.kernel[1], g.strides[1], g.dilations[1], g.strides[0], g.dilations[0]];
  const esz = DTYPE_SIZE[dt];
  const t = computeType(dt) as 'f32' | 'f64' | 'i32';
  const ft = t as 'f32' | 'f64';
  const rowPtr = k.local('i32'), ky = k.local('i32'), acc = k.local(t), v = k.local(t);
  // address of tap row ky for column col: x + ((oy*sy - pbY + ky*dy) * W + ox*sx - pbX) * esz
  const rowStart = (): Expr => k.i32.add(r.x.get(), k.i32.mul(k.i32.add(k.i32.mul(k.i32.add(k.i32.sub(k.i32.mul(r.oy.get(), k.c32(sy)), k.c32(g.padBegin[0])), k.i32.mul(ky.get(), k.c32(dy))), k.c32(W)), k.i32.sub(k.i32.mul(r.ox.get(), k.c32(sx)), k.c32(g.padBegin[1]))), k.c32(esz)));
  const combineInto = (b: Expr): Expr => {
    if (kind === 'max') return acc.set(k.block([v.set(b), k.select(greater(k, dt, v.get(), acc.get()), v.get(), acc.get())], t));
    if (kind === 'avg') return acc.set(add(k, t, acc.get(), b));
    return acc.set(add(k, t, acc.get(), lpTerm(k, t, dt, b, at.p)));
  };
  // rows * KW taps (count_include_pad counts padded rows; columns here are all inside)
  const divisor = () => k.f32.convert_s.i32(k.i32.mul(r.rows.get(), k.c32(KW)));
  const finish = (a: Expr): Expr => {
    if (kind === 'max') return a;
    if (kind === 'lp') return lpRoot(k, t, a, at.p);
    return ft === 'f64' ? k.f64.div(a, k.f64.promote(divisor())) : k.f32.div(a, divisor());
  };
  const scalarOne = (): Expr[] => [
    acc.set(kind === 'max' ? extremeValue(k, dt, true) : k.const(t, 0)),
    k.dynFor(ky, r.kyLo.get(), r.kyHi.get(), 1, () => [
      rowPtr.set(rowStart()),
      ...Array.from({ length: KW }, (_, kx) => combineInto(k.load(dt, rowPtr.get(), kx * dx * esz))),
    ]),
    k.store(dt, r.y.get(), finish(acc.get())),
    r.y.set(k.i32.add(r.y.get(), k.c32(esz))),
  ];
  const stmts: Expr[] = [];
  let from = oxLo;
  if (simd && dt !== 'float32') {
    const n16 = oxLo + Math.floor((oxHi - oxLo) / 16) * 16;
    if (n16 > oxLo) stmts.push(interiorBytesMax(k, dt, r, oxLo, n16, KW, sx, dx, rowStart, rowPtr, ky));
    from = n16;
  } else if (simd && oxHi - oxLo >= 4) {
    const n4 = oxLo + Math.floor((oxHi - oxLo) / 4) * 4;
    const vacc = k.local('v128');
    const lanes = (off: number): Expr => {
      if (sx === 1) return k.v128.load(off, 4, rowPtr.get());
      // stride 2: lanes 0, 2 of x[0..3] and 1, 3 of x[3..6] (no read past the last tap)
      if (sx === 2) return k.i8x16.shuffle(k.v128.load(off, 4, rowPtr.get()), k.v128.load(off + 12, 4, rowPtr.get()), [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 28, 29, 30, 31]);
      let e = k.v128.load32_splat(off, 4, rowPtr.get());
      for (let l = 1; l < 4; l++) e = k.f32x4.replace_lane(e, l, k.f32.load(off + l * sx * 4, 4, rowPtr.get()));
      return e;
    };
    stmts.push(k.for(r.ox, oxLo, n4, 4, () => [
      vacc.set(k.f32x4.splat(k.cf32(kind === 'max' ? -Infinity : 0))),
      k.dynFor(ky, r.kyLo.get(), r.kyHi.get(), 1, () => [
        rowPtr.set(rowStart()),
        ...Array.from({ length: KW }, (_, kx) => vacc.set(kind === 'max' ? k.f32x4.pmax(vacc.get(), lanes(kx * dx * 4)) : k.f32x4.add(vacc.get(), lanes(kx * dx * 4)))),
      ]),
      k.v128.store(0, 4, r.y.get(), kind === 'max' ? vacc.get() : k.f32x4.div(vacc.get(), k.f32x4.splat(divisor()))),
      r.y.set(k.i32.add(r.y.get(), k.c32(16))),
    ]));
    from = n4;
  }
  stmts.push(k.for(r.ox, from, oxHi, 1, scalarOne));
  return k.block(stmts);
}

/** i8x16 max and the lowest value, for the 1-byte MaxPool lanes. */
const BYTE_MAX: Partial<Record<DType, { max: 'max_s' | 'max_u'; lowest: number }>> = { int8: { max: 'max_s', lowest: -128 }, uint8: { max: 'max_u', lowest: 0 } };

/** 16 output columns of a 1-byte MaxPool row at once (stride 1: one load per tap; stride 2: two loads, even bytes). */
function interiorBytesMax(k: Kernel, dt: DType, r: Interior, from: number, to: number, KW: number, sx: number, dx: number,
  rowStart: () => Expr, rowPtr: Local, ky: Local): Expr {
  const { max, lowest } = BYTE_MAX[dt]!;
  const vacc = k.local('v128');
  const even = Array.from({ length: 16 }, (_, i) => (i < 8 ? 2 * i : 16 + 2 * (i - 8) + 1));
  // stride 2: bytes 0..15 and 15..30 (no read past the last tap), lanes 0, 2, .. 14 and 1, 3, .. 15 of them
  const lanes = (off: number): Expr => (sx === 1 ? k.v128.load(off, 1, rowPtr.get())
    : k.i8x16.shuffle(k.v128.load(off, 1, rowPtr.get()), k.v128.load(off + 15, 1, rowPtr.get()), even));
  return k.for(r.ox, from, to, 16, () => [
    vacc.set(k.i8x16.splat(k.c32(lowest))),
    k.dynFor(ky, r.kyLo.get(), r.kyHi.get(), 1, () => [
      rowPtr.set(rowStart()),
      ...Array.from({ length: KW }, (_, kx) => vacc.set(k.i8x16[max](vacc.get(), lanes(kx * dx)))),
    ]),
    k.v128.store(0, 1, r.y.get(), vacc.get()),
    r.y.set(k.i32.add(r.y.get(), k.c32(16))),
  ]);
}

/** |x|^p (p = 1, 2 without pow). */
function lpTerm(k: Kernel, t: 'f32' | 'f64' | string, dt: DType, x: Expr, p: number): Expr {
  const a = abs(k, dt, x);
  if (p === 1) return a;
  const ft = t as 'f32' | 'f64';
  if (p === 2) {
    const l = k.local(ft);
    return mul(k, ft, l.tee(a), l.get());
  }
  return callMath(k, 'pow', [a, k.const(ft, p)], ft);
}
/** s^(1/p). */
function lpRoot(k: Kernel, t: string, s: Expr, p: number): Expr {
  const ft = t as 'f32' | 'f64';
  if (p === 1) return s;
  if (p === 2) return ft === 'f32' ? k.f32.sqrt(s) : k.f64.sqrt(s);
  return callMath(k, 'pow', [s, k.const(ft, 1 / p)], ft);
}

/**
 * Whether the separable float32 MaxPool beats the direct kernel, whose 2-D interior path runs in one pass (as
 * measured): not for 2-D windows that do not overlap (2x2 stride 2), which share no tap rows; on the scalar
 * target, only for 2-D windows above 3x3 (one tap per step leaves little for the row pass to save).
 */
function separableMaxPays(g: PoolGeom, simd: boolean, dt: DType): boolean {
  if (g.inDims.length !== 2) return true;
  // int8 / uint8: 16 lanes per step over every column, edges included (the direct kernel vectorizes interiors only)
  if (simd && dt !== 'float32') return true;
  if (g.kernel.every((kk, i) => (kk - 1) * g.dilations[i] + 1 <= g.strides[i])) return false;
  return simd || g.kernel[0] * g.kernel[1] > 9;
}

const MAXPOOL_DTYPES: DType[] = [...FLOATS, 'int8', 'uint8'];

const WINDOW_NOTES = 'auto_pad SAME pads for the dilated kernel and ignores ceil_mode, as the spec and its reference implementation do (onnxruntime differs there)';

function windowPool(op: string, kind: PoolKind, dtypes: DType[]): OpDef<PoolAttrs> {
  return defineOp<PoolAttrs>({
    op, since: 1, dtypes, notes: WINDOW_NOTES,
    attrs: (a) => readPoolAttrs(a),
    infer(ctx): TensorInfo[] {
      const x = ctx.inputs[0]!;
      if (!dtypes.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported`);
      const g = poolGeometry(ctx, ctx.attrs, x.shape);
      const shape = [x.shape[0], x.shape[1], ...g.outDims];
      return kind === 'max' ? [{ dtype: x.dtype, shape }, { dtype: 'int64', shape }] : [{ dtype: x.dtype, shape }];
    },
    // the scratch row of the separable MaxPool (its simd length, the longer)
    scratch: kind === 'max' ? (ctx) => {
      const x = ctx.inputs[0]!;
      return separableMaxDType(x.dtype) ? separableMaxScratch(poolGeometry(ctx, ctx.attrs, x.shape), x.dtype, true) : 0;
    } : undefined,
    emit(ctx) {
      const x = ctx.inputs[0]!;
      const g = poolGeometry(ctx, ctx.attrs, x.shape);
      if (!numel(ctx.outputs[0].shape)) return;
      const indices = kind === 'max' ? ctx.outputs[1] : undefined;
      if (kind === 'max' && separableMaxDType(x.dtype) && !indices && separableMaxPays(g, ctx.target === 'simd', x.dtype)) {
        ctx.call(separableMaxPoolKernel(ctx as EmitCtx<unknown>, g, x.dtype), [x.ptr, ctx.outputs[0].ptr, ctx.scratch()]);
        return;
      }
      const fn = poolKernel(ctx as EmitCtx<unknown>, kind, x.dtype, g, ctx.attrs, !!indices);
      ctx.call(fn, [x.ptr, ctx.outputs[0].ptr, indices ? indices.ptr : 0]);
    },
  });
}

export const MaxPool = windowPool('MaxPool', 'max', MAXPOOL_DTYPES);
export const AveragePool = windowPool('AveragePool', 'avg', FLOATS);
export const LpPool = windowPool('LpPool', 'lp', FLOATS);

// --- global pooling: reductions over every spatial axis ---

function lpReducer(p: number): Reducer {
  if (p === 1) return L1_REDUCER;
  if (p === 2) return L2_REDUCER;
  return {
    name: `lp${p}`, init: (k, dt) => k.const(computeType(dt), 0),
    map: (k, dt, x) => lpTerm(k, computeType(dt), dt, x, p),
    combine: (k, dt, a, b) => add(k, computeType(dt), a, b),
    finish: (k, dt, acc) => lpRoot(k, computeType(dt), acc, p),
  };
}

function globalPool(op: string, reducer: (p: number) => Reducer, dtypes: DType[]): OpDef<{ p: number }> {
  return defineOp<{ p: number }>({
    op, since: 1, dtypes,
    attrs: (a) => {
      const p = a.raw('p');
      return { p: typeof p === 'number' ? p : 2 };
    },
    infer(ctx) {
      const x = ctx.inputs[0]!;
      if (!dtypes.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported`);
      if (x.shape.length < 2) ctx.fail(`input of rank ${x.shape.length} has no channel dim`);
      return [{ dtype: x.dtype, shape: x.shape.map((d, i) => (i < 2 ? d : 1)) }];
    },
    emit(ctx) {
      const x = ctx.inputs[0]!;
      const axes = x.shape.map((_, i) => i).slice(2);
      const fn = reduceKernel(ctx, reducer(ctx.attrs.p), x.dtype, x.shape, axes);
      if (fn) ctx.call(fn, [x.ptr, ctx.outputs[0].ptr]);
    },
  });
}

export const GlobalAveragePool = globalPool('GlobalAveragePool', () => MEAN_REDUCER, FLOATS);
export const GlobalMaxPool = globalPool('GlobalMaxPool', () => MAX_REDUCER, [...FLOATS, 'int8', 'uint8']);
export const GlobalLpPool = globalPool('GlobalLpPool', lpReducer, FLOATS);

// --- MaxUnpool ---

interface UnpoolAttrs { kernel: number[]; strides?: number[]; pads?: number[] }
type UnpoolCtx = BaseCtx<UnpoolAttrs> & { inputs: ({ shape: number[]; const?: unknown } | undefined)[] };

/** The shape MaxPool's input had (what the indices count in), from the attributes. */
function inferredUnpoolShape(ctx: UnpoolCtx): number[] {
  const x = ctx.inputs[0]!;
  const D = x.shape.length - 2;
  const { kernel } = ctx.attrs;
  if (kernel.length !== D) ctx.fail(`kernel_shape [${kernel}] does not match ${D} spatial dims`);
  const strides = ctx.attrs.strides ?? kernel.map(() => 1);
  const pads = ctx.attrs.pads ?? new Array(2 * D).fill(0);
  return [x.shape[0], x.shape[1], ...kernel.map((kk, i) => (x.shape[i + 2] - 1) * strides[i] - pads[i] - pads[i + D] + kk)];
}

function unpoolShape(ctx: UnpoolCtx): number[] {
  const given = ctx.inputs[2];
  if (!given) return inferredUnpoolShape(ctx);
  const shape = tensorNumbers(given.const as never);
  if (shape.length !== ctx.inputs[0]!.shape.length) ctx.fail(`output_shape [${shape}] does not match the rank of X`);
  return shape;
}

/**
 * Scatters X into zeros at the flat indices I. The indices count in MaxPool's input shape; a given
 * output_shape holds that block at its origin (as the ONNX reference does), other elements stay zero.
 */
export const MaxUnpool = defineOp<UnpoolAttrs>({
  op: 'MaxUnpool', since: 9, dtypes: FLOATS,
  notes: 'with output_shape the unpooled block sits at the origin, as in the ONNX reference; output_shape must be a constant',
  attrs: (a) => ({ kernel: a.ints('kernel_shape'), strides: a.has('strides') ? a.ints('strides') : undefined, pads: a.has('pads') ? a.ints('pads') : undefined }),
  infer(ctx) {
    const x = ctx.inputs[0]!;
    if (!FLOATS.includes(x.dtype)) ctx.fail(`dtype ${x.dtype} is not supported`);
    if (ctx.inputs[2]) ctx.constInput(2, 'output_shape');
    if (numel(ctx.inputs[1]!.shape) !== numel(x.shape)) ctx.fail('I must have the shape of X');
    return [{ dtype: x.dtype, shape: unpoolShape(ctx) }];
  },
  emit(ctx) {
    const x = ctx.inputs[0]!, ind = ctx.inputs[1]!, y = ctx.outputs[0];
    const total = numel(y.shape), n = numel(x.shape);
    if (!total) return;
    const src = inferredUnpoolShape(ctx);
    const srcTotal = numel(src);
    const same = src.every((d, i) => d === y.shape[i]);
    const srcStrides = stridesOf(src), dstStrides = stridesOf(y.shape);
    const esz = DTYPE_SIZE[x.dtype];
    const fn = ctx.kernel(`maxunpool:${x.dtype}:${n}:${src}>${y.shape}`, ['i32', 'i32', 'i32'], (k) => {
      const [xp, ip, yp] = k.params;
      const j = k.local('i64'), rem = k.local('i32'), dst = k.local('i32'), c = k.local('i32'), ok = k.local('i32');
      // flat index in src -> flat index in the output, ok = 0 when it falls outside
      const remap: Expr[] = same ? [dst.set(k.i32.wrap(j.get()))] : [
        rem.set(k.i32.wrap(j.get())), dst.set(k.c32(0)),
        ...src.flatMap((_, d) => [
          c.set(k.i32.div_u(rem.get(), k.c32(srcStrides[d]))),
          rem.set(k.i32.rem_u(rem.get(), k.c32(srcStrides[d]))),
          ok.set(k.i32.and(ok.get(), k.i32.lt_u(c.get(), k.c32(y.shape[d])))),
          dst.set(k.i32.add(dst.get(), k.i32.mul(c.get(), k.c32(dstStrides[d])))),
        ]),
      ];
      return [
        k.fill(yp.get(), 0, total * esz),
        k.loop(0, n, (e) => [
          j.set(k.i64.load(0, 8, k.i32.add(ip.get(), k.i32.shl(e.get(), k.c32(3))))),
          ok.set(k.i64.lt_u(j.get(), k.c64(srcTotal))),
          // an index outside MaxPool's input is bad data: skip it and report it through the status
          k.if(ok.get(), remap, k.globalSet('status', k.c32(1))),
          k.if(ok.get(), k.store(x.dtype, k.i32.add(yp.get(), k.i32.mul(dst.get(), k.c32(esz))), k.load(x.dtype, k.i32.add(xp.get(), k.i32.mul(e.get(), k.c32(esz)))))),
        ]),
      ];
    });
    ctx.call(fn, [x.ptr, ind.ptr, y.ptr]);
  },
});
