// im2col for any number of spatial dims: copies the input patches of a range of output rows into a row-major
// [K][cols] matrix (K = channels x kernel positions, cols = output positions), zeros (or an int8 input's zero
// point) where the patch falls in the padding. Rows of the last spatial axis are copied as segments, so no per-element bounds tests.

import type { EmitCtx } from '../ops/types.js';
import type { ConvGeometry } from '../ops/conv-geometry.js';
import type { Expr, Kernel, Local } from './wasm.js';

/** Raw element copy helpers by byte size (values are moved as bits, so float16 needs no conversion). */
function rawLoad(k: Kernel, e: number, p: Expr): Expr {
  return e === 8 ? k.i64.load(0, 8, p) : e === 4 ? k.i32.load(0, 4, p) : e === 2 ? k.i32.load16_u(0, 2, p) : k.i32.load8_u(0, 1, p);
}
function rawStore(k: Kernel, e: number, p: Expr, v: Expr): Expr {
  return e === 8 ? k.i64.store(0, 8, p, v) : e === 4 ? k.i32.store(0, 4, p, v) : e === 2 ? k.i32.store16(0, 2, p, v) : k.i32.store8(0, 1, p, v);
}

/**
 * The output rows [r0, r0 + rc) of chunk `ch` (chunks of `chunk` rows of `ow` columns, `rows` in all) and their
 * columns [col0, col0 + ncols): the im2col tile a convolution's GEMM reads per chunk.
 */
export function chunkRange(k: Kernel, ch: Local, g: { chunk: number; rows: number; ow: number }, r: { r0: Local; rc: Local; col0: Local; ncols: Local }): Expr[] {
  const { i32 } = k;
  return [
    r.r0.set(i32.mul(ch.get(), k.c32(g.chunk))),
    r.rc.set(i32.sub(k.c32(g.rows), r.r0.get())),
    r.rc.set(k.select(i32.gt_s(r.rc.get(), k.c32(g.chunk)), k.c32(g.chunk), r.rc.get())),
    r.col0.set(i32.mul(r.r0.get(), k.c32(g.ow))),
    r.ncols.set(i32.mul(r.rc.get(), k.c32(g.ow))),
  ];
}

/** for (i = from; i < to(); i++) body, testing first (bounds are run-time values). */
export function forRange(k: Kernel, i: Local, from: Expr, to: () => Expr, body: Expr[]): Expr {
  return k.block([i.set(from), k.while(() => k.i32.lt_s(i.get(), to()), [...body, i.set(k.i32.add(i.get(), k.c32(1)))])]);
}

export interface Im2colSpec {
  geo: ConvGeometry;
  /** Input channels per group. */
  channels: number;
  elemBytes: number;
  /** Byte stride between rows of the destination matrix. */
  rowBytes: number;
  /** The value of padding (default 0): an int8 convolution pads with its input's zero point. 1-byte elements only. */
  fill?: number;
}

/**
 * Emits the im2col of output rows r0 .. r0+rCount-1 of one group's input x into dst (all i32 expressions); fill
 * overrides the padding value with a run-time one (2-D only: an int8 input whose zero point is computed at run time).
 */
export type Im2colCall = (k: Kernel, x: Expr, dst: Expr, r0: Expr, rCount: Expr, fill?: Expr) => Expr;

/**
 * The im2col for one convolution: writes the [K][rCount*OW] patch matrix of output rows r0 .. r0+rCount-1 (a row
 * = one position of every spatial axis but the last, flattened) at dst with row stride rowBytes. 2-D
 * convolutions share one kernel per element size that takes the geometry at run time: it serves every layer,
 * so it is primed and optimized before the first inference (a kernel per geometry would run each layer's first
 * call in V8's baseline tier). Other ranks get a kernel specialized to their geometry.
 */
