// Winograd F(2x2, 3x3) for int8 3x3 convolutions (QLinearConv, ConvInteger, the lowered QDQ Conv) on 'simd', exact
// in integers: it produces the direct convolution's i32 accumulators, so the same outputs, bit for bit.
//
//   d' = x - x_zp (the padding is x_zp: 0)     V  = B^T d' B       |V|  <= 4 * 255      i16
//   w' = w - w_zp (per output channel)         U' = G' w' G'^T     |U'| <= 9 * 255      i16 (G' = 2G: integers)
//   M[xi] = sum over input channels of U'[xi] V[xi]: 16 GEMMs, i16 x i16 -> i32 (codegen/qgemm.ts)
//   Y' = A^T M A = 4 * acc                     acc = Y' >> 2, then bias and the direct kernel's requantization
//
// i32 adds and multiplies wrap, exact modulo 2^32, so overflow on the way does not matter as long as the final
// 4 * acc fits in i32; the plan refuses layers where it might not (|acc| <= 9 * Cin * 255 * 255).
// The module keeps the weights int8 as stored (reordered, same size) and transforms them into scratch on every
// call, a block of output channels at a time, as the float Winograd (conv-winograd.ts) does.
//
// Input layout: for each pair of input channels the padded input rows of a band of tile rows are copied with the
// two channels' bytes interleaved, even pixel rows into strip E and odd ones into strip O, one segment of 2 * TXv
// columns per tile row. With TXv = TX + 1 (a dummy tile ends each row) tile t = ty * TXv + tx of the band has its
// 4x4 patch at byte 4t of E, O, E + one segment, O + one segment: 4 tiles of a row per vector, and the 4 tiles x 2
// channels of a vector are exactly the GEMM's i16 pair layout. In the GEMM, tile (ty, tx) is column ty * TXg + tx:
// TXg = TX drops the dummy tiles (27x27: 98 columns a band instead of 105); TXg = TXv keeps them where that costs
// no panel of 8 columns and keeps every group of 4 tiles within one panel. The transforms walk each tile row in
// groups of 4; the last group's tiles past TX are computed, never stored to the output.

import { callQGemm, fusedAct, loadActVectors, narrowToBytes, qgemmKernel, requantLanes, zpOffset, type QEpilogue } from '../codegen/qgemm.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import type { ConvGeometry } from './conv-geometry.js';
import { outRange, requantIsBounded, type QConvParams } from './conv-int8.js';
import { oddLines, winogradTiles } from './conv-winograd.js';
import { ensureSlack } from './matmul.js';
import type { EmitCtx } from './types.js';

/**
 * Fewer output tiles than this: the transforms (the weights' above all) and the dummy tiles cost what the GEMM
 * saves. Measured against im2col on one layer: 25 tiles (10x10 output, 256 -> 256 channels) 0.82 of its time,
 * 16 tiles (7x7, 512 -> 512) 1.11, (8x8, 128 -> 128) 0.98.
 */
const MIN_TILES = 24;
/** Bytes of V and M for one band of tile rows, and of U' for one block of output channels. */
const BAND_BYTES = 1 << 20;
const U_BYTES = 1 << 20;
const PRIME_CALLS = 1000;

