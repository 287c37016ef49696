// col2im for any number of spatial dims, the scatter half of a transposed convolution computed as a GEMM: the
// GEMM writes, for each output channel m and kernel position kk, the row [m*KK + kk] of a column matrix holding
// that tap's contribution at every input position; this adds the rows of a range of input rows into the output
// at input position * stride + kk * dilation - pad. Rows of the last spatial axis are added as segments (the
// valid range is computed once per kernel position), so there is no per-element bounds test.

import type { ConvGeometry } from '../ops/conv-geometry.js';
import type { EmitCtx } from '../ops/types.js';
import { validColumns } from './im2col.js';
import type { Expr, Kernel } from './wasm.js';

export interface Col2imSpec {
  /** The transposed convolution's geometry: inSize is its input, outSize its output. */
  geo: ConvGeometry;
  /** Output channels per group. */
  channels: number;
  /** Byte stride between rows of the column matrix. */
  rowBytes: number;
}

/** Kernel-position iterations the primer runs in all: V8 tiers a function up after executing that much of it. */
const PRIME_ITERATIONS = 20000;

/** Emits `y += col2im(col)` for input rows r0 .. r0+rCount-1 of one group (all i32 expressions). */
export type Col2imCall = (k: Kernel, col: Expr, y: Expr, r0: Expr, rCount: Expr) => Expr;

