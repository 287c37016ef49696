// Winograd F(2x2, rxr) for float32 convolutions with stride 1, no dilation and one group, on the 'simd' target:
// each 2x2 block of outputs (a tile) is computed from an n x n input patch (n = r + 1) with n^2 multiplies per
// input channel instead of 4 r^2, so the GEMM, where the time goes, does n^2 / (4 r^2) of the direct convolution's
// work: 16/36 for 3x3 kernels, 36/100 for 5x5.
//
//   U = G g G^T  (weights, n x n per filter)   V = B^T d B  (input patch)   Y = A^T (U . V) A  (2x2 outputs)
//
// The n^2 products U . V summed over input channels are n^2 independent GEMMs: M[xi] = U[xi] (Cout x Cin) times
// V[xi] (Cin x tiles), run by the shared GEMM kernel. The module keeps the weights as the model has them (only
// reordered, no bigger: the transformed weights would be n^2/r^2 the size) and transforms them into scratch on
// every call, which costs little next to the multiplies saved on layers with many tiles (hence MIN_TILES).
// Each scheme is its three constant matrices (WINOGRAD_SCHEMES); the transform kernels are generated from them.
// Rounding differs from the direct convolution by a few ulps (3x3) or a few tens of ulps (5x5: its transforms
// have coefficients up to 5); an infinite input gives NaN where the direct sum gives an infinity (the transforms
// subtract inputs).
// The three transforms are shared kernels (one set per scheme) taking the geometry at run time, primed like the GEMM.

import { activationKey, applyActivation, callGemm, gemmKernel, MR, NO_ACT, type Activation, type FusedAttrs } from '../codegen/gemm.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import type { ConvGeometry } from './conv-geometry.js';
import { ensureSlack } from './matmul.js';
import { PRIME_AREA_BYTES, type EmitCtx, type Operand } from './types.js';

/** Fewer output tiles than this: transforming the weights on every call would cost more than it saves. */
const MIN_TILES = 32;
/** Fewer channels than this: the transforms would cost more than the GEMM saves. */
const MIN_CHANNELS = 8;
/** Bytes of V and M for one band of tile rows (the transformed input and the GEMM output). */
const BAND_BYTES = 1 << 20;
const PRIME_CALLS = 1000;

/**
 * Winograd F(2x2, rxr) as its matrices (Lavin & Gray; interpolation points 0, 1, -1, 2, -2 and infinity): B^T is
 * n x n, G n x r, A^T 2 x n, n = r + 1 (even: the input transform reads a patch column pair per two vectors).
 */
export interface WinogradScheme {
  /** The variant name's suffix: 'f2x2-3x3'. */
  name: string;
  r: number; n: number;
  BT: number[][]; G: number[][]; AT: number[][];
  /** Fewer output tiles than this: transforming the weights on every call would cost more than it saves. */
  minTiles: number;
}

const F2X2_3X3: WinogradScheme = {
  name: 'f2x2-3x3', r: 3, n: 4,
  BT: [[1, 0, -1, 0], [0, 1, 1, 0], [0, -1, 1, 0], [0, 1, 0, -1]],
  G: [[1, 0, 0], [0.5, 0.5, 0.5], [0.5, -0.5, 0.5], [0, 0, 1]],
  AT: [[1, 1, 1, 0], [0, 1, -1, -1]],
  minTiles: MIN_TILES,
};

const F2X2_5X5: WinogradScheme = {
  name: 'f2x2-5x5', r: 5, n: 6,
  BT: [[4, 0, -5, 0, 1, 0], [0, -4, -4, 1, 1, 0], [0, 4, -4, -1, 1, 0], [0, -2, -1, 2, 1, 0], [0, 2, -1, -2, 1, 0], [0, 4, 0, -5, 0, 1]],
  G: [
    [1 / 4, 0, 0, 0, 0], [-1 / 6, -1 / 6, -1 / 6, -1 / 6, -1 / 6], [-1 / 6, 1 / 6, -1 / 6, 1 / 6, -1 / 6],
    [1 / 24, 1 / 12, 1 / 6, 1 / 3, 2 / 3], [1 / 24, -1 / 12, 1 / 6, -1 / 3, 2 / 3], [0, 0, 0, 0, 1],
  ],
  AT: [[1, 1, 1, 1, 1, 0], [0, 1, -1, 2, -2, 1]],
  // its weight transform writes 36 / 25 of the weights: 64 -> 64 channels at 6x6 tiles ran as fast as im2col +
  // GEMM, 128 -> 128 at 7x7 tiles 1.18x faster, 64 -> 64 at 8x8 tiles 1.45x
  minTiles: 48,
};

