// Winograd F(2x2, 3x3) for float32 3x3 convolutions with stride 1, no dilation and one group, on the 'simd'
// target: each 2x2 block of outputs (a tile) is computed from a 4x4 input patch with 16 multiplies per input
// channel instead of 36, so the GEMM, where the time goes, does 16/36 of the direct convolution's work.
//
//   U = G g G^T  (weights, 4x4 per filter)   V = B^T d B  (input patch)   Y = A^T (U . V) A  (2x2 outputs)
//
// The 16 products U . V summed over input channels are 16 independent GEMMs: M[xi] = U[xi] (Cout x Cin) times
// V[xi] (Cin x tiles), run by the shared GEMM kernel. The module keeps the weights as the model has them (only
// reordered, no bigger: the transformed weights would be 16/9 the size) and transforms them into scratch on every
// call, which costs little next to the multiplies saved on layers with many tiles (hence MIN_TILES).
// Rounding differs from the direct convolution by a few ulps; an infinite input gives NaN where the direct sum
// gives an infinity (the transforms subtract inputs).
// The three transforms are shared kernels taking the geometry at run time, primed like the GEMM.

import { activationKey, applyActivation, callGemm, gemmKernel, MR, NO_ACT, type Activation, type FusedAttrs } from '../codegen/gemm.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import type { ConvGeometry } from './conv-geometry.js';
import { ensureSlack } from './matmul.js';
import type { EmitCtx, Operand } from './types.js';

/** Fewer output tiles than this: transforming the weights on every call would cost more than it saves. */
const MIN_TILES = 32;
/** Fewer channels than this: the transforms would cost more than the GEMM saves. */
const MIN_CHANNELS = 8;
/** Bytes of V and M for one band of tile rows (the transformed input and the GEMM output). */
const BAND_BYTES = 1 << 20;
const PRIME_CALLS = 1000;