export interface QWinogradPlan {
  cin: number; cout: number; batch: number;
  H: number; W: number; OH: number; OW: number; pt: number; pl: number;
  /** Tile rows and columns, columns per band row with the dummy tile, tile rows per band and the band count. */
  TY: number; TX: number; TXv: number; TXg: number; bandTY: number; bands: number;
  /** Input channel pairs (K = 2 * pairs), output channels per block (a multiple of 4) and blocks. */
  pairs: number; CB: number; blocks: number;
  /**
   * Bytes of one xi's GEMM A panel (4 output channels), B panel (8 tiles; an odd number of cache lines) and M row
   * (a band's tiles). The 16 xi are interleaved: U' panel i of xi at U + (16i + xi) * pA, V panel j at
   * V + (16j + xi) * pB, M row co at M + (16co + xi) * row, so a transform reads or writes one small region per
   * step, not 16 distant ones.
   */
  pA: number; pB: number; row: number;
  at: { U: number; V: number; M: number; strips: number };
  scratch: number;
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;
/** Columns the GEMM computes for N: whole panels of 8, a last one of 1 to 4 as a half tile. */
const gemmColumns = (N: number) => (N % 8 > 0 && N % 8 <= 4 ? up(N, 8) - 4 : up(N, 8));

/** The plan when the int8 Winograd applies (any target: scratch() does not know it), else undefined. */
export function qwinogradPlan(geo: ConvGeometry, batch: number, cin: number, cout: number, group: number): QWinogradPlan | undefined {
  const tiles = winogradTiles(geo, cin, cout, group, MIN_TILES);
  // 4 * |acc| must fit in i32 for the wrapped Y' to be exactly 4 * acc
  if (!tiles || 4 * 9 * cin * 255 * 255 > 2 ** 31 - 1) return undefined;
  const [H, W] = geo.inSize, [OH, OW] = geo.outSize;
  const { TY, TX } = tiles, TXv = TX + 1;
  const pairs = Math.ceil(cin / 2);
  const CB = Math.max(4, Math.min(up(cout, 4), Math.floor(U_BYTES / (16 * pairs * 4 * 4)) * 4));
  // per tile of a band: V holds 2 * pairs i16, M holds CB i32, in each of the 16 slices
  const bandTY = Math.max(1, Math.min(TY, Math.floor(BAND_BYTES / (16 * (4 * pairs + 4 * CB) * TXv))));
  // GEMM columns per tile row: TX, unless the dummy tile saves no column panel (13x13: 49 or 56 columns, 7 panels
  // either way), where TXv keeps every group of 4 tiles within a panel (inputTransform stores it at once)
  const TXg = gemmColumns(bandTY * TX) < gemmColumns(bandTY * TXv) ? TX : TXv;
  // a band's tiles, and up to 3 more columns that the last group of tiles writes (inputTransform)
  const panels = Math.ceil((bandTY * TXg + 3) / 8);
  // V's slices at an odd number of cache lines (oddLines): at pairs * 32 bytes (2 KB at 128 input channels, 4 KB at
  // 256) the input transform's 16 stores per group of tiles fell into one or two L1 sets, and the GEMM's B panels
  // (16 * pB apart) into a few, evicting each other: layers with 128-256 channels ran 8-18% slower. U' and M
  // gained nothing measurable from the same padding, which would cost arena bytes.
  const pA = pairs * 16, pB = oddLines(pairs * 32), row = panels * 32;
  const uBytes = 16 * (CB / 4) * pA, vBytes = 16 * panels * pB, mBytes = 16 * CB * row;
  const at = { U: 0, V: uBytes, M: uBytes + vBytes, strips: uBytes + vBytes + mBytes };
  const scratch = at.strips + 2 * stripBytes(bandTY, TXv) + 64;
  return {
    cin, cout, batch, H, W, OH, OW, pt: geo.padBegin[0], pl: geo.padBegin[1],
    TY, TX, TXv, TXg, bandTY, bands: Math.ceil(TY / bandTY), pairs, CB, blocks: Math.ceil(cout / CB),
    pA, pB, row, at, scratch,
  };
}

/** Bytes of one strip: nTY + 1 segments of 4 * TXv bytes, and slack for the last vectors' reads and the pad store. */
const stripBytes = (nTY: number, TXv: number) => (nTY + 1) * 4 * TXv + 64;

/**
 * Weights [Cout][Cin][3][3] as stored, reordered to [Cout/4][Cin/2][9][4 filters][2 channels] (8 bytes per tap: the
 * weight transform's lanes, in the GEMM's i16 A pair order), and the zero points as i16 lanes [z0 z0 z1 z1 z2 z2 z3 z3]
 * per 4 filters. Padding filters are 0 with zero point 0, a padding channel holds its filter's zero point: w' = 0.
 */
function reorderWeights(q: QConvParams, pairs: number): { w: Uint8Array; zp: Uint8Array } {
  const blocks = Math.ceil(q.cout / 4);
  const w = q.wSigned ? new Int8Array(blocks * pairs * 72) : new Uint8Array(blocks * pairs * 72);
  const zp = new Int16Array(blocks * 8);
  for (let m = 0; m < q.cout; m++) {
    const z = q.wZp(m), b = m >> 2, lane = (m & 3) * 2;
    zp[b * 8 + lane] = z; zp[b * 8 + lane + 1] = z;
    for (let c = 0; c < 2 * pairs; c++) {
      for (let j = 0; j < 9; j++) w[((b * pairs + (c >> 1)) * 9 + j) * 8 + lane + (c & 1)] = c < q.cin ? Number(q.w[(m * q.cin + c) * 9 + j]) : z;
    }
  }
  return { w: new Uint8Array(w.buffer), zp: new Uint8Array(zp.buffer) };
}

export function emitQWinograd(ctx: EmitCtx<unknown>, p: QWinogradPlan, q: QConvParams): void {
  const y = ctx.outputs[0];
  const xType = q.x.dtype === 'int8' ? 'i8' : 'u8';
  const fout = q.epilogue.out === 'f32';
  const eb = q.epilogue.out === 'i32' || fout ? 4 : 1;
  const { w: wBytes, zp: zpBytes } = reorderWeights(q, p.pairs);
  const wPtr = ctx.data(wBytes), zpvPtr = ctx.data(zpBytes);
  // a missing bias, or a run-time scale shared by every channel, is read with stride 0
  const bias = fout ? q.fbias : q.bias;
  const biasPtr = bias ? ctx.data(new Uint8Array((fout ? Float32Array.from(bias) : Int32Array.from(bias)).buffer)) : ctx.data(new Uint8Array(4));
  const multPtr = q.scaleOperand ? q.scaleOperand.ptr : q.mult ? ctx.data(new Uint8Array(Float32Array.from(q.mult).buffer)) : ctx.data(new Uint8Array(4));
  // the direct kernel's epilogue: a fused activation as one multiplication where proven, no rounding clamp where bounded
  const act = q.act && outRange(q) ? fusedAct(q.act, ...outRange(q)!) : undefined;
  const actPtr = act ? ctx.data(new Uint8Array(act.params.buffer)) : 0;
  const biasStride = bias ? 4 : 0, multStride = q.mult && !q.scaleOperand ? 4 : 0;
  ensureSlack(ctx);
  const weights = weightTransform(ctx, q.wSigned);
  const input = inputTransform(ctx, xType);
  const epi: QEpilogue = { ...q.epilogue, act: act?.kind, bounded: requantIsBounded(q, 9 * q.cin, act) };
  const output = outputTransform(ctx, epi);
  // M's rows are whole panels (qwinogradPlan) and a block's rows a multiple of 4
  const gemm = qgemmKernel(ctx, { a: 'i16', b: 'i16', bias: 'none', out: 'i32', scale: 'row', lo: 0, hi: 0, wholeTiles: true, halfTile: true });
  const runtimeZp = typeof q.xZp !== 'number';
  const plane = p.OH * p.OW * eb;

  const key = `qconv_winograd:${JSON.stringify(p)}:${xType}:${q.wSigned}:${runtimeZp}:${output}:${biasStride}:${multStride}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [xp, wp, zpv, yp, bp, mp, scratch, zpArg, yZp, act] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const n = k.local('i32'), band = k.local('i32'), blk = k.local('i32'), xi = k.local('i32'), zp = k.local('i32');
    const ty0 = k.local('i32'), nTY = k.local('i32'), co0 = k.local('i32'), cb = k.local('i32'), xn = k.local('i32'), yn = k.local('i32');
    const at = (off: number) => i32.add(scratch.get(), c32(off));
    const slice = (off: number, bytes: number) => i32.add(at(off), i32.mul(xi.get(), c32(bytes)));
    const transformWeights = () => k.call(weights, [i32.add(wp.get(), i32.mul(co0.get(), c32(p.pairs * 18))), i32.add(zpv.get(), i32.shl(co0.get(), c32(2))),
      at(p.at.U), i32.shr_u(i32.add(cb.get(), c32(3)), c32(2)), c32(p.pairs), c32(p.pA)]);
    const oneBlock = p.blocks === 1;
    const perBlock: Expr[] = [
      co0.set(i32.mul(blk.get(), c32(p.CB))),
      cb.set(i32.sub(c32(p.cout), co0.get())),
      cb.set(k.select(i32.gt_s(cb.get(), c32(p.CB)), c32(p.CB), cb.get())),
      // with one block U' is the same for every band and image: transformed once, before them
      oneBlock ? k.nop() : transformWeights(),
      k.for(xi, 0, 16, 1, () => callQGemm(k, gemm, {
        a: slice(p.at.U, p.pA), pA: c32(16 * p.pA),
        b: slice(p.at.V, p.pB), ldb: c32(32), pB: c32(16 * p.pB),
        c: slice(p.at.M, p.row), ldc: c32(16 * p.row),
        M: cb.get(), N: i32.mul(nTY.get(), c32(p.TXg)), K: c32(2 * p.pairs),
      })),
      k.call(output, [at(p.at.M), i32.add(yn.get(), i32.mul(co0.get(), c32(plane))),
        i32.add(bp.get(), i32.mul(co0.get(), c32(biasStride))), c32(biasStride), i32.add(mp.get(), i32.mul(co0.get(), c32(multStride))), c32(multStride),
        cb.get(), c32(p.OH), c32(p.OW), ty0.get(), nTY.get(), c32(p.TX), c32(p.TXg), c32(16 * p.row), c32(p.row), yZp.get(), act.get()]),
    ];
    const perBand: Expr[] = [
      ty0.set(i32.mul(band.get(), c32(p.bandTY))),
      nTY.set(i32.sub(c32(p.TY), ty0.get())),
      nTY.set(k.select(i32.gt_s(nTY.get(), c32(p.bandTY)), c32(p.bandTY), nTY.get())),
      k.call(input, [xn.get(), at(p.at.strips), at(p.at.V), ...[p.cin, p.H, p.W].map(c32), ty0.get(), nTY.get(),
        ...[p.TXv, p.TXg, p.pt, p.pl, 16 * p.pB, p.pB].map(c32), zp.get()]),
      k.for(blk, 0, p.blocks, 1, () => perBlock),
    ];
    const zpLoad = runtimeZp ? (xType === 'i8' ? i32.load8_s(0, 1, zpArg.get()) : i32.load8_u(0, 1, zpArg.get())) : zpArg.get();
    return [
      zp.set(zpLoad),
      ...(oneBlock ? [co0.set(c32(0)), cb.set(c32(p.cout)), transformWeights()] : []),
      k.for(n, 0, p.batch, 1, () => [
        xn.set(i32.add(xp.get(), i32.mul(n.get(), c32(p.cin * p.H * p.W)))),
        yn.set(i32.add(yp.get(), i32.mul(n.get(), c32(p.cout * plane)))),
        k.for(band, 0, p.bands, 1, () => perBand),
      ]),
    ];
  });
  ctx.call(fn, [q.x.ptr, wPtr, zpvPtr, y.ptr, biasPtr, multPtr, ctx.scratch(), typeof q.xZp === 'number' ? q.xZp : q.xZp.ptr, q.yZp, actPtr]);
}

/** i8x16.shuffle lanes: interleave the low 8 bytes of a and b; split a vector's 4-byte groups into low and high byte pairs. */
const INTERLEAVE = [0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21, 6, 22, 7, 23];
const PAIRS_LO_HI = [0, 1, 4, 5, 8, 9, 12, 13, 2, 3, 6, 7, 10, 11, 14, 15];
/** i32 lanes of the 8-lane concatenation (a, b) -> an i8x16.shuffle mask. */
const i32Lanes = (...l: number[]) => l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
const ZIP_LO = i32Lanes(0, 4, 1, 5), ZIP_HI = i32Lanes(2, 6, 3, 7);
const IOTA = Array.from({ length: 16 }, (_, i) => i);

/** B^T v for v(0..3) on i16 lanes (a getter: binaryen expressions are used once each): v0 - v2, v1 + v2, v2 - v1, v1 - v3. */
function inputRows(k: Kernel, v: (i: number) => Expr): Expr[] {
  const s = k.i16x8;
  return [s.sub(v(0), v(2)), s.add(v(1), v(2)), s.sub(v(2), v(1)), s.sub(v(1), v(3))];
}

/** G' v for v(0..2) on i16 lanes: 2 v0, v0 + v1 + v2, v0 - v1 + v2, 2 v2. */
function weightRows(k: Kernel, v: (i: number) => Expr): Expr[] {
  const s = k.i16x8;
  return [s.shl(v(0), k.c32(1)), s.add(s.add(v(0), v(1)), v(2)), s.add(s.sub(v(0), v(1)), v(2)), s.shl(v(2), k.c32(1))];
}

/**
 * (w, zpv, U, blocks, pairs, uXi): U'[xi] = G' (w - zp) G'^T for 4 filters x 2 channels per vector, written in
 * the GEMM's i16 A layout with the xi interleaved (block b, pair p of xi at U + (16b + xi) * uXi + p * 16, uXi = pairs * 16).
 */
function weightTransform(ctx: EmitCtx<unknown>, signed: boolean): string {
  const fn = ctx.kernel(`qwinograd_weights:${signed ? 'i8' : 'u8'}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [wp, zpv, u, blocks, pairs, uXi] = k.params;
    const { i32 } = k;
    const b = k.local('i32'), pp = k.local('i32'), src = k.local('i32'), dst = k.local('i32'), sp = k.local('i32'), z = k.local('v128');
    const g = Array.from({ length: 9 }, () => k.local('v128'));
    const t = Array.from({ length: 12 }, () => k.local('v128'));
    const load = (off: number) => (signed ? k.v128.load8x8_s(off, 8, src.get()) : k.v128.load8x8_u(off, 8, src.get()));
    const body: Expr[] = g.map((l, j) => l.set(k.i16x8.sub(load(j * 8), z.get())));
    // t = G' g (4x3), then U' = t G'^T (4x4)
    for (let c = 0; c < 3; c++) weightRows(k, (r) => g[r * 3 + c].get()).forEach((e, r) => body.push(t[r * 3 + c].set(e)));
    for (let r = 0; r < 4; r++) {
      weightRows(k, (c) => t[r * 3 + c].get()).forEach((e, c) => body.push(
        sp.set(r + c === 0 ? dst.get() : i32.add(sp.get(), uXi.get())), k.v128.store(0, 16, sp.get(), e)));
    }
    body.push(src.set(i32.add(src.get(), k.c32(72))), dst.set(i32.add(dst.get(), k.c32(16))));
    return [
      src.set(wp.get()),
      k.dynFor(b, k.c32(0), blocks.get(), 1, () => [
        dst.set(i32.add(u.get(), i32.shl(i32.mul(b.get(), uXi.get()), k.c32(4)))),
        z.set(k.v128.load(0, 16, i32.add(zpv.get(), i32.shl(b.get(), k.c32(4))))),
        k.dynFor(pp, k.c32(0), pairs.get(), 1, () => body),
      ]),
    ];
  });
  // one block of one pair from the zero area: 16 slices of 16 bytes written
  ctx.prime(fn, (zeros, out) => [zeros, zeros, out, 1, 1, 16], PRIME_CALLS);
  return fn;
}