/** The float schemes by kernel size. */
export const WINOGRAD_SCHEMES = { 3: F2X2_3X3, 5: F2X2_5X5 } as const;

export interface WinogradPlan {
  scheme: WinogradScheme;
  cin: number; cout: number; batch: number;
  H: number; W: number; OH: number; OW: number; pt: number; pl: number;
  /** Tile rows and columns; tile rows per band and the band count. */
  TY: number; TX: number; bandTY: number; bands: number;
  /** Floats per row of V and M (one band's tiles, with slack for vector and GEMM over-reach). */
  LT: number;
  /** Floats per row of the zero-padded input plane of one band. */
  Wp: number;
  /** Byte sizes of one xi slice of U, V and M, and the scratch offsets. */
  uSlice: number; vSlice: number; mSlice: number;
  at: { U: number; V: number; M: number; plane: number };
  scratch: number;
}

const up = (v: number, m: number) => Math.ceil(v / m) * m;
/**
 * Bytes rounded up to an odd number of 64-byte cache lines. The transforms stream n^2 slices of U, V and M at once:
 * at a stride that is a multiple of 4 KB (any power-of-two channel count) every stream maps to the same L1 set,
 * more streams than the cache has ways, and they evict each other (the weight transform ran ~10x slower than with
 * its stores in one place). At an odd number of lines the streams fall in distinct sets.
 */
export const oddLines = (bytes: number) => { const lines = Math.ceil(bytes / 64); return (lines % 2 ? lines : lines + 1) * 64; };

/**
 * The grid of 2x2 output tiles when F(2x2, rxr) fits this convolution (2-D, r x r, stride 1, no dilation, one
 * group, at least MIN_CHANNELS channels each way and minTiles tiles), else undefined. Shared with the int8 variant.
 */
export function winogradTiles(geo: ConvGeometry, cin: number, cout: number, group: number, minTiles = MIN_TILES, r = 3): { TY: number; TX: number } | undefined {
  if (geo.inSize.length !== 2 || group !== 1 || cin < MIN_CHANNELS || cout < MIN_CHANNELS) return undefined;
  if (geo.kernel.some((k) => k !== r) || geo.strides.some((s) => s !== 1) || geo.dilations.some((d) => d !== 1)) return undefined;
  const TY = Math.ceil(geo.outSize[0] / 2), TX = Math.ceil(geo.outSize[1] / 2);
  return TY * TX < minTiles ? undefined : { TY, TX };
}

/**
 * The plan when this Winograd scheme applies to the convolution (any target: scratch() does not know it), else
 * undefined.
 */
export function winogradPlan(scheme: WinogradScheme, geo: ConvGeometry, batch: number, cin: number, cout: number, group: number): WinogradPlan | undefined {
  const tiles = winogradTiles(geo, cin, cout, group, scheme.minTiles, scheme.r);
  if (!tiles) return undefined;
  const { n } = scheme;
  const [H, W] = geo.inSize, [OH, OW] = geo.outSize;
  const { TY, TX } = tiles;
  const bandTY = Math.max(1, Math.min(TY, Math.floor(BAND_BYTES / (n * n * (cin + cout) * 4 * TX))));
  const LT = up(bandTY * TX + 4, 8) + 8;
  // The input transform reads patch columns up to 2 * up(TX, 4) + n - 3 (two vectors per column pair).
  const Wp = Math.max(2 * up(TX, 4) + Math.max(4, n - 2), geo.padBegin[1] + W);
  const uSlice = oddLines(up(cout, MR) * cin * 4), vSlice = oddLines(cin * LT * 4), mSlice = oddLines(cout * LT * 4);
  const at = { U: 0, V: n * n * uSlice, M: n * n * (uSlice + vSlice), plane: n * n * (uSlice + vSlice + mSlice) };
  const scratch = at.plane + (2 * bandTY + n - 2) * Wp * 4 + 64;
  return {
    scheme, cin, cout, batch, H, W, OH, OW, pt: geo.padBegin[0], pl: geo.padBegin[1],
    TY, TX, bandTY, bands: Math.ceil(TY / bandTY), LT, Wp, uSlice, vSlice, mSlice, at, scratch,
  };
}

