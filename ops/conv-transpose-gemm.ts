// ConvTranspose on the shared float32 GEMM: per group, the column matrix
//   col[m*KK + kk][i] = sum_ci W[ci][m][kk] * X[ci][i]     (A = W^T packed at compile time, B = X read in place)
// is computed for a chunk of input rows, then col2im adds each row into the output at i*stride + kk*dilation - pad
// (codegen/col2im.ts). The output starts as the bias; a fused residual and activation run in one pass at the end,
// since overlapping taps must all be summed first.

import { applyActivation, applyActivationScalar, callGemm, gemmKernel, gemmNR, lanes, MR, NO_ACT, packA, type FusedAttrs } from '../codegen/gemm.js';
import { col2im } from '../codegen/col2im.js';
import { chunkRange } from '../codegen/im2col.js';
import type { Expr } from '../codegen/wasm.js';
import { numel } from '../src/ir/graph.js';
import type { ConvGeometry } from './conv-geometry.js';
import { ensureSlack } from './matmul.js';
import type { EmitCtx, Operand } from './types.js';

/** Bytes of one column-matrix chunk: keeps it within L2 between the GEMM writing it and col2im reading it. */
const CHUNK_BYTES = 1 << 20;

export interface ConvTransposePlan {
  /** Geometry with 1-D lifted to 2-D. */
  geo: ConvGeometry;
  batch: number; cin: number; cout: number; group: number;
  /** Per group: input channels (the GEMM depth) and output channels; kernel positions; column-matrix rows. */
  cg: number; mg: number; KK: number; rowsA: number;
  inPlane: number; outPlane: number;
  /** Input rows (all spatial axes but the last, flattened) and the last axis' size. */
  rows: number; iw: number;
  /** Input rows per chunk, the chunk count, and the column matrix's row stride in floats. */
  chunk: number; chunks: number; colsPad: number;
  /** Byte offset in scratch of the chunk's input packed into panels (after the column matrix). */
  packedAt: number;
}

export function planConvTranspose(geo: ConvGeometry, batch: number, cin: number, cout: number, group: number): ConvTransposePlan {
  const nr = 8; // as Conv: planned for the widest panel, so that scratch() agrees on both targets
  const cg = cin / group, mg = cout / group, KK = numel(geo.kernel), rowsA = mg * KK;
  const inPlane = numel(geo.inSize), outPlane = numel(geo.outSize);
  const iw = geo.inSize[geo.inSize.length - 1], rows = inPlane / iw;
  const maxCols = Math.max(nr, Math.floor(CHUNK_BYTES / (4 * (rowsA + cg)) / nr) * nr);
  const chunk = Math.max(1, Math.min(rows, Math.floor(maxCols / iw)));
  const chunks = Math.ceil(rows / chunk);
  const colsPad = (Math.ceil((chunk * iw) / nr) + 1) * nr;
  const packedAt = rowsA * colsPad * 4;
  return { geo, batch, cin, cout, group, cg, mg, KK, rowsA, inPlane, outPlane, rows, iw, chunk, chunks, colsPad, packedAt };
}

export const convTransposeScratch = (p: ConvTransposePlan) => p.packedAt + p.cg * p.colsPad * 4 + 64;