export function im2col(ctx: EmitCtx<unknown>, s: Im2colSpec): Im2colCall {
  const g = s.geo;
  if (g.inSize.length !== 2) {
    const key = `im2col:${JSON.stringify(g)}:${s.channels}:${s.elemBytes}:${s.rowBytes}:${s.fill ?? 0}`;
    const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32'], (k) => buildIm2col(k, s));
    return (k, x, dst, r0, rCount, fill) => {
      if (fill !== undefined) throw new Error('internal: a run-time padding value needs a 2-D convolution');
      return k.call(fn, [x, dst, r0, rCount]);
    };
  }
  const e = s.elemBytes;
  const fn = ctx.kernel(`im2col2d:${e}`, IM2COL_2D_PARAMS.map(() => 'i32' as const), (k) => buildIm2col2d(k, e));
  // A 2x2 input, 3x3 kernel, pads 1: 9 rows of 4 values into the out area.
  ctx.prime(fn, (zeros, out) => [zeros, out, 0, 2, 1, 2, 2, 2, 3, 3, 1, 1, 1, 1, 1, 1, 4 * e, 0], IM2COL_PRIME_CALLS);
  const geometry = [s.channels, ...g.inSize, g.outSize[1], ...g.kernel, ...g.strides, ...g.dilations, ...g.padBegin, s.rowBytes, s.fill ?? 0];
  return (k, x, dst, r0, rCount, fill) => k.call(fn, [x, dst, r0, rCount, ...geometry.slice(0, -1).map((v) => k.c32(v)), fill ?? k.c32(geometry[geometry.length - 1])]);
}

const IM2COL_PRIME_CALLS = 250;
const IM2COL_2D_PARAMS = ['x', 'dst', 'r0', 'rCount', 'C', 'H', 'W', 'OW', 'KH', 'KW', 'sh', 'sw', 'dh', 'dw', 'ph', 'pw', 'rowBytes', 'fill'] as const;

/** A geometry value of the last spatial axis: a constant (specialized kernel) or a run-time parameter (shared kernel). */
type Val = number | Local;
const val = (k: Kernel, v: Val): Expr => (typeof v === 'number' ? k.c32(v) : v.get());

/**
 * lo, hi = the output columns [lo, hi) whose input column ow*stride + kOff - pad lies in [0, width)
 * (kOff: the kernel column times the dilation).
 */
export function validColumns(k: Kernel, lo: Local, hi: Local, tmp: Local, g: { stride: Val; kOff: () => Expr; pad: Val; width: Val; OW: Val }): Expr[] {
  const { i32 } = k;
  const v = (x: Val) => val(k, x), c32 = (n: number) => k.c32(n);
  return [
    tmp.set(i32.sub(v(g.pad), g.kOff())),
    lo.set(k.select(i32.gt_s(tmp.get(), c32(0)), i32.div_s(i32.add(tmp.get(), i32.sub(v(g.stride), c32(1))), v(g.stride)), c32(0))),
    lo.set(k.select(i32.gt_s(lo.get(), v(g.OW)), v(g.OW), lo.get())),
    tmp.set(i32.sub(i32.add(v(g.width), i32.sub(v(g.pad), c32(1))), g.kOff())),
    hi.set(k.select(i32.lt_s(tmp.get(), c32(0)), c32(0), i32.add(i32.div_s(tmp.get(), v(g.stride)), c32(1)))),
    hi.set(k.select(i32.gt_s(hi.get(), v(g.OW)), v(g.OW), hi.get())),
    hi.set(k.select(i32.lt_s(hi.get(), lo.get()), lo.get(), hi.get())),
  ];
}

/**
 * One destination segment of OW elements at seg: zeros before lo and from hi on, and in [lo, hi) element ow of
 * the input row whose column 0 (kernel offset and padding applied) is at colBase, read with the given stride.
 */