/**
 * (x, strips, V, C, H, W, ty0, nTY, TXv, TXg, pt, pl, vPanel, vXi, zp): V[xi] = B^T (d - zp) B for the tiles of tile
 * rows ty0 .. ty0+nTY-1, in the GEMM's i16 B layout: pair p of tile (ty, tx), column c = ty * TXg + tx, for xi at
 * V + (c / 8) * vPanel + xi * vXi + p * 32 + (c % 8) * 4. The zero point is subtracted once, from V[1][1]: B^T 1 B has
 * its only nonzero entry there (4).
 */
function inputTransform(ctx: EmitCtx<unknown>, xType: 'i8' | 'u8'): string {
  const names = ['x', 'strips', 'v', 'C', 'H', 'W', 'ty0', 'nTY', 'TXv', 'TXg', 'pt', 'pl', 'vPanel', 'vXi', 'zp'];
  const fn = ctx.kernel(`qwinograd_input:${xType}`, names.map(() => 'i32' as const), (k) => {
    const [x, strips, v, C, H, W, ty0, nTY, TXv, TXg, pt, pl, vPanel, vXi, zp] = k.params;
    const { i32 } = k;
    const c32 = (n: number) => k.c32(n);
    const pp = k.local('i32'), s = k.local('i32'), par = k.local('i32'), c = k.local('i32'), t = k.local('i32');
    const xa = k.local('i32'), xb = k.local('i32'), ih = k.local('i32'), seg = k.local('i32'), dst = k.local('i32');
    const SB = k.local('i32'), O = k.local('i32'), TX = k.local('i32'), HW = k.local('i32'), vp = k.local('i32'), vt = k.local('i32');
    const ty = k.local('i32'), tx = k.local('i32'), col = k.local('i32');
    const zp4 = k.local('v128'), zpBytes = k.local('v128');
    const { m } = k;
    const rows = [strips, O, k.local('i32'), k.local('i32')];
    const ext = (vec: Expr, high: boolean) => (xType === 'i8'
      ? (high ? k.i16x8.extend_high_i8x16_s(vec) : k.i16x8.extend_low_i8x16_s(vec))
      : (high ? k.i16x8.extend_high_i8x16_u(vec) : k.i16x8.extend_low_i8x16_u(vec)));
    const load8 = (addr: Expr) => k.v128.load64_zero(0, 1, addr);

    // One segment: pixel row ih of channels a and b interleaved, x_zp outside the input.
    const fillSegment: Expr[] = [
      seg.set(i32.add(k.select(par.get(), O.get(), strips.get()), i32.mul(s.get(), SB.get()))),
      ih.set(i32.sub(i32.add(i32.shl(i32.add(ty0.get(), s.get()), c32(1)), par.get()), pt.get())),
      // x_zp everywhere first (16 bytes at a time: a small memory.fill is a call), then the row over it
      k.dynFor(c, c32(0), SB.get(), 16, () => k.v128.store(0, 1, i32.add(seg.get(), c.get()), zpBytes.get())),
      k.if(i32.lt_u(ih.get(), H.get()), [
        dst.set(i32.add(seg.get(), i32.shl(pl.get(), c32(1)))),
        k.dynFor(c, c32(0), W.get(), 8, () => k.v128.store(0, 1, i32.add(dst.get(), i32.shl(c.get(), c32(1))),
          k.i8x16.shuffle(load8(i32.add(i32.add(xa.get(), i32.mul(ih.get(), W.get())), c.get())),
            load8(i32.add(i32.add(xb.get(), i32.mul(ih.get(), W.get())), c.get())), INTERLEAVE))),
        // the last vector wrote up to 7 columns past the row: they are padding again
        k.v128.store(0, 1, i32.add(dst.get(), i32.shl(W.get(), c32(1))), zpBytes.get()),
      ]),
    ];

    // 4 tiles x 2 channels: patch (row i, column j) as i16 lanes in pair order, then B^T d B.
    const d: Local[] = Array.from({ length: 16 }, () => k.local('v128'));
    const wv: Local[] = Array.from({ length: 16 }, () => k.local('v128'));
    const L = [k.local('v128'), k.local('v128')];
    const tile: Expr[] = [];
    for (let i = 0; i < 4; i++) {
      // bytes 4t .. 4t+15 hold columns 0 and 1 of tiles t .. t+3 (two channels each), 4t+4 .. 4t+19 columns 2 and 3
      [0, 4].forEach((off, h) => tile.push(
        L[h].set(k.v128.load(off, 1, i32.add(rows[i].get(), i32.shl(t.get(), c32(2))))),
        L[h].set(k.i8x16.shuffle(L[h].get(), L[h].get(), PAIRS_LO_HI))));
      tile.push(d[i * 4].set(ext(L[0].get(), false)), d[i * 4 + 1].set(ext(L[0].get(), true)), d[i * 4 + 2].set(ext(L[1].get(), false)), d[i * 4 + 3].set(ext(L[1].get(), true)));
    }
    for (let j = 0; j < 4; j++) inputRows(k, (i) => d[i * 4 + j].get()).forEach((e, i) => tile.push(wv[i * 4 + j].set(e)));
    // V = (B^T d) B into d (free again), then stored at GEMM columns c .. c+3
    for (let i = 0; i < 4; i++) {
      inputRows(k, (j) => wv[i * 4 + j].get()).forEach((e, j) => tile.push(d[i * 4 + j].set(i === 1 && j === 1 ? k.i16x8.sub(e, zp4.get()) : e)));
    }
    const colAt = (col: Expr) => i32.add(i32.add(vp.get(), i32.mul(i32.shr_u(col, c32(3)), vPanel.get())), i32.shl(i32.and(m.copyExpression(col), c32(7)), c32(2)));
    // the 4 columns within one panel: one store per slice (one add each)
    const whole: Expr[] = [vt.set(colAt(col.get()))];
    d.forEach((l, xi) => whole.push(...(xi ? [vt.set(i32.add(vt.get(), vXi.get()))] : []), k.v128.store(0, 4, vt.get(), l.get())));
    // across two panels: column by column
    const split: Expr[] = [];
    for (let i = 0; i < 4; i++) {
      split.push(vt.set(colAt(i32.add(col.get(), c32(i)))));
      d.forEach((l, xi) => split.push(...(xi ? [vt.set(i32.add(vt.get(), vXi.get()))] : []), k.v128.store32_lane(0, 4, i, vt.get(), l.get())));
    }
    tile.push(k.if(i32.le_u(i32.and(col.get(), c32(7)), c32(4)), whole, split));

    return [
      SB.set(i32.shl(TXv.get(), c32(2))),
      O.set(i32.add(strips.get(), i32.add(i32.mul(i32.add(nTY.get(), c32(1)), SB.get()), c32(64)))),
      rows[2].set(i32.add(strips.get(), SB.get())), rows[3].set(i32.add(O.get(), SB.get())),
      TX.set(i32.sub(TXv.get(), c32(1))), HW.set(i32.mul(H.get(), W.get())),
      zp4.set(k.i16x8.splat(i32.shl(zp.get(), c32(2)))),
      zpBytes.set(k.i8x16.splat(zp.get())),
      k.dynFor(pp, c32(0), i32.shr_u(i32.add(C.get(), c32(1)), c32(1)), 1, () => [
        xa.set(i32.add(x.get(), i32.mul(i32.shl(pp.get(), c32(1)), HW.get()))),
        // an odd channel count's last pair reads its channel twice (the padding channel's weights are 0)
        xb.set(k.select(i32.lt_s(i32.add(i32.shl(pp.get(), c32(1)), c32(1)), C.get()), i32.add(xa.get(), HW.get()), xa.get())),
        k.dynFor(s, c32(0), i32.add(nTY.get(), c32(1)), 1, () => k.for(par, 0, 2, 1, () => fillSegment)),
        vp.set(i32.add(v.get(), i32.shl(pp.get(), c32(5)))),
        // tile (ty, tx) is at t = ty * TXv + tx in the strips and at column c = ty * TX + tx of the GEMM: the last
        // group of a row also transforms tiles past TX (the dummy, the next row's first), whose columns the next row
        // writes again, or which land past the band's tiles (qwinogradPlan leaves room for them)
        k.dynFor(ty, c32(0), nTY.get(), 1, () => k.dynFor(tx, c32(0), TX.get(), 4, () => [
          t.set(i32.add(i32.mul(ty.get(), TXv.get()), tx.get())),
          col.set(i32.add(i32.mul(ty.get(), TXg.get()), tx.get())),
          ...tile,
        ])),
      ]),
    ];
  });
  // One pair of a 2x2 input, pads 1: one tile row of one tile and its dummy (strips, then V at out + 256).
  ctx.prime(fn, (zeros, out) => [zeros, out, out + 256, 2, 2, 2, 0, 1, 2, 1, 1, 1, 32, 32, 0], PRIME_CALLS);
  return fn;
}