/** The col2im function for this geometry (one per geometry: the loop bounds are constants). */
export function col2im(ctx: EmitCtx<unknown>, s: Col2imSpec): Col2imCall {
  const key = `col2im:${JSON.stringify(s.geo)}:${s.channels}:${s.rowBytes}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32'], (k) => buildCol2im(k, s));
  // No rows: it writes nothing, but walks its channel and kernel loops, enough for V8 to optimize it before the
  // first inference (the function is specific to this geometry, so nothing else warms it up).
  const walks = s.channels * s.geo.kernel.reduce((a, b) => a * b, 1);
  ctx.prime(fn, (zeros, out) => [zeros, out, 0, 0], Math.max(4, Math.min(200, Math.ceil(PRIME_ITERATIONS / walks))));
  return (k, col, y, r0, rCount) => k.call(fn, [col, y, r0, rCount]);
}

function buildCol2im(k: Kernel, s: Col2imSpec): Expr[] {
  const { geo } = s;
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const [col, y, r0, rCount] = k.params;
  const D = geo.inSize.length, L = D - 1;
  const W = geo.inSize[L], OL = geo.outSize[L], KW = geo.kernel[L];
  const sL = geo.strides[L], dL = geo.dilations[L], pL = geo.padBegin[L];
  const outStride: number[] = [];
  let acc = 1;
  for (let t = D - 1; t >= 0; t--) { outStride[t] = acc; acc *= geo.outSize[t]; }
  const outPlane = acc;
  const kIdx = geo.kernel.map(() => k.local('i32'));
  const inIdx = Array.from({ length: L }, () => k.local('i32'));
  const m = k.local('i32'), r = k.local('i32'), rem = k.local('i32'), o = k.local('i32'), valid = k.local('i32');
  const yc = k.local('i32'), colRow = k.local('i32'), dstRow = k.local('i32'), srcOff = k.local('i32');
  const dst = k.local('i32'), src = k.local('i32'), iw = k.local('i32'), tmp = k.local('i32');
  const lo = [k.local('i32'), k.local('i32')], hi = [k.local('i32'), k.local('i32')], vlo = k.local('i32'), vhi = k.local('i32');
  /** Taps kw and kw+1 of a stride-2, undilated last axis land on alternate outputs: one interleaved vector add. */
  const pairs = k.simd && sL === 2 && dL === 1 && KW >= 2;
  const kOff = (extra: number) => () => i32.add(i32.mul(kIdx[L].get(), c32(dL)), c32(extra));
  const addTo = (v: Expr) => k.f32.store(0, 4, dst.get(), k.f32.add(k.f32.load(0, 4, dst.get()), v));

  /** dst, src at input column iw of tap kw + extra (column matrix row colRow + extra rows). */
  const point = (extra: number): Expr[] => [
    dst.set(i32.add(dstRow.get(), i32.shl(i32.sub(i32.add(i32.mul(iw.get(), c32(sL)), kOff(extra)()), c32(pL)), c32(2)))),
    src.set(i32.add(i32.add(colRow.get(), c32(extra * s.rowBytes)), i32.add(srcOff.get(), i32.shl(iw.get(), c32(2))))),
  ];
  /** Adds tap kw + extra over input columns [iw, to) (vectors when the outputs are contiguous). */
  const run = (extra: number, to: () => Expr): Expr[] => {
    const out: Expr[] = [...point(extra)];
    if (k.simd && sL === 1) {
      out.push(k.while(() => i32.le_s(i32.add(iw.get(), c32(4)), to()), [
        k.v128.store(0, 4, dst.get(), k.f32x4.add(k.v128.load(0, 4, dst.get()), k.v128.load(0, 4, src.get()))),
        dst.set(i32.add(dst.get(), c32(16))), src.set(i32.add(src.get(), c32(16))), iw.set(i32.add(iw.get(), c32(4))),
      ]));
    }
    out.push(k.while(() => i32.lt_s(iw.get(), to()), [
      addTo(k.f32.load(0, 4, src.get())),
      dst.set(i32.add(dst.get(), c32(4 * sL))), src.set(i32.add(src.get(), c32(4))), iw.set(i32.add(iw.get(), c32(1))),
    ]));
    return out;
  };
  const single: Expr[] = [iw.set(lo[0].get()), ...run(0, () => hi[0].get())];
  const pair: Expr[] = [];
  if (pairs) {
    // each tap alone outside the common range [vlo, vhi), both interleaved inside it
    const b = s.rowBytes;
    const a0 = k.local('v128'), a1 = k.local('v128');
    const inter = (lanesAt: number[]) => k.i8x16.shuffle(a0.get(), a1.get(), lanesAt.flatMap((l) => [0, 1, 2, 3].map((q) => 4 * l + q)));
    for (const t of [0, 1]) {
      pair.push(
        iw.set(lo[t].get()), ...run(t, () => k.select(i32.lt_s(vlo.get(), hi[t].get()), vlo.get(), hi[t].get())),
        iw.set(k.select(i32.gt_s(vhi.get(), lo[t].get()), vhi.get(), lo[t].get())), ...run(t, () => hi[t].get()),
      );
    }
    pair.push(
      iw.set(vlo.get()), ...point(0),
      k.while(() => i32.le_s(i32.add(iw.get(), c32(4)), vhi.get()), [
        a0.set(k.v128.load(0, 4, src.get())), a1.set(k.v128.load(b, 4, src.get())),
        k.v128.store(0, 4, dst.get(), k.f32x4.add(k.v128.load(0, 4, dst.get()), inter([0, 4, 1, 5]))),
        k.v128.store(16, 4, dst.get(), k.f32x4.add(k.v128.load(16, 4, dst.get()), inter([2, 6, 3, 7]))),
        dst.set(i32.add(dst.get(), c32(32))), src.set(i32.add(src.get(), c32(16))), iw.set(i32.add(iw.get(), c32(4))),
      ]),
      k.while(() => i32.lt_s(iw.get(), vhi.get()), [
        addTo(k.f32.load(0, 4, src.get())),
        k.f32.store(4, 4, dst.get(), k.f32.add(k.f32.load(4, 4, dst.get()), k.f32.load(b, 4, src.get()))),
        dst.set(i32.add(dst.get(), c32(8))), src.set(i32.add(src.get(), c32(4))), iw.set(i32.add(iw.get(), c32(1))),
      ]),
    );
  }

  /** For every input row of the chunk whose output row exists: dstRow, srcOff, then the segment(s). */
  const rows = (segment: Expr[]): Expr => {
    const body: Expr[] = [rem.set(r.get())];
    for (let t = L - 1; t >= 0; t--) {
      body.push(inIdx[t].set(i32.rem_u(rem.get(), c32(geo.inSize[t]))), rem.set(i32.div_u(rem.get(), c32(geo.inSize[t]))));
    }
    body.push(valid.set(c32(1)), dstRow.set(yc.get()));
    for (let t = 0; t < L; t++) {
      body.push(
        o.set(i32.add(i32.mul(inIdx[t].get(), c32(geo.strides[t])), i32.sub(i32.mul(kIdx[t].get(), c32(geo.dilations[t])), c32(geo.padBegin[t])))),
        valid.set(i32.and(valid.get(), i32.lt_u(o.get(), c32(geo.outSize[t])))),
        dstRow.set(i32.add(dstRow.get(), i32.mul(o.get(), c32(outStride[t] * 4)))),
      );
    }
    body.push(k.if(valid.get(), [srcOff.set(i32.shl(i32.mul(i32.sub(r.get(), r0.get()), c32(W)), c32(2))), ...segment]));
    return k.dynFor(r, r0.get(), i32.add(r0.get(), rCount.get()), 1, () => body);
  };
  const columns = (t: number) => validColumns(k, lo[t], hi[t], tmp, { stride: sL, kOff: kOff(t), pad: pL, width: OL, OW: W });

  const lastAxis: Expr[] = [];
  const pairEnd = pairs ? KW - (KW % 2) : 0;
  if (pairs) {
    lastAxis.push(k.for(kIdx[L], 0, pairEnd, 2, () => [
      ...columns(0), ...columns(1),
      vlo.set(k.select(i32.gt_s(lo[0].get(), lo[1].get()), lo[0].get(), lo[1].get())),
      vhi.set(k.select(i32.lt_s(hi[0].get(), hi[1].get()), hi[0].get(), hi[1].get())),
      vhi.set(k.select(i32.lt_s(vhi.get(), vlo.get()), vlo.get(), vhi.get())),
      rows(pair),
      colRow.set(i32.add(colRow.get(), c32(2 * s.rowBytes))),
    ]));
  }
  lastAxis.push(k.for(kIdx[L], pairEnd, KW, 1, () => [...columns(0), rows(single), colRow.set(i32.add(colRow.get(), c32(s.rowBytes)))]));

  let nest: Expr = k.block(lastAxis);
  for (let t = L - 1; t >= 0; t--) nest = k.for(kIdx[t], 0, geo.kernel[t], 1, () => nest);
  return [
    colRow.set(col.get()), yc.set(y.get()),
    k.for(m, 0, s.channels, 1, () => [nest, yc.set(i32.add(yc.get(), c32(outPlane * 4)))]),
  ];
}