function segment(k: Kernel, e: number, ow: Local, seg: Local, colBase: Local, stride: Val, lo: Local, hi: Local, OW: Val, fill: () => Expr): Expr[] {
  const { i32 } = k;
  const c32 = (n: number) => k.c32(n);
  const at = (base: Local, i: Expr, bytes: number) => i32.add(base.get(), bytes === 1 ? i : i32.mul(i, c32(bytes)));
  const copy: Expr[] = [ow.set(lo.get())];
  if (k.simd && (e === 1 || e === 4)) {
    // Segments are short (often 7..56 values): an inline vector copy (16 bytes at a time) beats a memory.copy call.
    // Stride 2 takes the even elements of two vectors (the last may lie one past the row: read, never kept).
    const per = 16 / e;
    const from = (extra: number) => k.v128.load(extra, e, at(colBase, i32.mul(ow.get(), val(k, stride)), e));
    const vecLoop = (value: Expr) =>
      k.while(() => i32.le_s(i32.add(ow.get(), c32(per)), hi.get()), [k.v128.store(0, e, at(seg, ow.get(), e), value), ow.set(i32.add(ow.get(), c32(per)))]);
    const evenBytes = Array.from({ length: 16 }, (_, i) => 2 * e * Math.floor(i / e) + (i % e));
    const unit = () => vecLoop(from(0));
    const even = () => vecLoop(k.i8x16.shuffle(from(0), from(16), evenBytes));
    // Larger strides (stems such as 11x11 stride 4), 4-byte elements: four loads gathered into one vector store.
    const gather = (): Expr => {
      const p = () => at(colBase, i32.mul(ow.get(), val(k, stride)), e);
      let v = k.i32x4.splat(k.i32.load(0, 4, p()));
      for (let l = 1; l < 4; l++) v = k.i32x4.replace_lane(v, l, k.i32.load(0, 4, i32.add(p(), i32.mul(val(k, stride), c32(4 * l)))));
      return vecLoop(v);
    };
    if (typeof stride !== 'number') {
      const wide = e === 4 ? gather() : k.nop();
      copy.push(k.if(i32.eq(stride.get(), c32(1)), unit(), k.if(i32.eq(stride.get(), c32(2)), even(), wide)));
    } else if (stride === 1) copy.push(unit());
    else if (stride === 2) copy.push(even());
    else if (e === 4) copy.push(gather());
  }
  copy.push(k.while(() => i32.lt_s(ow.get(), hi.get()), [
    rawStore(k, e, at(seg, ow.get(), e), rawLoad(k, e, at(colBase, i32.mul(ow.get(), val(k, stride)), e))),
    ow.set(i32.add(ow.get(), c32(1))),
  ]));
  return [fillRange(k, e, ow, seg, c32(0), () => lo.get(), fill), ...copy, fillRange(k, e, ow, seg, hi.get(), () => val(k, OW), fill)];
}

/** Writes the padding value to elements [from, to) of the segment at seg. */
function fillRange(k: Kernel, e: number, ow: Local, seg: Local, from: Expr, to: () => Expr, fill: () => Expr): Expr {
  return forRange(k, ow, from, to, [rawStore(k, e, k.i32.add(seg.get(), k.i32.mul(ow.get(), k.c32(e))), fill())]);
}

function buildIm2col2d(k: Kernel, e: number): Expr[] {
  const [x, dst, r0, rCount, C, H, W, OW, KH, KW, sh, sw, dh, dw, ph, pw, rowBytes, fillParam] = k.params;
  const fill = () => (e === 8 ? k.c64(0) : e === 1 ? fillParam.get() : k.c32(0));
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const ci = k.local('i32'), kh = k.local('i32'), kw = k.local('i32'), r = k.local('i32'), ih = k.local('i32');
  const plane = k.local('i32'), rowIn = k.local('i32'), colBase = k.local('i32'), seg = k.local('i32'), dstRow = k.local('i32');
  const lo = k.local('i32'), hi = k.local('i32'), ow = k.local('i32'), tmp = k.local('i32'), xc = k.local('i32');
  const kOff = () => i32.mul(kw.get(), dw.get());

  const perRow: Expr[] = [
    ih.set(i32.sub(i32.add(i32.mul(r.get(), sh.get()), i32.mul(kh.get(), dh.get())), ph.get())),
    k.if(i32.lt_u(ih.get(), H.get()), [
      colBase.set(i32.add(xc.get(), i32.mul(i32.add(i32.mul(ih.get(), W.get()), i32.sub(kOff(), pw.get())), c32(e)))),
      ...segment(k, e, ow, seg, colBase, sw, lo, hi, OW, fill),
    ], [fillRange(k, e, ow, seg, c32(0), () => OW.get(), fill)]),
    seg.set(i32.add(seg.get(), rowIn.get())),
  ];
  const perKernel: Expr[] = [
    ...validColumns(k, lo, hi, tmp, { stride: sw, kOff, pad: pw, width: W, OW }),
    seg.set(dstRow.get()),
    k.dynFor(r, r0.get(), i32.add(r0.get(), rCount.get()), 1, () => perRow),
    dstRow.set(i32.add(dstRow.get(), rowBytes.get())),
  ];
  return [
    plane.set(i32.mul(i32.mul(H.get(), W.get()), c32(e))),
    rowIn.set(i32.mul(OW.get(), c32(e))),
    dstRow.set(dst.get()),
    k.dynFor(ci, c32(0), C.get(), 1, () => [
      xc.set(i32.add(x.get(), i32.mul(ci.get(), plane.get()))),
      k.dynFor(kh, c32(0), KH.get(), 1, () => k.dynFor(kw, c32(0), KW.get(), 1, () => perKernel)),
    ]),
  ];
}

