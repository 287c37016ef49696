// The generic strided copy behind the data-movement ops (Transpose, Slice, Concat, Split, Expand, Tile,
// DepthToSpace, Pad...): the output region is a view of the input region described by an element offset and
// per-dim element strides on both sides (stride 0 broadcasts, negative strides walk backwards). Dims that are
// contiguous on both sides are merged; contiguous innermost runs move as whole blocks (v128 chunks or
// memory.copy on simd, i64 words on scalar), broadcast runs as splat stores. The same plan runs in JS for
// constant folding, so an op describes its data movement once.

import { DTYPE_SIZE, type DType, type TypedArray } from '../src/ir/dtype.js';
import { makeTensor, numel, stridesOf, type Shape, type Tensor } from '../src/ir/graph.js';
import type { EmitCtx } from '../ops/types.js';
import { collapseDims, stridedLoop } from './elementwise.js';
import type { Expr, Kernel, Local } from './wasm.js';

/** Where a region lives: element offset of its first element and element strides per dim. */
export interface Strided { offset: number; strides: number[] }

/** dst[region] = src[region], both walked over `shape` in row-major order. */
export interface CopyPlan { shape: Shape; src: Strided; dst: Strided }

/** A dense row-major tensor region starting at `offset`. */
export const dense = (shape: Shape, offset = 0): Strided => ({ offset, strides: stridesOf(shape) });

/** Copy plan reading `shape` (dense) permuted by perm into a dense output (Transpose's semantics). */
export function transposePlan(shape: Shape, perm: number[]): CopyPlan {
  const st = stridesOf(shape);
  const outShape = perm.map((p) => shape[p]);
  return { shape: outShape, src: { offset: 0, strides: perm.map((p) => st[p]) }, dst: dense(outShape) };
}

// --- JS version (constant folding) ---

/** Runs a plan on typed arrays (elements, any dtype: the raw values move unchanged). */
export function runCopy(src: TypedArray, dst: TypedArray, plan: CopyPlan): void {
  const { shape } = plan;
  const n = numel(shape);
  if (n === 0) return;
  const D = shape.length;
  const idx = new Array<number>(D).fill(0);
  let s = plan.src.offset, d = plan.dst.offset;
  for (let e = 0; e < n; e++) {
    (dst as Float64Array)[d] = (src as Float64Array)[s];
    for (let j = D - 1; j >= 0; j--) {
      s += plan.src.strides[j];
      d += plan.dst.strides[j];
      if (++idx[j] < shape[j]) break;
      s -= plan.src.strides[j] * shape[j];
      d -= plan.dst.strides[j] * shape[j];
      idx[j] = 0;
    }
  }
}

// --- wasm version ---

/** Load/store an element of `bytes` bytes as raw bits (no float conversion, so NaN payloads survive). */
export function loadRaw(k: Kernel, bytes: number, addr: Expr, offset = 0): Expr {
  switch (bytes) {
    case 1: return k.i32.load8_u(offset, 1, addr);
    case 2: return k.i32.load16_u(offset, 1, addr);
    case 4: return k.i32.load(offset, 1, addr);
    case 8: return k.i64.load(offset, 1, addr);
    default: throw new Error(`no raw load of ${bytes} bytes`);
  }
}

export function storeRaw(k: Kernel, bytes: number, addr: Expr, value: Expr, offset = 0): Expr {
  switch (bytes) {
    case 1: return k.i32.store8(offset, 1, addr, value);
    case 2: return k.i32.store16(offset, 1, addr, value);
    case 4: return k.i32.store(offset, 1, addr, value);
    case 8: return k.i64.store(offset, 1, addr, value);
    default: throw new Error(`no raw store of ${bytes} bytes`);
  }
}

/** The wasm type a raw element of `bytes` bytes is held in. */
export const rawType = (bytes: number) => (bytes === 8 ? 'i64' : 'i32') as 'i32' | 'i64';

/** Runs of at least this many bytes use memory.copy on simd; shorter ones are unrolled v128 moves. */
const BULK_COPY_BYTES = 256;
/** On scalar, runs longer than this are a word loop instead of unrolled moves. */
const SCALAR_UNROLL_BYTES = 64;