export function emitConvTransposeGemm(ctx: EmitCtx<FusedAttrs>, p: ConvTransposePlan, residual: Operand | undefined): void {
  const [x, w, b] = ctx.inputs as Operand[];
  const wData = w.const!.data as Float32Array;
  // A per group: row m*KK + kk, column ci = W[g*cg + ci][m][kk], packed into MR-row panels
  const parts = Array.from({ length: p.group }, (_, g) =>
    packA({ data: wData, rows: p.rowsA, cols: p.cg, rs: 1, cs: p.rowsA, offset: g * p.cg * p.rowsA }).bytes);
  const aGroup = parts[0].length;
  const packed = new Uint8Array(aGroup * p.group);
  parts.forEach((q, g) => packed.set(q, g * aGroup));
  const wPtr = ctx.data(packed);
  const biasPtr = b?.const ? b.ptr : 0;
  const act = ctx.attrs.act;
  ensureSlack(ctx);
  const gemm = gemmKernel(ctx, { a: 'contig', bias: 'none', residual: false, act: NO_ACT });
  const scatter = col2im(ctx, { geo: p.geo, channels: p.mg, rowBytes: p.colsPad * 4 });
  const nr = gemmNR(ctx.target);
  const pack = panelPacker(ctx);
  const panelBytes = p.cg * nr * 4;

  const key = `convtranspose_gemm:${JSON.stringify(p)}:${!!b}:${!!residual}:${JSON.stringify(act)}:${ctx.target}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const V = lanes(k);
    const [xp, wp, y, bias, res, scratch] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const n = k.local('i32'), g = k.local('i32'), ch = k.local('i32'), oc = k.local('i32'), i = k.local('i32');
    const xg = k.local('i32'), yg = k.local('i32'), yp = k.local('i32'), rp = k.local('i32');
    const r0 = k.local('i32'), rc = k.local('i32'), col0 = k.local('i32'), ncols = k.local('i32');
    const bv = k.local(V.type);
    const total = p.batch * p.cout * p.outPlane;
    const vecEnd = (count: number) => count - (count % V.L);

    // y = bias (or 0), plane by plane
    const planeEnd = vecEnd(p.outPlane);
    const init: Expr[] = [
      yp.set(y.get()),
      k.for(n, 0, p.batch, 1, () => k.for(oc, 0, p.cout, 1, () => [
        bv.set(b ? V.loadSplat(i32.add(bias.get(), i32.shl(oc.get(), c32(2)))) : V.zero()),
        k.for(i, 0, planeEnd, V.L, () => [V.store(yp.get(), bv.get()), yp.set(i32.add(yp.get(), c32(V.L * 4)))]),
        k.for(i, planeEnd, p.outPlane, 1, () => [k.f32.store(0, 4, yp.get(), V.L > 1 ? k.f32x4.extract_lane(bv.get(), 0) : bv.get()), yp.set(i32.add(yp.get(), c32(4)))]),
      ])),
    ];

    const chunkBody: Expr[] = [
      ...chunkRange(k, ch, { chunk: p.chunk, rows: p.rows, ow: p.iw }, { r0, rc, col0, ncols }),
      k.call(pack, [i32.add(xg.get(), i32.shl(col0.get(), c32(2))), i32.add(scratch.get(), c32(p.packedAt)), ncols.get(), c32(p.cg), c32(p.inPlane * 4)]),
      callGemm(k, gemm, {
        a: i32.add(wp.get(), i32.mul(g.get(), c32(aGroup))), sA: c32(MR * 4), pA: c32(p.cg * MR * 4),
        b: i32.add(scratch.get(), c32(p.packedAt)), ldb: c32(nr * 4), pB: c32(panelBytes),
        c: scratch.get(), ldc: c32(p.colsPad * 4),
        M: c32(p.rowsA), N: ncols.get(), K: c32(p.cg),
      }),
      scatter(k, scratch.get(), yg.get(), r0.get(), rc.get()),
    ];
    const main = k.for(n, 0, p.batch, 1, () => k.for(g, 0, p.group, 1, () => [
      xg.set(i32.add(xp.get(), i32.mul(i32.add(i32.mul(n.get(), c32(p.cin)), i32.mul(g.get(), c32(p.cg))), c32(p.inPlane * 4)))),
      yg.set(i32.add(y.get(), i32.mul(i32.add(i32.mul(n.get(), c32(p.cout)), i32.mul(g.get(), c32(p.mg))), c32(p.outPlane * 4)))),
      k.for(ch, 0, p.chunks, 1, () => chunkBody),
    ]));

    // y = act(y + residual), after every tap has been added
    const epilogue: Expr[] = [];
    if (residual || act.kind !== 'none') {
      const finish = (v: Expr, load: (ptr: Expr) => Expr, one: boolean) => {
        const sum = residual ? (one ? k.f32.add(v, load(rp.get())) : V.add(v, load(rp.get()))) : v;
        return one ? applyActivationScalar(k, act, sum) : applyActivation(k, act, sum);
      };
      const end = vecEnd(total);
      epilogue.push(
        yp.set(y.get()), rp.set(res.get()),
        k.for(i, 0, end, V.L, () => [
          V.store(yp.get(), finish(V.load(yp.get()), (q) => V.load(q), false)),
          yp.set(i32.add(yp.get(), c32(V.L * 4))), rp.set(i32.add(rp.get(), c32(V.L * 4))),
        ]),
        k.for(i, end, total, 1, () => [
          k.f32.store(0, 4, yp.get(), finish(k.f32.load(0, 4, yp.get()), (q) => k.f32.load(0, 4, q), true)),
          yp.set(i32.add(yp.get(), c32(4))), rp.set(i32.add(rp.get(), c32(4))),
        ]),
      );
    }
    return [...init, main, ...epilogue];
  });
  ctx.call(fn, [x.ptr, wPtr, ctx.outputs[0].ptr, biasPtr, residual?.ptr ?? 0, ctx.scratch()]);
}

/**
 * The shared function packing `rows` rows of `cols` floats (srcStride bytes apart) into NR-column panels at dst
 * ([ceil(cols/NR)][rows][NR]; the last panel's extra columns are whatever follows each row). The chunk's input is
 * packed this way because, read in place, its rows (a plane apart, often a power of two bytes) would share a few
 * cache sets and evict each other between the GEMM's row blocks. Primed, as it serves every layer.
 */
function panelPacker(ctx: EmitCtx<unknown>): string {
  const nr = gemmNR(ctx.target);
  const fn = ctx.kernel(`pack_panels:${nr}`, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const V = lanes(k);
    const [src, dst, cols, rows, srcStride] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const r = k.local('i32'), j = k.local('i32'), s = k.local('i32'), d = k.local('i32'), panel = k.local('i32');
    return [
      panel.set(i32.mul(rows.get(), c32(nr * 4))),
      k.dynFor(r, c32(0), rows.get(), 1, () => [
        s.set(i32.add(src.get(), i32.mul(r.get(), srcStride.get()))),
        d.set(i32.add(dst.get(), i32.mul(r.get(), c32(nr * 4)))),
        k.dynFor(j, c32(0), cols.get(), nr, () => [
          ...Array.from({ length: nr / V.L }, (_, q) => V.store(d.get(), V.load(s.get(), q * V.L * 4), q * V.L * 4)),
          s.set(i32.add(s.get(), c32(nr * 4))),
          d.set(i32.add(d.get(), panel.get())),
        ]),
      ]),
    ];
  });
  // 32 columns of 8 rows (all read from the zero area): PRIME_AREA_BYTES written
  ctx.prime(fn, (zeros, out) => [zeros, out, 32, 8, 0], 400);
  return fn;
}