function buildIm2col(k: Kernel, s: Im2colSpec): Expr[] {
  const { geo, elemBytes: e } = s;
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const [x, dst, r0, rCount] = k.params;
  const D = geo.inSize.length;
  const L = D - 1; // last axis
  const OW = geo.outSize[L];
  const inStride: number[] = [];
  let acc = 1;
  for (let t = D - 1; t >= 0; t--) { inStride[t] = acc; acc *= geo.inSize[t]; }
  const inPlane = acc;
  const kIdx = geo.kernel.map(() => k.local('i32'));
  const o = Array.from({ length: L }, () => k.local('i32'));
  const ci = k.local('i32'), r = k.local('i32'), rem = k.local('i32'), ih = k.local('i32'), valid = k.local('i32');
  const src = k.local('i32'), dstRow = k.local('i32'), seg = k.local('i32'), lo = k.local('i32'), hi = k.local('i32');
  const ow = k.local('i32'), tmp = k.local('i32');
  const sL = geo.strides[L], dL = geo.dilations[L], pL = geo.padBegin[L], inL = geo.inSize[L];
  const fill = () => (e === 8 ? k.c64(0) : k.c32(e === 1 ? s.fill ?? 0 : 0));

  const kOff = () => i32.mul(kIdx[L].get(), c32(dL));

  const rowBody: Expr[] = [rem.set(r.get())];
  for (let t = L - 1; t >= 0; t--) {
    rowBody.push(o[t].set(i32.rem_u(rem.get(), c32(geo.outSize[t]))));
    rowBody.push(rem.set(i32.div_u(rem.get(), c32(geo.outSize[t]))));
  }
  rowBody.push(valid.set(c32(1)), src.set(i32.add(x.get(), i32.mul(ci.get(), c32(inPlane * e)))));
  for (let t = 0; t < L; t++) {
    rowBody.push(ih.set(i32.sub(i32.add(i32.mul(o[t].get(), c32(geo.strides[t])), i32.mul(kIdx[t].get(), c32(geo.dilations[t]))), c32(geo.padBegin[t]))));
    rowBody.push(valid.set(i32.and(valid.get(), i32.lt_u(ih.get(), c32(geo.inSize[t])))));
    rowBody.push(src.set(i32.add(src.get(), i32.mul(ih.get(), c32(inStride[t] * e)))));
  }
  rowBody.push(
    k.if(valid.get(), [
      src.set(i32.add(src.get(), i32.mul(i32.sub(kOff(), c32(pL)), c32(e)))), // column 0 of the segment
      ...segment(k, e, ow, seg, src, sL, lo, hi, OW, fill),
    ], [fillRange(k, e, ow, seg, c32(0), () => c32(OW), fill)]),
    seg.set(i32.add(seg.get(), c32(OW * e))),
  );

  const perKernel: Expr[] = [
    ...validColumns(k, lo, hi, tmp, { stride: sL, kOff, pad: pL, width: inL, OW }),
    seg.set(dstRow.get()),
    forRange(k, r, r0.get(), () => i32.add(r0.get(), rCount.get()), rowBody),
    dstRow.set(i32.add(dstRow.get(), c32(s.rowBytes))),
  ];
  let nest: Expr = k.block(perKernel);
  for (let t = D - 1; t >= 0; t--) nest = k.for(kIdx[t], 0, geo.kernel[t], 1, () => nest);
  return [dstRow.set(dst.get()), k.for(ci, 0, s.channels, 1, () => nest)];
}