/** Copy a static number of bytes from src to dst (non-overlapping); addresses are re-read, so pass local.get's. */
export function copyRun(k: Kernel, dst: () => Expr, src: () => Expr, bytes: number): Expr[] {
  if (bytes <= 0) return [];
  if (k.simd && bytes >= BULK_COPY_BYTES) return [k.copy(dst(), src(), bytes)];
  const out: Expr[] = [];
  let at = 0;
  const word = k.simd ? 16 : 8;
  if (!k.simd && bytes > SCALAR_UNROLL_BYTES) {
    const words = Math.floor(bytes / 8) * 8;
    const i = k.local('i32');
    out.push(k.for(i, 0, words, 8, () =>
      k.i64.store(0, 1, k.i32.add(dst(), i.get()), k.i64.load(0, 1, k.i32.add(src(), i.get())))));
    at = words;
  }
  for (; at + word <= bytes; at += word) {
    out.push(word === 16 ? k.v128.store(at, 1, dst(), k.v128.load(at, 1, src())) : k.i64.store(at, 1, dst(), k.i64.load(at, 1, src())));
  }
  for (const w of [8, 4, 2, 1]) {
    for (; at + w <= bytes; at += w) out.push(storeRaw(k, w, dst(), loadRaw(k, w, src(), at), at));
  }
  return out;
}

/** Store one raw element value `count` times at dst (contiguous), with v128 splats on simd. */
export function fillRun(k: Kernel, dst: () => Expr, value: Expr, elemBytes: number, count: number): Expr[] {
  const t = rawType(elemBytes);
  const v = k.local(t);
  const out: Expr[] = [v.set(value)];
  const bytes = count * elemBytes;
  let at = 0;
  if (k.simd && bytes >= 32) {
    const splat = { 1: k.i8x16, 2: k.i16x8, 4: k.i32x4, 8: k.i64x2 }[elemBytes as 1 | 2 | 4 | 8].splat(v.get());
    const s = k.local('v128');
    out.push(s.set(splat));
    const vecBytes = bytes - (bytes % 16);
    if (vecBytes > BULK_COPY_BYTES) {
      const i = k.local('i32');
      out.push(k.for(i, 0, vecBytes, 16, () => k.v128.store(0, 1, k.i32.add(dst(), i.get()), s.get())));
      at = vecBytes;
    } else for (; at < vecBytes; at += 16) out.push(k.v128.store(at, 1, dst(), s.get()));
  }
  const rest = (bytes - at) / elemBytes;
  if (rest > 8) {
    const i = k.local('i32');
    out.push(k.for(i, at, bytes, elemBytes, () => storeRaw(k, elemBytes, k.i32.add(dst(), i.get()), v.get())));
  } else for (; at < bytes; at += elemBytes) out.push(storeRaw(k, elemBytes, dst(), v.get(), at));
  return out;
}

/** Builds (or reuses) the kernel copy(src, dst) for a plan's shape and strides; undefined when empty. */
export function copyKernel(ctx: EmitCtx<unknown>, elemBytes: number, plan: CopyPlan): string | undefined {
  if (numel(plan.shape) === 0) return undefined;
  const inBytes = (s: number[]) => s.map((x) => x * elemBytes);
  const c = collapseDims(plan.shape, [inBytes(plan.src.strides), inBytes(plan.dst.strides)]);
  const [srcS, dstS] = c.strides;
  const key = `copy:${elemBytes}:${c.shape}:${srcS}:${dstS}`;
  return ctx.kernel(key, ['i32', 'i32'], (k) => {
    const [src, dst] = k.params;
    const D = c.shape.length;
    if (D === 0) return copyRun(k, () => dst.get(), () => src.get(), elemBytes);
    const n = c.shape[D - 1];
    const si = srcS[D - 1], di = dstS[D - 1];
    if (k.simd && (elemBytes === 4 || elemBytes === 1) && D >= 2) {
      // A 4-byte transpose in 4x4 blocks (four v128 loads, eight shuffles, four stores), a 1-byte one in 16x16
      // blocks (sixteen loads, 64 shuffles, sixteen stores).
      const [P, sp, dp] = [c.shape[D - 2], srcS[D - 2], dstS[D - 2]];
      const B = 16 / elemBytes;
      if (sp === elemBytes && di === elemBytes && si > 0 && dp > 0 && P % B === 0 && n % B === 0) {
        const outer2 = [srcS.slice(0, D - 2), dstS.slice(0, D - 2)];
        const block = () => (elemBytes === 4 ? transpose4x4(k, src, dst, P, n, si, dp) : transpose16x16Bytes(k, src, dst, P, n, si, dp));
        return [stridedLoop(k, c.shape.slice(0, D - 2), outer2, [src, dst], block, false)];
      }
    }
    const outer = c.shape.slice(0, D - 1);
    let inner: () => Expr[];
    if (si === elemBytes && di === elemBytes) inner = () => copyRun(k, () => dst.get(), () => src.get(), n * elemBytes);
    else if (si === 0 && di === elemBytes) inner = () => fillRun(k, () => dst.get(), loadRaw(k, elemBytes, src.get()), elemBytes, n);
    else inner = () => elementLoop(k, src, dst, n, si, di, elemBytes);
    return [stridedLoop(k, outer, [srcS.slice(0, D - 1), dstS.slice(0, D - 1)], [src, dst], inner, false)];
  });
}