/**
 * (M, y, bias, biasStride, mult, multStride, Cb, OH, OW, ty0, nTY, TX, TXg, mRow, mXi, zp, act): for Cb output
 * channels, acc = (A^T m A) >> 2 for 4 tiles of one tile row at a time (tile (ty, tx) in M's column ty * TXg + tx), plus the bias, then the direct kernel's
 * epilogue (i32, float, or requantized and narrowed with the fused clamp or activation), stored as two output rows
 * of 8 values. A group that reaches past the row's last column (the odd width's half tile, the dummy tile, the next
 * tile row's first tiles: read, never stored) is merged into the bytes already there (load, bitselect, store), so
 * every group takes the same few stores; the second row is skipped below the last output row.
 */
function outputTransform(ctx: EmitCtx<unknown>, s: QEpilogue): string {
  const names = ['m', 'y', 'bias', 'biasStride', 'mult', 'multStride', 'Cb', 'OH', 'OW', 'ty0', 'nTY', 'TX', 'TXg', 'mRow', 'mXi', 'zp', 'act'];
  const key = `qwinograd_output:${s.out}:${s.lo}:${s.hi}:${s.act ?? ''}:${s.relu ? 'relu' : ''}${s.bounded ? ':bounded' : ''}`;
  const quantized = s.out === 'int8' || s.out === 'uint8';
  const eb = quantized ? 1 : 4;
  const fn = ctx.kernel(key, names.map(() => 'i32' as const), (k) => {
    const [m, y, bias, biasStride, mult, multStride, Cb, OH, OW, ty0, nTY, TX, TXg, mRow, mXi, zp, act] = k.params;
    const { i32 } = k, v = k.i32x4;
    const c32 = (n: number) => k.c32(n);
    const co = k.local('i32'), ty = k.local('i32'), tx = k.local('i32'), cols = k.local('i32'), second = k.local('i32');
    const mrow = k.local('i32'), yc = k.local('i32'), oh = k.local('i32'), mTile = k.local('i32'), yRow = k.local('i32'), ya = k.local('i32');
    const bv = k.local('v128'), mv = k.local('v128'), zpf = k.local('v128');
    const actV = quantized && s.act ? loadActVectors(k, act) : undefined;
    const mvals = Array.from({ length: 16 }, () => k.local('v128'));
    const sv = Array.from({ length: 8 }, () => k.local('v128'));
    const Y = Array.from({ length: 4 }, () => k.local('v128'));
    // per output row: the 8 bytes (quantized), or two vectors of 4 values
    const out = [0, 1].map(() => (quantized ? [k.local('v128')] : [k.local('v128'), k.local('v128')]));

    const finish = (acc: Expr): Expr => {
      if (s.out === 'i32') return acc;
      const scaled = k.f32x4.mul(k.f32x4.convert_i32x4_s(acc), mv.get());
      if (s.out === 'f32') {
        const biased = k.f32x4.add(scaled, bv.get());
        return s.relu ? k.f32x4.pmax(biased, k.f32x4.splat(k.cf32(0))) : biased;
      }
      return requantLanes(k, scaled, () => zpf.get(), actV?.v, s.act === 'leaky', s.bounded, s.act === 'ratio');
    };
    // acc = Y' >> 2 (+ the i32 bias): Y' is exactly 4 * acc
    const accOf = (i: number) => (s.out === 'f32' ? v.shr_s(Y[i].get(), c32(2)) : v.add(v.shr_s(Y[i].get(), c32(2)), bv.get()));

    const mp = k.local('i32');
    const body: Expr[] = [mp.set(i32.add(mTile.get(), i32.shl(tx.get(), c32(2))))];
    mvals.forEach((l, xi) => body.push(...(xi ? [mp.set(i32.add(mp.get(), mXi.get()))] : []), l.set(k.v128.load(0, 4, mp.get()))));
    // s = A^T m: rows m0 + m1 + m2 and m1 - m2 - m3 per column j; Y' = s A: columns s0 + s1 + s2 and s1 - s2 - s3
    for (let j = 0; j < 4; j++) {
      body.push(sv[j].set(v.add(v.add(mvals[j].get(), mvals[4 + j].get()), mvals[8 + j].get())));
      body.push(sv[4 + j].set(v.sub(v.sub(mvals[4 + j].get(), mvals[8 + j].get()), mvals[12 + j].get())));
    }
    for (let r = 0; r < 2; r++) {
      const c = (j: number) => sv[r * 4 + j].get();
      body.push(Y[r * 2].set(v.add(v.add(c(0), c(1)), c(2))), Y[r * 2 + 1].set(v.sub(v.sub(c(1), c(2)), c(3))));
    }
    for (let r = 0; r < 2; r++) body.push(Y[r * 2].set(accOf(r * 2)), Y[r * 2 + 1].set(accOf(r * 2 + 1)));
    for (let r = 0; r < 2; r++) {
      // columns 2tx, 2tx+1 of tile t, then of t+1, ...
      const half = (lanes: number[]) => finish(k.i8x16.shuffle(Y[r * 2].get(), Y[r * 2 + 1].get(), lanes));
      if (quantized) body.push(out[r][0].set(narrowToBytes(k, half(ZIP_LO), half(ZIP_HI), s.out as 'int8' | 'uint8', s.lo, s.hi)));
      else body.push(out[r][0].set(half(ZIP_LO)), out[r][1].set(half(ZIP_HI)));
    }
    // Row r's values at ya (+ the row stride): all 8, or the first `cols` merged into what is there.
    const store = (r: number, masked: boolean): Expr => {
      const addr = () => (r ? i32.add(ya.get(), i32.mul(OW.get(), c32(eb))) : ya.get());
      if (quantized) {
        const mask = () => k.i8x16.gt_s(k.i8x16.splat(cols.get()), k.v128.const(IOTA));
        const value = masked ? k.v128.bitselect(out[r][0].get(), k.v128.load64_zero(0, 1, addr()), mask()) : out[r][0].get();
        return k.v128.store64_lane(0, 1, 0, addr(), value);
      }
      return k.block([0, 1].map((h) => {
        const mask = () => v.gt_s(v.splat(cols.get()), k.v128.const(new Uint8Array(Int32Array.of(4 * h, 4 * h + 1, 4 * h + 2, 4 * h + 3).buffer)));
        const value = masked ? k.v128.bitselect(out[r][h].get(), k.v128.load(h * 16, 4, addr()), mask()) : out[r][h].get();
        return k.v128.store(h * 16, 4, addr(), value);
      }));
    };
    body.push(
      ya.set(i32.add(yRow.get(), i32.mul(i32.shl(tx.get(), c32(1)), c32(eb)))),
      cols.set(i32.sub(OW.get(), i32.shl(tx.get(), c32(1)))),
      k.if(i32.ge_s(cols.get(), c32(8)), [store(0, false), k.if(second.get(), store(1, false))], [store(0, true), k.if(second.get(), store(1, true))]),
    );

    return [
      zpf.set(zpOffset(k, zp.get())),
      ...(actV ? actV.set : []),
      k.dynFor(co, c32(0), Cb.get(), 1, () => [
        bv.set(k.v128.load32_splat(0, 4, i32.add(bias.get(), i32.mul(co.get(), biasStride.get())))),
        mv.set(k.v128.load32_splat(0, 4, i32.add(mult.get(), i32.mul(co.get(), multStride.get())))),
        mrow.set(i32.add(m.get(), i32.mul(co.get(), mRow.get()))),
        yc.set(i32.add(y.get(), i32.mul(co.get(), i32.mul(i32.mul(OH.get(), OW.get()), c32(eb))))),
        k.dynFor(ty, c32(0), nTY.get(), 1, () => [
          oh.set(i32.shl(i32.add(ty0.get(), ty.get()), c32(1))),
          second.set(i32.lt_s(i32.add(oh.get(), c32(1)), OH.get())),
          mTile.set(i32.add(mrow.get(), i32.shl(i32.mul(ty.get(), TXg.get()), c32(2)))),
          yRow.set(i32.add(yc.get(), i32.mul(i32.mul(oh.get(), OW.get()), c32(eb)))),
          k.dynFor(tx, c32(0), TX.get(), 4, () => body),
        ]),
      ]),
    ];
  });
  // One output channel of 2x2 (one tile and its dummy) from the zero area into the out area.
  ctx.prime(fn, (zeros, out) => [zeros, out, zeros, 0, zeros, 0, 1, 2, 2, 0, 1, 1, 2, 32, 32, 0, zeros], PRIME_CALLS);
  return fn;
}