/** Weights [Cout][Cin][r][r] reordered to [Cout/4][Cin][r*r][4] (zero-padded): the weight transform reads 4 filters per load. */
function reorderWeights(g: Float32Array, cout: number, cin: number, taps: number): Uint8Array {
  const out = new Float32Array(up(cout, MR) * cin * taps);
  for (let co = 0; co < cout; co++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let t = 0; t < taps; t++) out[((Math.floor(co / MR) * cin + ci) * taps + t) * MR + (co % MR)] = g[(co * cin + ci) * taps + t];
    }
  }
  return new Uint8Array(out.buffer);
}

/** What one Winograd convolution reads and writes: input and scratch addresses, the weights [Cout][Cin][r][r]. */
export interface WinogradIO {
  x: number; weights: Float32Array; b?: Operand; res?: Operand; scratch: number;
}

export function emitWinograd(ctx: EmitCtx<FusedAttrs & object>, p: WinogradPlan, io: WinogradIO): void {
  const { b, res } = io;
  const s = p.scheme, nn = s.n * s.n;
  const gPtr = ctx.data(reorderWeights(io.weights, p.cout, p.cin, s.r * s.r));
  const biasPtr = b?.const ? b.ptr : ctx.data(new Uint8Array(p.cout * 4));
  ensureSlack(ctx);
  const weights = weightTransform(ctx, s);
  const input = inputTransform(ctx, s);
  const output = outputTransform(ctx, s, !!res, ctx.attrs.act);
  const gemm = gemmKernel(ctx, { a: 'contig', bias: 'none', residual: false, act: NO_ACT });

  const key = `conv_winograd:${JSON.stringify(p)}:${output}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [xp, gp, yp, bias, rp, scratch] = k.params;
    const { i32 } = k;
    const c32 = (v: number) => k.c32(v);
    const n = k.local('i32'), band = k.local('i32'), xi = k.local('i32'), ty0 = k.local('i32'), nTY = k.local('i32');
    const xn = k.local('i32'), yn = k.local('i32'), rn = k.local('i32');
    const U = () => i32.add(scratch.get(), c32(p.at.U)), V = () => i32.add(scratch.get(), c32(p.at.V)), M = () => i32.add(scratch.get(), c32(p.at.M));
    const slice = (base: Expr, bytes: number) => i32.add(base, i32.mul(xi.get(), c32(bytes)));
    const perBand: Expr[] = [
      ty0.set(i32.mul(band.get(), c32(p.bandTY))),
      nTY.set(i32.sub(c32(p.TY), ty0.get())),
      nTY.set(k.select(i32.gt_s(nTY.get(), c32(p.bandTY)), c32(p.bandTY), nTY.get())),
      k.call(input, [xn.get(), i32.add(scratch.get(), c32(p.at.plane)), V(), ...[p.cin, p.H, p.W].map(c32), ty0.get(), nTY.get(), ...[p.TX, p.pt, p.pl, p.Wp, p.LT, p.vSlice].map(c32)]),
      k.for(xi, 0, nn, 1, () => callGemm(k, gemm, {
        a: slice(U(), p.uSlice), sA: c32(MR * 4), pA: c32(p.cin * MR * 4),
        b: slice(V(), p.vSlice), ldb: c32(p.LT * 4), pB: c32(32),
        c: slice(M(), p.mSlice), ldc: c32(p.LT * 4),
        M: c32(p.cout), N: i32.mul(nTY.get(), c32(p.TX)), K: c32(p.cin),
      })),
      k.call(output, [M(), yn.get(), bias.get(), rn.get(), ...[p.cout, p.OH, p.OW].map(c32), ty0.get(), nTY.get(), ...[p.TX, p.LT, p.mSlice].map(c32)]),
    ];
    return [
      k.call(weights, [gp.get(), U(), c32(up(p.cout, MR) / MR), c32(p.cin), c32(p.uSlice)]),
      k.for(n, 0, p.batch, 1, () => [
        xn.set(i32.add(xp.get(), i32.mul(n.get(), c32(p.cin * p.H * p.W * 4)))),
        yn.set(i32.add(yp.get(), i32.mul(n.get(), c32(p.cout * p.OH * p.OW * 4)))),
        rn.set(i32.add(rp.get(), i32.mul(n.get(), c32(p.cout * p.OH * p.OW * 4)))),
        k.for(band, 0, p.bands, 1, () => perBand),
      ]),
    ];
  });
  ctx.call(fn, [io.x, gPtr, ctx.outputs[0].ptr, biasPtr, res?.ptr ?? 0, io.scratch]);
}

/** f32 lanes of the 8-lane concatenation (a, b) -> an i8x16.shuffle mask. */
const f32Lanes = (...l: number[]) => l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
const EVEN = f32Lanes(0, 2, 4, 6), ODD = f32Lanes(1, 3, 5, 7), ZIP_LO = f32Lanes(0, 4, 1, 5), ZIP_HI = f32Lanes(2, 6, 3, 7);

/**
 * The rows of m times v for a constant matrix m, on f32x4 (v a getter: binaryen expressions are used once each).
 * Two rows that differ only in the signs of some terms (the interpolation points +x and -x) share their work: with
 * E the terms they agree on and O the rest, they are E + O and E - O (F(2x2, 5x5)'s input transform: 224 f32x4
 * operations instead of 288). The second row reads E and O from locals the first sets: evaluate the rows in order.
 */
function applyMatrix(k: Kernel, m: number[][], v: (j: number) => Expr): Expr[] {
  const f = k.f32x4;
  const out: Expr[] = [];
  const done = new Set<number>();
  m.forEach((row, i) => {
    if (done.has(i)) return;
    const mirror = m.findIndex((other, q) => q > i && !done.has(q) && mirrored(row, other));
    if (mirror < 0) {
      out[i] = combination(k, row, v);
      return;
    }
    const e = k.local('v128'), o = k.local('v128');
    out[i] = f.add(e.tee(combination(k, row.map((c, j) => (c === m[mirror][j] ? c : 0)), v)), o.tee(combination(k, row.map((c, j) => (c === m[mirror][j] ? 0 : c)), v)));
    out[mirror] = f.sub(e.get(), o.get());
    done.add(mirror);
  });
  return out;
}

/** Rows equal up to the signs of their terms, with terms of both kinds (agreeing and opposite). */
function mirrored(a: number[], b: number[]): boolean {
  return a.every((c, j) => Math.abs(c) === Math.abs(b[j])) && a.some((c, j) => c !== 0 && c === b[j]) && a.some((c, j) => c !== 0 && c === -b[j]);
}

/**
 * One row of a constant matrix times v. Terms of +-1 add or subtract; a row whose terms share one magnitude is
 * summed, then scaled once; the sum starts from the first positive term (F(2x2, 3x3)'s row (0, -1, 1, 0) is v2 - v1).
 */
function combination(k: Kernel, row: number[], v: (j: number) => Expr): Expr {
  const f = k.f32x4;
  const times = (x: Expr, c: number) => (c === 1 ? x : f.mul(x, f.splat(k.cf32(c))));
  const terms = row.map((c, j) => ({ c, j })).filter((t) => t.c !== 0);
  const lead = Math.max(0, terms.findIndex((t) => t.c > 0));
  const ordered = [terms[lead], ...terms.filter((_, i) => i !== lead)];
  const shared = terms.every((t) => Math.abs(t.c) === Math.abs(terms[0].c));
  const scale = shared ? ordered[0].c : 1;
  let sum = times(v(ordered[0].j), ordered[0].c / scale);
  for (const t of ordered.slice(1)) {
    const c = t.c / scale;
    sum = c > 0 ? f.add(sum, times(v(t.j), c)) : f.sub(sum, times(v(t.j), -c));
  }
  return times(sum, scale);
}

/**
 * (gP, U, cout4, cin, uSlice): U[xi] = G g G^T for 4 filters at a time, written in the GEMM's packed A layout
 * (U[xi] + (co4 * cin + ci) * 16 holds filters co4*4 .. co4*4+3 for input channel ci).
 */
function weightTransform(ctx: EmitCtx<unknown>, s: WinogradScheme): string {
  const { r, n } = s;
  const fn = ctx.kernel(`winograd_weights:${s.name}`, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [gp, u, cout4, cin, uSlice] = k.params;
    const { i32 } = k;
    const blk = k.local('i32'), blocks = k.local('i32'), src = k.local('i32'), dst = k.local('i32');
    const g = Array.from({ length: r * r }, () => k.local('v128'));
    const t = Array.from({ length: n * r }, () => k.local('v128'));
    const body: Expr[] = g.map((l, i) => l.set(k.v128.load(i * 16, 16, src.get())));
    // t = G g (n x r), a column at a time
    for (let j = 0; j < r; j++) applyMatrix(k, s.G, (l) => g[l * r + j].get()).forEach((e, i) => body.push(t[i * r + j].set(e)));
    // U = t G^T (n x n), a row at a time
    for (let i = 0; i < n; i++) {
      applyMatrix(k, s.G, (l) => t[i * r + l].get()).forEach((v, j) => body.push(k.v128.store(0, 16, i32.add(dst.get(), i32.mul(uSlice.get(), k.c32(i * n + j))), v)));
    }
    body.push(src.set(i32.add(src.get(), k.c32(r * r * 16))), dst.set(i32.add(dst.get(), k.c32(16))));
    return [
      src.set(gp.get()), dst.set(u.get()), blocks.set(i32.mul(cout4.get(), cin.get())),
      k.dynFor(blk, k.c32(0), blocks.get(), 1, () => body),
    ];
  });
  // Four filters of up to three channels (reads r*r*16 bytes a channel, writes n*n*16).
  const cin = Math.min(3, Math.floor(PRIME_AREA_BYTES / (16 * n * n)));
  ctx.prime(fn, (zeros, out) => [zeros, out, 1, cin, 16 * cin], PRIME_CALLS);
  return fn;
}

/**
 * (x, plane, V, C, H, W, ty0, nTY, TX, pt, pl, Wp, LT, vSlice): V[xi][c][t] = (B^T d B)[xi] for the tiles of tile rows
 * ty0 .. ty0+nTY-1 (t = (ty - ty0) * TX + tx), 4 tiles per vector. Each channel's rows of the band are first copied
 * into a zero-padded plane (Wp floats per row), so patches need no bounds tests. A row's last vector may run past
 * TX: its extra lanes land on the next row's tiles (rewritten next) or in V's slack.
 */
function inputTransform(ctx: EmitCtx<unknown>, s: WinogradScheme): string {
  const { n } = s;
  const names = ['x', 'plane', 'v', 'C', 'H', 'W', 'ty0', 'nTY', 'TX', 'pt', 'pl', 'Wp', 'LT', 'vSlice'];
  const fn = ctx.kernel(`winograd_input:${s.name}`, names.map(() => 'i32' as const), (k) => {
    const [x, plane, v, C, H, W, ty0, nTY, TX, pt, pl, Wp, LT, vSlice] = k.params;
    const { i32 } = k;
    const c32 = (q: number) => k.c32(q);
    const ci = k.local('i32'), r = k.local('i32'), ih = k.local('i32'), ty = k.local('i32'), tx = k.local('i32');
    const xc = k.local('i32'), rows = k.local('i32'), prow = k.local('i32'), vrow = k.local('i32');
    const d = Array.from({ length: n * n }, () => k.local('v128'));
    const L = Array.from({ length: n }, () => k.local('v128'));
    const at = (base: Expr, floats: Expr) => i32.add(base, i32.shl(floats, c32(2)));

    // d[row][col] for 4 tiles: columns 2tx+col of padded rows 2ty+row (8 values -> even / odd lanes).
    const loadPatch: Expr[] = [];
    for (let row = 0; row < n; row++) {
      const base = () => at(prow.get(), i32.add(i32.mul(Wp.get(), c32(row)), i32.shl(tx.get(), c32(1))));
      // columns 2tx+2j .. 2tx+2j+7 (L[2j], L[2j+1]) give patch columns 2j and 2j+1
      for (let j = 0; j < n / 2; j++) loadPatch.push(L[2 * j].set(k.v128.load(8 * j, 4, base())), L[2 * j + 1].set(k.v128.load(8 * j + 16, 4, base())));
      for (let j = 0; j < n / 2; j++) {
        loadPatch.push(
          d[row * n + 2 * j].set(k.i8x16.shuffle(L[2 * j].get(), L[2 * j + 1].get(), EVEN)),
          d[row * n + 2 * j + 1].set(k.i8x16.shuffle(L[2 * j].get(), L[2 * j + 1].get(), ODD)));
      }
    }
    // Rows then columns of B^T d B, into V[xi] at this tile.
    const store: Expr[] = [];
    const w = Array.from({ length: n * n }, () => k.local('v128'));
    for (let c = 0; c < n; c++) applyMatrix(k, s.BT, (row) => d[row * n + c].get()).forEach((e, row) => store.push(w[row * n + c].set(e)));
    for (let row = 0; row < n; row++) {
      const out = applyMatrix(k, s.BT, (c) => w[row * n + c].get());
      out.forEach((e, c) => store.push(k.v128.store(0, 4, at(i32.add(vrow.get(), i32.mul(vSlice.get(), c32(row * n + c))), tx.get()), e)));
    }

    return [
      rows.set(i32.add(i32.shl(nTY.get(), c32(1)), c32(n - 2))),
      k.dynFor(ci, c32(0), C.get(), 1, () => [
        xc.set(at(x.get(), i32.mul(ci.get(), i32.mul(H.get(), W.get())))),
        k.m.memory.fill(plane.get(), c32(0), i32.shl(i32.mul(rows.get(), Wp.get()), c32(2))),
        k.dynFor(r, c32(0), rows.get(), 1, () => [
          ih.set(i32.sub(i32.add(i32.shl(ty0.get(), c32(1)), r.get()), pt.get())),
          k.if(i32.lt_u(ih.get(), H.get()), k.m.memory.copy(
            at(plane.get(), i32.add(i32.mul(r.get(), Wp.get()), pl.get())), at(xc.get(), i32.mul(ih.get(), W.get())), i32.shl(W.get(), c32(2)))),
        ]),
        k.dynFor(ty, c32(0), nTY.get(), 1, () => [
          prow.set(at(plane.get(), i32.mul(i32.shl(ty.get(), c32(1)), Wp.get()))),
          vrow.set(at(v.get(), i32.add(i32.mul(ci.get(), LT.get()), i32.mul(ty.get(), TX.get())))),
          k.dynFor(tx, c32(0), TX.get(), 4, () => [...loadPatch, ...store]),
        ]),
      ]),
    ];
  });
  // One channel of a 2x2 input, pads (n-2)/2: one tile row of 4 tiles (plane n x 12 floats, then V).
  const pad = (n - 2) / 2;
  ctx.prime(fn, (zeros, out) => [zeros, out, out + n * 48, 1, 2, 2, 0, 1, 4, pad, pad, 12, 8, 16], PRIME_CALLS);
  return fn;
}

/**
 * (M, y, bias, res, Cout, OH, OW, ty0, nTY, TX, LT, mSlice): Y = A^T m A for 4 tiles at a time, plus bias, the
 * fused residual and activation, stored as two output rows of 8 values (fewer at the right and bottom edges).
 */
function outputTransform(ctx: EmitCtx<unknown>, s: WinogradScheme, residual: boolean, act: Activation): string {
  const { n } = s;
  const names = ['m', 'y', 'bias', 'res', 'Cout', 'OH', 'OW', 'ty0', 'nTY', 'TX', 'LT', 'mSlice'];
  const key = `winograd_output:${s.name}:${residual}:${activationKey(act)}`;
  const fn = ctx.kernel(key, names.map(() => 'i32' as const), (k) => {
    const [m, y, bias, res, Cout, OH, OW, ty0, nTY, TX, LT, mSlice] = k.params;
    const { i32 } = k, f = k.f32x4;
    const c32 = (q: number) => k.c32(q);
    const co = k.local('i32'), ty = k.local('i32'), tx = k.local('i32'), oh = k.local('i32'), ow = k.local('i32');
    const mrow = k.local('i32'), yrow = k.local('i32'), rrow = k.local('i32'), b = k.local('v128');
    const sm = Array.from({ length: 2 * n }, () => k.local('v128'));
    const Y = Array.from({ length: 4 }, () => k.local('v128'));
    const half = [k.local('v128'), k.local('v128')];
    const at = (base: Expr, floats: Expr) => i32.add(base, i32.shl(floats, c32(2)));
    const mv = Array.from({ length: n * n }, () => k.local('v128'));

    const body: Expr[] = mv.map((l, xi) => l.set(k.v128.load(0, 4, at(i32.add(mrow.get(), i32.mul(mSlice.get(), c32(xi))), tx.get()))));
    // sm = A^T m (2 x n), a column at a time
    for (let j = 0; j < n; j++) applyMatrix(k, s.AT, (row) => mv[row * n + j].get()).forEach((e, i) => body.push(sm[i * n + j].set(e)));
    // Y = sm A (2 x 2), plus the bias
    for (let i = 0; i < 2; i++) {
      applyMatrix(k, s.AT, (j) => sm[i * n + j].get()).forEach((e, c) => body.push(Y[i * 2 + c].set(f.add(e, b.get()))));
    }
    for (let i = 0; i < 2; i++) {
      const rowOff = (base: Local) => at(base.get(), i32.add(i32.mul(i32.add(oh.get(), c32(i)), OW.get()), ow.get()));
      const finish = (v: Expr, off: number): Expr => applyActivation(k, act, residual ? f.add(v, k.v128.load(off, 4, rowOff(rrow))) : v);
      const lanesOut: Expr[] = [];
      for (let e = 0; e < 8; e++) {
        lanesOut.push(k.if(i32.lt_s(i32.add(ow.get(), c32(e)), OW.get()),
          k.f32.store(0, 4, at(rowOff(yrow), c32(e)), f.extract_lane(half[e >> 2].get(), e & 3))));
      }
      body.push(k.if(i32.lt_s(i32.add(oh.get(), c32(i)), OH.get()), [
        half[0].set(finish(k.i8x16.shuffle(Y[i * 2].get(), Y[i * 2 + 1].get(), ZIP_LO), 0)),
        half[1].set(finish(k.i8x16.shuffle(Y[i * 2].get(), Y[i * 2 + 1].get(), ZIP_HI), 16)),
        k.if(i32.le_s(i32.add(ow.get(), c32(8)), OW.get()),
          [k.v128.store(0, 4, rowOff(yrow), half[0].get()), k.v128.store(16, 4, rowOff(yrow), half[1].get())],
          lanesOut),
      ]));
    }

    return [
      k.dynFor(co, c32(0), Cout.get(), 1, () => [
        b.set(k.v128.load32_splat(0, 4, at(bias.get(), co.get()))),
        yrow.set(at(y.get(), i32.mul(co.get(), i32.mul(OH.get(), OW.get())))),
        rrow.set(at(res.get(), i32.mul(co.get(), i32.mul(OH.get(), OW.get())))),
        k.dynFor(ty, c32(0), nTY.get(), 1, () => [
          oh.set(i32.shl(i32.add(ty0.get(), ty.get()), c32(1))),
          mrow.set(at(m.get(), i32.add(i32.mul(co.get(), LT.get()), i32.mul(ty.get(), TX.get())))),
          k.dynFor(tx, c32(0), TX.get(), 4, () => [ow.set(i32.shl(tx.get(), c32(1))), ...body]),
        ]),
      ]),
    ];
  });
  // One output channel of 2x2 (one tile) from the zero area into the out area.
  ctx.prime(fn, (zeros, out) => [zeros, out, zeros, zeros, 1, 2, 2, 0, 1, 1, 8, 16], PRIME_CALLS);
  return fn;
}