/** i32 lanes -> the 16 byte indices of an i8x16.shuffle (lanes 0-3 from a, 4-7 from b). */
const lanes = (...l: number[]) => l.flatMap((x) => [4 * x, 4 * x + 1, 4 * x + 2, 4 * x + 3]);

/**
 * dst[p][j] = src[j][p] for a P x N block of 4-byte elements (P, N multiples of 4): src is contiguous along p
 * with byte stride sn between j's, dst contiguous along j with byte stride dp between p's. Pointers unchanged.
 */
function transpose4x4(k: Kernel, src: Local, dst: Local, P: number, N: number, sn: number, dp: number): Expr[] {
  const r = [0, 1, 2, 3].map(() => k.local('v128'));
  const t = [0, 1, 2, 3].map(() => k.local('v128'));
  const shuffle = (a: Local, b: Local, l: number[]) => k.i8x16.shuffle(a.get(), b.get(), lanes(...l));
  return blockTiles(k, src, dst, P, N, 4, 4, sn, dp, (s, d) => [
    ...r.map((ri, i) => ri.set(k.v128.load(i * sn, 1, s.get()))),
    t[0].set(shuffle(r[0], r[1], [0, 4, 1, 5])), t[1].set(shuffle(r[0], r[1], [2, 6, 3, 7])),
    t[2].set(shuffle(r[2], r[3], [0, 4, 1, 5])), t[3].set(shuffle(r[2], r[3], [2, 6, 3, 7])),
    k.v128.store(0, 1, d.get(), shuffle(t[0], t[2], [0, 1, 4, 5])),
    k.v128.store(dp, 1, d.get(), shuffle(t[0], t[2], [2, 3, 6, 7])),
    k.v128.store(2 * dp, 1, d.get(), shuffle(t[1], t[3], [0, 1, 4, 5])),
    k.v128.store(3 * dp, 1, d.get(), shuffle(t[1], t[3], [2, 3, 6, 7])),
  ]);
}

/** Walks a P x N block in B x B tiles (pointers unchanged): tile(s, d) moves one tile from s to d. */
function blockTiles(k: Kernel, src: Local, dst: Local, P: number, N: number, B: number, esz: number, sn: number, dp: number,
  tile: (s: Local, d: Local) => Expr[]): Expr[] {
  const rowS = k.local('i32'), rowD = k.local('i32'), s = k.local('i32'), d = k.local('i32');
  return [
    rowS.set(src.get()), rowD.set(dst.get()),
    k.loop(0, P / B, () => [
      s.set(rowS.get()), d.set(rowD.get()),
      k.loop(0, N / B, () => [...tile(s, d), s.set(k.i32.add(s.get(), k.c32(B * sn))), d.set(k.i32.add(d.get(), k.c32(B * esz)))]),
      rowS.set(k.i32.add(rowS.get(), k.c32(B * esz))), rowD.set(k.i32.add(rowD.get(), k.c32(B * dp))),
    ]),
  ];
}

/**
 * transpose4x4's layout for 1-byte elements in 16x16 tiles. Four rounds of the same step (row i interleaved byte by
 * byte with row i + 8, low halves to row 2i, high halves to row 2i + 1) each rotate the 8-bit (row, column)
 * index by one bit; four rotations swap row and column.
 */
function transpose16x16Bytes(k: Kernel, src: Local, dst: Local, P: number, N: number, sn: number, dp: number): Expr[] {
  const bufs = [0, 1].map(() => Array.from({ length: 16 }, () => k.local('v128')));
  const lo = Array.from({ length: 16 }, (_, b) => (b % 2 ? 16 : 0) + (b >> 1));
  const hi = lo.map((x) => x + 8);
  return blockTiles(k, src, dst, P, N, 16, 1, sn, dp, (s, d) => {
    const stmts: Expr[] = bufs[0].map((r, i) => r.set(k.v128.load(i * sn, 1, s.get())));
    for (let round = 0; round < 4; round++) {
      const [from, to] = [bufs[round % 2], bufs[(round + 1) % 2]];
      for (let i = 0; i < 8; i++) {
        stmts.push(to[2 * i].set(k.i8x16.shuffle(from[i].get(), from[i + 8].get(), lo)), to[2 * i + 1].set(k.i8x16.shuffle(from[i].get(), from[i + 8].get(), hi)));
      }
    }
    stmts.push(...bufs[0].map((r, p) => k.v128.store(p * dp, 1, d.get(), r.get())));
    return stmts;
  });
}