export interface WinogradPlan {
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
 * The grid of 2x2 output tiles when F(2x2, 3x3) fits this convolution (2-D, 3x3, stride 1, no dilation, one group,
 * at least MIN_CHANNELS channels each way and minTiles tiles), else undefined. Shared with the int8 variant.
 */
export function winogradTiles(geo: ConvGeometry, cin: number, cout: number, group: number, minTiles = MIN_TILES): { TY: number; TX: number } | undefined {
  if (geo.inSize.length !== 2 || group !== 1 || cin < MIN_CHANNELS || cout < MIN_CHANNELS) return undefined;
  if (geo.kernel.some((k) => k !== 3) || geo.strides.some((s) => s !== 1) || geo.dilations.some((d) => d !== 1)) return undefined;
  const TY = Math.ceil(geo.outSize[0] / 2), TX = Math.ceil(geo.outSize[1] / 2);
  return TY * TX < minTiles ? undefined : { TY, TX };
}

/** The plan when Winograd applies to this convolution (any target: scratch() does not know it), else undefined. */
export function winogradPlan(geo: ConvGeometry, batch: number, cin: number, cout: number, group: number): WinogradPlan | undefined {
  const tiles = winogradTiles(geo, cin, cout, group);
  if (!tiles) return undefined;
  const [H, W] = geo.inSize, [OH, OW] = geo.outSize;
  const { TY, TX } = tiles;
  const bandTY = Math.max(1, Math.min(TY, Math.floor(BAND_BYTES / (16 * (cin + cout) * 4 * TX))));
  const LT = up(bandTY * TX + 4, 8) + 8;
  const Wp = Math.max(2 * up(TX, 4) + 4, geo.padBegin[1] + W);
  const uSlice = up(cout, MR) * cin * 4, vSlice = cin * LT * 4, mSlice = cout * LT * 4;
  const at = { U: 0, V: 16 * uSlice, M: 16 * (uSlice + vSlice), plane: 16 * (uSlice + vSlice + mSlice) };
  const scratch = at.plane + (2 * bandTY + 2) * Wp * 4 + 64;
  return {
    cin, cout, batch, H, W, OH, OW, pt: geo.padBegin[0], pl: geo.padBegin[1],
    TY, TX, bandTY, bands: Math.ceil(TY / bandTY), LT, Wp, uSlice, vSlice, mSlice, at, scratch,
  };
}

/** Weights [Cout][Cin][3][3] reordered to [Cout/4][Cin][9][4] (zero-padded): the weight transform reads 4 filters per load. */
function reorderWeights(g: Float32Array, cout: number, cin: number): Uint8Array {
  const out = new Float32Array(up(cout, MR) * cin * 9);
  for (let co = 0; co < cout; co++) {
    for (let ci = 0; ci < cin; ci++) {
      for (let t = 0; t < 9; t++) out[((Math.floor(co / MR) * cin + ci) * 9 + t) * MR + (co % MR)] = g[(co * cin + ci) * 9 + t];
    }
  }
  return new Uint8Array(out.buffer);
}

export function emitWinograd(ctx: EmitCtx<FusedAttrs & object>, p: WinogradPlan, x: Operand, w: Operand, b: Operand | undefined, res: Operand | undefined): void {
  const gPtr = ctx.data(reorderWeights(w.const!.data as Float32Array, p.cout, p.cin));
  const biasPtr = b?.const ? b.ptr : ctx.data(new Uint8Array(p.cout * 4));
  ensureSlack(ctx);
  const weights = weightTransform(ctx);
  const input = inputTransform(ctx);
  const output = outputTransform(ctx, !!res, ctx.attrs.act);
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
      k.for(xi, 0, 16, 1, () => callGemm(k, gemm, {
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
  ctx.call(fn, [x.ptr, gPtr, ctx.outputs[0].ptr, biasPtr, res?.ptr ?? 0, ctx.scratch()]);
}

/** f32 lanes of the 8-lane concatenation (a, b) -> an i8x16.shuffle mask. */
const f32Lanes = (...l: number[]) => l.flatMap((i) => [4 * i, 4 * i + 1, 4 * i + 2, 4 * i + 3]);
const EVEN = f32Lanes(0, 2, 4, 6), ODD = f32Lanes(1, 3, 5, 7), ZIP_LO = f32Lanes(0, 4, 1, 5), ZIP_HI = f32Lanes(2, 6, 3, 7);

/** The 4-point transform by B^T of v(0..3) (a getter: binaryen expressions are used once each): v0 - v2, v1 + v2, v2 - v1, v1 - v3. */
function inputRows(k: Kernel, v: (i: number) => Expr): Expr[] {
  const f = k.f32x4;
  return [f.sub(v(0), v(2)), f.add(v(1), v(2)), f.sub(v(2), v(1)), f.sub(v(1), v(3))];
}

/**
 * (gP, U, cout4, cin, uSlice): U[xi] = G g G^T for 4 filters at a time, written in the GEMM's packed A layout
 * (U[xi] + (co4 * cin + ci) * 16 holds filters co4*4 .. co4*4+3 for input channel ci).
 */
function weightTransform(ctx: EmitCtx<unknown>): string {
  const fn = ctx.kernel('winograd_weights', ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [gp, u, cout4, cin, uSlice] = k.params;
    const { i32 } = k, f = k.f32x4;
    const half = () => f.splat(k.cf32(0.5));
    const blk = k.local('i32'), blocks = k.local('i32'), src = k.local('i32'), dst = k.local('i32');
    const g = Array.from({ length: 9 }, () => k.local('v128'));
    const t = Array.from({ length: 12 }, () => k.local('v128'));
    const body: Expr[] = g.map((l, i) => l.set(k.v128.load(i * 16, 16, src.get())));
    // t = G g (4x3): rows g0, (g0+g1+g2)/2, (g0-g1+g2)/2, g2
    for (let j = 0; j < 3; j++) {
      const a = () => g[j].get(), b = () => g[3 + j].get(), c = () => g[6 + j].get();
      body.push(t[j].set(a()), t[3 + j].set(f.mul(f.add(f.add(a(), b()), c()), half())), t[6 + j].set(f.mul(f.add(f.sub(a(), b()), c()), half())), t[9 + j].set(c()));
    }
    // U = t G^T (4x4): columns t0, (t0+t1+t2)/2, (t0-t1+t2)/2, t2
    for (let i = 0; i < 4; i++) {
      const r = (j: number) => t[i * 3 + j].get();
      const row = [r(0), f.mul(f.add(f.add(r(0), r(1)), r(2)), half()), f.mul(f.add(f.sub(r(0), r(1)), r(2)), half()), r(2)];
      row.forEach((v, j) => body.push(k.v128.store(0, 16, i32.add(dst.get(), i32.mul(uSlice.get(), k.c32(i * 4 + j))), v)));
    }
    body.push(src.set(i32.add(src.get(), k.c32(144))), dst.set(i32.add(dst.get(), k.c32(16))));
    return [
      src.set(gp.get()), dst.set(u.get()), blocks.set(i32.mul(cout4.get(), cin.get())),
      k.dynFor(blk, k.c32(0), blocks.get(), 1, () => body),
    ];
  });
  // Four filters of three channels: 432 bytes read, 768 written.
  ctx.prime(fn, (zeros, out) => [zeros, out, 1, 3, 48], PRIME_CALLS);
  return fn;
}

/**
 * (x, plane, V, C, H, W, ty0, nTY, TX, pt, pl, Wp, LT, vSlice): V[xi][c][t] = (B^T d B)[xi] for the tiles of tile rows
 * ty0 .. ty0+nTY-1 (t = (ty - ty0) * TX + tx), 4 tiles per vector. Each channel's rows of the band are first copied
 * into a zero-padded plane (Wp floats per row), so patches need no bounds tests. A row's last vector may run past
 * TX: its extra lanes land on the next row's tiles (rewritten next) or in V's slack.
 */
function inputTransform(ctx: EmitCtx<unknown>): string {
  const names = ['x', 'plane', 'v', 'C', 'H', 'W', 'ty0', 'nTY', 'TX', 'pt', 'pl', 'Wp', 'LT', 'vSlice'];
  const fn = ctx.kernel('winograd_input', names.map(() => 'i32' as const), (k) => {
    const [x, plane, v, C, H, W, ty0, nTY, TX, pt, pl, Wp, LT, vSlice] = k.params;
    const { i32 } = k;
    const c32 = (n: number) => k.c32(n);
    const ci = k.local('i32'), r = k.local('i32'), ih = k.local('i32'), ty = k.local('i32'), tx = k.local('i32');
    const xc = k.local('i32'), rows = k.local('i32'), prow = k.local('i32'), vrow = k.local('i32');
    const d = Array.from({ length: 16 }, () => k.local('v128'));
    const L = Array.from({ length: 4 }, () => k.local('v128'));
    const at = (base: Expr, floats: Expr) => i32.add(base, i32.shl(floats, c32(2)));

    // d[row][col] for 4 tiles: columns 2tx+col of padded rows 2ty+row (8 values -> even / odd lanes).
    const loadPatch: Expr[] = [];
    for (let row = 0; row < 4; row++) {
      const base = () => at(prow.get(), i32.add(i32.mul(Wp.get(), c32(row)), i32.shl(tx.get(), c32(1))));
      // columns 2tx .. 2tx+7 (L0, L1) give patch columns 0 and 1; 2tx+2 .. 2tx+9 (L2, L3) give 2 and 3
      [0, 16, 8, 24].forEach((offset, i) => loadPatch.push(L[i].set(k.v128.load(offset, 4, base()))));
      loadPatch.push(
        d[row * 4].set(k.i8x16.shuffle(L[0].get(), L[1].get(), EVEN)), d[row * 4 + 1].set(k.i8x16.shuffle(L[0].get(), L[1].get(), ODD)),
        d[row * 4 + 2].set(k.i8x16.shuffle(L[2].get(), L[3].get(), EVEN)), d[row * 4 + 3].set(k.i8x16.shuffle(L[2].get(), L[3].get(), ODD)),
      );
    }
    // Rows then columns of B^T d B, into V[xi] at this tile.
    const store: Expr[] = [];
    const w = Array.from({ length: 16 }, () => k.local('v128'));
    for (let c = 0; c < 4; c++) inputRows(k, (row) => d[row * 4 + c].get()).forEach((e, row) => store.push(w[row * 4 + c].set(e)));
    for (let row = 0; row < 4; row++) {
      const out = inputRows(k, (c) => w[row * 4 + c].get());
      out.forEach((e, c) => store.push(k.v128.store(0, 4, at(i32.add(vrow.get(), i32.mul(vSlice.get(), c32(row * 4 + c))), tx.get()), e)));
    }

    return [
      rows.set(i32.add(i32.shl(nTY.get(), c32(1)), c32(2))),
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
  // One channel of a 2x2 input, pads 1: one tile row of 4 tiles (plane 4 x 12 floats, then V).
  ctx.prime(fn, (zeros, out) => [zeros, out, out + 192, 1, 2, 2, 0, 1, 4, 1, 1, 12, 8, 16], PRIME_CALLS);
  return fn;
}

/**
 * (M, y, bias, res, Cout, OH, OW, ty0, nTY, TX, LT, mSlice): Y = A^T m A for 4 tiles at a time, plus bias, the
 * fused residual and activation, stored as two output rows of 8 values (fewer at the right and bottom edges).
 */
function outputTransform(ctx: EmitCtx<unknown>, residual: boolean, act: Activation): string {
  const names = ['m', 'y', 'bias', 'res', 'Cout', 'OH', 'OW', 'ty0', 'nTY', 'TX', 'LT', 'mSlice'];
  const key = `winograd_output:${residual}:${activationKey(act)}`;
  const fn = ctx.kernel(key, names.map(() => 'i32' as const), (k) => {
    const [m, y, bias, res, Cout, OH, OW, ty0, nTY, TX, LT, mSlice] = k.params;
    const { i32 } = k, f = k.f32x4;
    const c32 = (n: number) => k.c32(n);
    const co = k.local('i32'), ty = k.local('i32'), tx = k.local('i32'), oh = k.local('i32'), ow = k.local('i32');
    const mrow = k.local('i32'), yrow = k.local('i32'), rrow = k.local('i32'), b = k.local('v128');
    const s = Array.from({ length: 8 }, () => k.local('v128'));
    const Y = Array.from({ length: 4 }, () => k.local('v128'));
    const half = [k.local('v128'), k.local('v128')];
    const at = (base: Expr, floats: Expr) => i32.add(base, i32.shl(floats, c32(2)));
    const mv = Array.from({ length: 16 }, () => k.local('v128'));
    const mAt = (xi: number) => mv[xi].get();

    const body: Expr[] = mv.map((l, xi) => l.set(k.v128.load(0, 4, at(i32.add(mrow.get(), i32.mul(mSlice.get(), c32(xi))), tx.get()))));
    // s = A^T m: rows m0 + m1 + m2 and m1 - m2 - m3, per column j
    for (let j = 0; j < 4; j++) {
      body.push(s[j].set(f.add(f.add(mAt(j), mAt(4 + j)), mAt(8 + j))));
      body.push(s[4 + j].set(f.sub(f.sub(mAt(4 + j), mAt(8 + j)), mAt(12 + j))));
    }
    // Y = s A: columns s0 + s1 + s2 and s1 - s2 - s3
    for (let i = 0; i < 2; i++) {
      const r = (j: number) => s[i * 4 + j].get();
      body.push(Y[i * 2].set(f.add(f.add(f.add(r(0), r(1)), r(2)), b.get())));
      body.push(Y[i * 2 + 1].set(f.add(f.sub(f.sub(r(1), r(2)), r(3)), b.get())));
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
