// MaxPool (without the Indices output) as two passes, since max over a box window is separable:
//   1. rows: for each output position of the leading spatial dims (all but the last), the max over the taps of
//      those dims of whole input rows, into a scratch row of width W (a vector of columns per step on simd);
//   2. columns: each output of that row is the max over its KW taps of the scratch row (a vector of outputs per step).
// The scratch row carries the lowest value in the begin/end padding, so the second pass has no edge cases, and every
// window shape (strides, dilations, pads, ceil_mode, 1-D to N-D) takes the same code. A tap row or column fully in
// the padding contributes the lowest value, as in the direct kernel.
//
// float32 lanes are 4 per vector (-inf the lowest; NaN inputs are skipped as in the direct kernel: a later x wins
// only if x > acc); int8 / uint8 lanes are 16 per vector (i8x16.max_s / max_u, -128 / 0 the lowest), so an int8
// pool runs at memory speed: max commutes with a DequantizeLinear of positive scale, the lowering runs MaxPool on
// the int8 tensor itself. A row or output count that is not a whole number of vectors ends with one vector that
// overlaps the previous one (max is idempotent), so only rows shorter than a vector take the scalar loop.

import { type Expr, type Kernel, type Local } from '../codegen/wasm.js';
import type { DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import { tapRange, type PoolGeom } from './pool.js';
import type { EmitCtx } from './types.js';

/** The dtypes the separable kernel takes. */
export type SeparableMaxDType = 'float32' | 'int8' | 'uint8';

/** What the kernel needs of an element type: scalar and vector max, loads, the lowest value. */
interface MaxElem {
  size: number; lanes: number; scalar: 'f32' | 'i32';
  lowest(k: Kernel): Expr;
  lowestVec(k: Kernel): Expr;
  load(k: Kernel, off: number, ptr: Expr): Expr;
  store(k: Kernel, off: number, ptr: Expr, v: Expr): Expr;
  /** v > acc, the direct kernel's rule. */
  greater(k: Kernel, v: Expr, acc: Expr): Expr;
  vmax(k: Kernel, acc: Expr, v: Expr): Expr;
  /** A vector of outputs at stride sx from row position `off` (bytes) of ptr, or undefined when that stride has no vector form. */
  strided(k: Kernel, sx: number, off: number, ptr: () => Expr): Expr | undefined;
}

const F32: MaxElem = {
  size: 4, lanes: 4, scalar: 'f32',
  lowest: (k) => k.cf32(-Infinity),
  lowestVec: (k) => k.f32x4.splat(k.cf32(-Infinity)),
  load: (k, off, ptr) => k.f32.load(off, 4, ptr),
  store: (k, off, ptr, v) => k.f32.store(off, 4, ptr, v),
  greater: (k, v, acc) => k.f32.gt(v, acc),
  vmax: (k, acc, v) => k.f32x4.pmax(acc, v),
  strided(k, sx, off, ptr) {
    if (sx === 1) return k.v128.load(off, 4, ptr());
    // stride 2: lanes 0, 2 of r[0..3] and 1, 3 of r[3..6] (no read past the 4th output's tap)
    if (sx === 2) return k.i8x16.shuffle(k.v128.load(off, 4, ptr()), k.v128.load(off + 12, 4, ptr()), [0, 1, 2, 3, 8, 9, 10, 11, 20, 21, 22, 23, 28, 29, 30, 31]);
    let e = k.v128.load32_splat(off, 4, ptr());
    for (let l = 1; l < 4; l++) e = k.f32x4.replace_lane(e, l, k.f32.load(off + l * sx * 4, 4, ptr()));
    return e;
  },
};

/** Bytes 0, 2, .. 14 of a and 1, 3, .. 15 of b: the even positions of a row loaded at p and p + 15. */
const EVEN_BYTES = Array.from({ length: 16 }, (_, i) => (i < 8 ? 2 * i : 16 + 2 * (i - 8) + 1));

function byteElem(signed: boolean): MaxElem {
  const lowest = signed ? -128 : 0;
  return {
    size: 1, lanes: 16, scalar: 'i32',
    lowest: (k) => k.c32(lowest),
    lowestVec: (k) => k.i8x16.splat(k.c32(lowest)),
    load: (k, off, ptr) => (signed ? k.i32.load8_s(off, 1, ptr) : k.i32.load8_u(off, 1, ptr)),
    store: (k, off, ptr, v) => k.i32.store8(off, 1, ptr, v),
    greater: (k, v, acc) => k.i32.gt_s(v, acc),
    vmax: (k, acc, v) => (signed ? k.i8x16.max_s(acc, v) : k.i8x16.max_u(acc, v)),
    strided(k, sx, off, ptr) {
      if (sx === 1) return k.v128.load(off, 1, ptr());
      // stride 2: bytes 0..15 and 15..30 (no read past the 16th output's tap)
      if (sx === 2) return k.i8x16.shuffle(k.v128.load(off, 1, ptr()), k.v128.load(off + 15, 1, ptr()), EVEN_BYTES);
      return undefined;
    },
  };
}

const ELEMS: Record<SeparableMaxDType, MaxElem> = { float32: F32, int8: byteElem(true), uint8: byteElem(false) };

export const separableMaxDType = (dt: DType): dt is SeparableMaxDType => dt in ELEMS;

/** Scratch row length in elements: the padded last dim, long enough for the last window. */
export function separableRowLength(g: PoolGeom): number {
  const D = g.inDims.length;
  const W = g.inDims[D - 1], OW = g.outDims[D - 1];
  const span = (OW - 1) * g.strides[D - 1] + (g.kernel[D - 1] - 1) * g.dilations[D - 1] + 1;
  return Math.max(g.padBegin[D - 1] + W, span);
}

/**
 * Scratch row length in elements the kernel uses: on simd, a row of fewer outputs than a vector is still computed
 * as one vector (the extra lanes are stored over the next row's outputs, written later), so it reads that far.
 */
function scratchRowLength(g: PoolGeom, dt: SeparableMaxDType, simd: boolean): number {
  const D = g.inDims.length;
  const lanes = ELEMS[dt].lanes;
  const wide = (lanes - 1) * g.strides[D - 1] + (g.kernel[D - 1] - 1) * g.dilations[D - 1] + 1;
  return Math.max(separableRowLength(g), simd && g.outDims[D - 1] < lanes ? wide : 0);
}

/** Scratch bytes of the separable kernel (the padded row). */
export function separableMaxScratch(g: PoolGeom, dt: SeparableMaxDType, simd: boolean): number {
  return scratchRowLength(g, dt, simd) * ELEMS[dt].size;
}

/** fn(x, y, row): the separable MaxPool of geometry g on dtype dt; row is the scratch row's address. */
export function separableMaxPoolKernel(ctx: EmitCtx<unknown>, g: PoolGeom, dt: SeparableMaxDType): string {
  const simd = ctx.target === 'simd';
  const el = ELEMS[dt];
  return ctx.kernel(`maxpool-separable:${dt}:${JSON.stringify(g)}:${simd}`, ['i32', 'i32', 'i32'], (k) => {
    const [x, y, row] = k.params;
    const D = g.inDims.length;
    const lead = D - 1;
    const W = g.inDims[lead], OW = g.outDims[lead], KW = g.kernel[lead], sx = g.strides[lead], dx = g.dilations[lead];
    const padX = g.padBegin[lead];
    const L = scratchRowLength(g, dt, simd);
    const E = el.size, V = el.lanes;
    const yEnd = k.local('i32');
    const inStrides = g.inDims.map((_, i) => numel(g.inDims.slice(i + 1)));
    const planeBytes = numel(g.inDims) * E;
    const xPlane = k.local('i32'), rowBase = k.local('i32'), rowOut = k.local('i32');
    const o = g.outDims.slice(0, lead).map(() => k.local('i32'));
    const lo = o.map(() => k.local('i32')), hi = o.map(() => k.local('i32')), cnt = o.map(() => k.local('i32'));
    const tap = o.map(() => k.local('i32'));
    // ptr[i]: the address of tap row (t_0..t_{i-1}) at column 0; ptr[lead] is a whole tap row
    const ptr = Array.from({ length: lead + 1 }, () => k.local('i32'));
    const col = k.local('i32'), ox = k.local('i32');
    const s = k.local(el.scalar), v = k.local(el.scalar);
    const vacc = simd ? [k.local('v128'), k.local('v128')] : [];
    /** base + i elements. */
    const at = (base: Expr, i: Expr): Expr => k.i32.add(base, E === 1 ? i : k.i32.shl(i, k.c32(Math.log2(E))));

    /** body(ptr) once per tap row of the leading dims. */
    const overTapRows = (body: (p: Local) => Expr[]): Expr => {
      const nest = (i: number): Expr => (i === lead ? k.block(body(ptr[lead]))
        : k.dynFor(tap[i], lo[i].get(), hi[i].get(), 1, () => [
          ptr[i + 1].set(k.i32.add(ptr[i].get(), k.i32.mul(tap[i].get(), k.c32(g.dilations[i] * inStrides[i] * E)))),
          nest(i + 1),
        ]));
      return k.block([ptr[0].set(rowBase.get()), nest(0)]);
    };
    /** acc = x > acc ? x : acc, the direct kernel's rule (a float NaN never wins). */
    const maxInto = (acc: Local, x: Expr): Expr => k.block([v.set(x), acc.set(k.select(el.greater(k, v.get(), acc.get()), v.get(), acc.get()))]);

    // pass 1: the scratch row at [padX, padX + W): two vectors of columns per step, then one (simd)
    const rowsPass: Expr[] = [];
    const vecCols = (n: number) => (): Expr[] => [
      ...vacc.slice(0, n).map((a) => a.set(el.lowestVec(k))),
      overTapRows((p) => vacc.slice(0, n).map((a, j) => a.set(el.vmax(k, a.get(), k.v128.load(16 * j, 1, at(p.get(), col.get())))))),
      ...vacc.slice(0, n).map((a, j) => k.v128.store(padX * E + 16 * j, 1, at(row.get(), col.get()), a.get())),
    ];
    let c0 = 0;
    if (simd && W >= V) {
      const pairs = Math.floor(W / (2 * V)) * 2 * V;
      if (pairs) rowsPass.push(k.for(col, 0, pairs, 2 * V, vecCols(2)));
      // whole vectors after the pairs, then one ending at W
      for (let c = pairs; c < W; c += V) rowsPass.push(k.block([col.set(k.c32(Math.min(c, W - V))), ...vecCols(1)()]));
      c0 = W;
    }
    rowsPass.push(k.for(col, c0, W, 1, () => [
      s.set(el.lowest(k)),
      overTapRows((p) => [maxInto(s, el.load(k, 0, at(p.get(), col.get())))]),
      el.store(k, padX * E, at(row.get(), col.get()), s.get()),
    ]));

    // pass 2: OW outputs from the scratch row, a vector per step where the stride allows (simd), else one at a time
    const tapAt = () => k.i32.add(row.get(), k.i32.mul(ox.get(), k.c32(sx * E)));
    const vecOut = (): Expr[] => {
      let acc = el.strided(k, sx, 0, tapAt)!;
      for (let kx = 1; kx < KW; kx++) acc = el.vmax(k, acc, el.strided(k, sx, kx * dx * E, tapAt)!);
      return [k.v128.store(0, 1, at(rowOut.get(), ox.get()), acc)];
    };
    const colsPass: Expr[] = [];
    let o0 = 0;
    const scalarOut = (from: number) => k.for(ox, from, OW, 1, () => [
      s.set(el.load(k, 0, tapAt())),
      ...Array.from({ length: KW - 1 }, (_, j) => maxInto(s, el.load(k, (j + 1) * dx * E, tapAt()))),
      el.store(k, 0, at(rowOut.get(), ox.get()), s.get()),
    ]);
    if (simd && OW >= V && el.strided(k, sx, 0, tapAt) !== undefined) {
      const whole = Math.floor(OW / V) * V;
      colsPass.push(k.for(ox, 0, whole, V, vecOut));
      if (whole < OW) colsPass.push(k.block([ox.set(k.c32(OW - V)), ...vecOut()]));
      o0 = OW;
    } else if (simd && el.strided(k, sx, 0, tapAt) !== undefined) {
      // fewer outputs than lanes: one vector whose extra lanes land on the next row's outputs (written after
      // this one), except on the last row of the output, which takes the scalar loop
      colsPass.push(k.if(k.i32.le_u(k.i32.add(rowOut.get(), k.c32(16)), yEnd.get()), k.block([ox.set(k.c32(0)), ...vecOut()]), scalarOut(0)));
      o0 = OW;
    }
    colsPass.push(scalarOut(o0));

    // one output row of the last dim: its leading-dim taps' rows start at rowBase
    const outRow = (): Expr[] => {
      let base: Expr = xPlane.get();
      for (let i = 0; i < lead; i++) {
        base = k.i32.add(base, k.i32.mul(k.i32.sub(k.i32.mul(o[i].get(), k.c32(g.strides[i])), k.c32(g.padBegin[i])), k.c32(inStrides[i] * E)));
      }
      return [
        rowBase.set(base),
        ...rowsPass,
        ...colsPass,
        rowOut.set(k.i32.add(rowOut.get(), k.c32(OW * E))),
      ];
    };
    const outLoops = (i: number): Expr => (i === lead ? k.block(outRow())
      : k.for(o[i], 0, g.outDims[i], 1, () => [...tapRange(k, g, i, o[i], false, lo[i], hi[i], cnt[i]), outLoops(i + 1)]));

    // the padding columns of the scratch row stay at the lowest value for the whole call
    const fill = (from: number, to: number) => k.for(col, from, to, 1, () => el.store(k, 0, at(row.get(), col.get()), el.lowest(k)));
    return [
      fill(0, padX),
      fill(padX + W, L),
      rowOut.set(y.get()),
      yEnd.set(k.i32.add(y.get(), k.c32(g.planes * numel(g.outDims) * E))),
      k.loop(0, g.planes, (p) => [
        xPlane.set(k.i32.add(x.get(), k.i32.mul(p.get(), k.c32(planeBytes)))),
        outLoops(0),
      ]),
    ];
  });
}