/** n single elements at byte strides si/di from the current pointers (which are left unchanged). */
function elementLoop(k: Kernel, src: Local, dst: Local, n: number, si: number, di: number, elemBytes: number): Expr[] {
  const s = k.local('i32'), d = k.local('i32');
  return [
    s.set(src.get()), d.set(dst.get()),
    k.loop(0, n, () => [
      storeRaw(k, elemBytes, d.get(), loadRaw(k, elemBytes, s.get())),
      s.set(k.i32.add(s.get(), k.c32(si))),
      d.set(k.i32.add(d.get(), k.c32(di))),
    ]),
  ];
}

/** Emits the call(s) performing `plan` from the tensor at srcPtr into the tensor at dstPtr. */
export function emitCopy(ctx: EmitCtx<unknown>, dtype: DType, srcPtr: number, dstPtr: number, plan: CopyPlan): void {
  const eb = DTYPE_SIZE[dtype];
  for (const p of tiled(plan, eb)) {
    const fn = copyKernel(ctx, eb, p);
    if (fn) ctx.call(fn, [srcPtr + p.src.offset * eb, dstPtr + p.dst.offset * eb]);
  }
}

/** Tile edge (elements) for transposing copies: a tile's source and destination lines stay in L1. */
const TILE_BYTES = 64;
/** Only source strides at least this long (bytes) are worth tiling. */
const TILE_MIN_STRIDE = 256;

/**
 * A transposing copy (destination contiguous in the last dim, source contiguous in the one before) walks the
 * source a whole row apart per element, missing the cache every time on large tensors. Split it into square
 * tiles, plus the strips the tiles leave over; anything else is returned as is.
 */
function tiled(plan: CopyPlan, eb: number): CopyPlan[] {
  const c = collapseDims(plan.shape, [plan.src.strides, plan.dst.strides]);
  const D = c.shape.length;
  const [src, dst] = c.strides;
  if (D < 2 || dst[D - 1] !== 1 || src[D - 2] !== 1 || Math.abs(src[D - 1] * eb) < TILE_MIN_STRIDE) return [plan];
  const T = TILE_BYTES / eb;
  const [P, N] = [c.shape[D - 2], c.shape[D - 1]];
  if (P < T || N < T) return [plan];
  const pf = Math.floor(P / T) * T, nf = Math.floor(N / T) * T;
  const outer = c.shape.slice(0, D - 2);
  const part = (shape: number[], p0: number, n0: number, s: number[], d: number[]): CopyPlan => ({
    shape: [...outer, ...shape],
    src: { offset: plan.src.offset + p0 * src[D - 2] + n0 * src[D - 1], strides: [...src.slice(0, D - 2), ...s] },
    dst: { offset: plan.dst.offset + p0 * dst[D - 2] + n0 * dst[D - 1], strides: [...dst.slice(0, D - 2), ...d] },
  });
  const [sp, sn, dp, dn] = [src[D - 2], src[D - 1], dst[D - 2], dst[D - 1]];
  const parts = [part([pf / T, nf / T, T, T], 0, 0, [T * sp, T * sn, sp, sn], [T * dp, T * dn, dp, dn])];
  if (nf < N) parts.push(part([pf, N - nf], 0, nf, [sp, sn], [dp, dn]));
  if (pf < P) parts.push(part([P - pf, N], pf, 0, [sp, sn], [dp, dn]));
  return parts;
}

/** The raw bytes of a typed array (for ctx.data). */
export const bytesOf = (a: TypedArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Emits dst[region] = value (a one-element array of dtype's raw representation) for every element of `dst`. */
export function emitFill(ctx: EmitCtx<unknown>, dtype: DType, value: TypedArray, dstPtr: number, shape: Shape, dst: Strided = dense(shape)): void {
  emitCopy(ctx, dtype, ctx.data(bytesOf(value)), dstPtr, { shape, src: { offset: 0, strides: shape.map(() => 0) }, dst });
}

/** One copy of an op: from input `from` into output `to` along `plan`. */
export interface Move { from: number; to: number; plan: CopyPlan }

/** Evaluates moves on constant inputs (constant folding), into `results` (zeroed outputs by default). */
export function runMoves(
  inputs: readonly ({ const?: Tensor } | undefined)[], outs: readonly { dtype: DType; shape: Shape }[], moves: Move[],
  results = outs.map((o) => makeTensor(o.dtype, o.shape)),
): Tensor[] {
  for (const m of moves) runCopy(inputs[m.from]!.const!.data, results[m.to].data, m.plan);
  return results;
}

/** Emits the kernels and calls performing moves between the node's operands. */
export function emitMoves(ctx: EmitCtx<unknown>, moves: Move[]): void {
  for (const m of moves) {
    const x = ctx.inputs[m.from]!;
    emitCopy(ctx, x.dtype, x.ptr, ctx.outputs[m.to].ptr, m.plan);
  }
}
