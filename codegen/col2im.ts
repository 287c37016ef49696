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

/** Emits `y += col2im(col)` for input rows r0 .. r0+rCount-1 of one group (all i32 expressions). */
export type Col2imCall = (k: Kernel, col: Expr, y: Expr, r0: Expr, rCount: Expr) => Expr;

/** The col2im function for this geometry (one per geometry: the loop bounds are constants). */
export function col2im(ctx: EmitCtx<unknown>, s: Col2imSpec): Col2imCall {
  const key = `col2im:${JSON.stringify(s.geo)}:${s.channels}:${s.rowBytes}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32'], (k) => buildCol2im(k, s));
  return (k, col, y, r0, rCount) => k.call(fn, [col, y, r0, rCount]);
}

function buildCol2im(k: Kernel, s: Col2imSpec): Expr[] {
  const { geo } = s;
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const [col, y, r0, rCount] = k.params;
  const D = geo.inSize.length, L = D - 1;
  const W = geo.inSize[L], OL = geo.outSize[L];
  const sL = geo.strides[L], dL = geo.dilations[L], pL = geo.padBegin[L];
  const outStride: number[] = [];
  let acc = 1;
  for (let t = D - 1; t >= 0; t--) { outStride[t] = acc; acc *= geo.outSize[t]; }
  const outPlane = acc;
  const kIdx = geo.kernel.map(() => k.local('i32'));
  const inIdx = Array.from({ length: L }, () => k.local('i32'));
  const m = k.local('i32'), r = k.local('i32'), rem = k.local('i32'), o = k.local('i32'), valid = k.local('i32');
  const yc = k.local('i32'), colRow = k.local('i32'), dst = k.local('i32'), src = k.local('i32');
  const lo = k.local('i32'), hi = k.local('i32'), tmp = k.local('i32'), iw = k.local('i32');
  const kOff = () => i32.mul(kIdx[L].get(), c32(dL));

  const addOne = (): Expr => k.f32.store(0, 4, dst.get(), k.f32.add(k.f32.load(0, 4, dst.get()), k.f32.load(0, 4, src.get())));
  const step = (dstBytes: number, srcBytes: number, n: number): Expr[] => [
    dst.set(i32.add(dst.get(), c32(dstBytes))), src.set(i32.add(src.get(), c32(srcBytes))), iw.set(i32.add(iw.get(), c32(n))),
  ];
  const segment: Expr[] = [iw.set(lo.get())];
  if (k.simd && sL === 1) {
    // contiguous: four outputs per vector
    segment.push(k.while(() => i32.le_s(i32.add(iw.get(), c32(4)), hi.get()), [
      k.v128.store(0, 4, dst.get(), k.f32x4.add(k.v128.load(0, 4, dst.get()), k.v128.load(0, 4, src.get()))),
      ...step(16, 16, 4),
    ]));
  }
  segment.push(k.while(() => i32.lt_s(iw.get(), hi.get()), [addOne(), ...step(4 * sL, 4, 1)]));

  const rowBody: Expr[] = [rem.set(r.get())];
  for (let t = L - 1; t >= 0; t--) {
    rowBody.push(inIdx[t].set(i32.rem_u(rem.get(), c32(geo.inSize[t]))), rem.set(i32.div_u(rem.get(), c32(geo.inSize[t]))));
  }
  rowBody.push(valid.set(c32(1)), dst.set(yc.get()));
  for (let t = 0; t < L; t++) {
    rowBody.push(
      o.set(i32.add(i32.mul(inIdx[t].get(), c32(geo.strides[t])), i32.sub(i32.mul(kIdx[t].get(), c32(geo.dilations[t])), c32(geo.padBegin[t])))),
      valid.set(i32.and(valid.get(), i32.lt_u(o.get(), c32(geo.outSize[t])))),
      dst.set(i32.add(dst.get(), i32.mul(o.get(), c32(outStride[t] * 4)))),
    );
  }
  rowBody.push(k.if(valid.get(), [
    // output column of input column lo: lo * stride + kOff - pad
    dst.set(i32.add(dst.get(), i32.shl(i32.sub(i32.add(i32.mul(lo.get(), c32(sL)), kOff()), c32(pL)), c32(2)))),
    src.set(i32.add(colRow.get(), i32.shl(i32.add(i32.mul(i32.sub(r.get(), r0.get()), c32(W)), lo.get()), c32(2)))),
    ...segment,
  ]));

  const perKernel: Expr[] = [
    ...validColumns(k, lo, hi, tmp, { stride: sL, kOff, pad: pL, width: OL, OW: W }),
    k.dynFor(r, r0.get(), i32.add(r0.get(), rCount.get()), 1, () => rowBody),
    colRow.set(i32.add(colRow.get(), c32(s.rowBytes))),
  ];
  let nest: Expr = k.block(perKernel);
  for (let t = D - 1; t >= 0; t--) nest = k.for(kIdx[t], 0, geo.kernel[t], 1, () => nest);
  return [
    colRow.set(col.get()), yc.set(y.get()),
    k.for(m, 0, s.channels, 1, () => [nest, yc.set(i32.add(yc.get(), c32(outPlane * 4)))]),
  ];
}
