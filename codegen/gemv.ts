// The float32 matrix-vector kernel (GEMV) for products with few rows: C[M,N] = epilogue(A[M,K] x B[K,N]) with
// M <= GEMV_MAX_ROWS (batch-1 fully connected layers, transformer decoding, recurrent steps).
//
// The GEMM's 4-row tile would spend three quarters of its work on copies of row 0 when M = 1. Here the tile
// has exactly M rows and is wider instead (PW columns, up to 8 vectors for M = 1), so B streams through once at
// load bandwidth: per k one splat of each A row, PW/4 vector loads of B and M*PW/4 multiply-adds into as many
// independent accumulators (enough to hide the add latency). No K blocking: B is read exactly once either way.
//
// Operand layouts (strides in bytes):
//  - A: A(i,k) at a + i*sA + k*4 (row-major rows).
//  - B: B(k,j) at b + (j/PW)*pB + k*ldb + (j%PW)*4: panels packed by packB(..., width = gemvPanel(M, N, target))
//    (ldb = PW*4, pB = K*PW*4) or a row-major [K][N] matrix (ldb = N*4, pB = PW*4). Columns past N are read,
//    never stored (ensureGemvSlack keeps those reads inside memory).
//  - C: C(i,j) at c + i*ldc + j*4; residual R(i,j) at res + i*ldres + j*4; bias 'col' at bias + j*4, padded
//    to whole panels (packBias(values, N, PW)).

import type { EmitCtx } from '../ops/types.js';
import { activationKey, applyActivation, lanes, type Epilogue } from './gemm.js';
import type { Expr, Kernel, Local, Target } from './wasm.js';

/** Largest M the GEMV kernel takes; from 4 rows on the GEMM's 4 x 8 tile wastes nothing. */
export const GEMV_MAX_ROWS = 4;

/** Vectors per panel row for M rows: M * NV accumulators stay within the 16 registers V8 uses. */
const VECTORS: Record<number, number> = { 1: 6, 2: 4, 3: 2, 4: 2 };

/**
 * A one-row GEMV reads two streams at once: the whole panels split in two runs, one tile reading panel g of
 * each run, so that each stream walks its run from start to end. Two streams keep more loads in flight than one
 * and a hardware prefetcher follows each across panels: 8-25% faster than one stream of 6-vector panels on
 * weights from memory and from the last-level cache (benchmarks/gemv-floor.ts).
 */
export function gemvStreams(M: number, target: Target): number {
  return target === 'simd' && M === 1 ? 2 : 1;
}

/**
 * Vectors per stream: 4, i.e. 8 accumulators. In A/B runs against 3 vectors on weights in cache: MatMul 1x512 by
 * 512x2048 and 1x384 by 384x1536 3-7% faster, LSTM h128 over 50 steps 4-5%; no change on weights from L3 or
 * memory. Fragile: a hand-written loop of the same shape spilled an accumulator at 8 and ran at half speed, and
 * so did this one when binaryen made K a constant (see PRIME_K), so re-measure after a V8 upgrade.
 * Unrolling K (2 or 4 steps a pass) was 50% slower: the loads hoisted ahead of the multiplies spill.
 */
const STREAM_VECTORS = 4;

/** Columns per packed panel for M rows (narrower when N is small, so a short row wastes few lanes). */
export function gemvPanel(M: number, N: number, target: Target): number {
  const L = target === 'simd' ? 4 : 1;
  return Math.min(gemvStreams(M, target) > 1 ? STREAM_VECTORS : VECTORS[M], Math.ceil(N / L)) * L;
}

export interface GemvVariant {
  /** Rows of A and C (1..GEMV_MAX_ROWS). */
  M: number;
  /** Columns per panel (gemvPanel). */
  PW: number;
  bias: 'none' | 'col';
  residual: boolean;
  act: Epilogue['act'];
}

export interface GemvArgs {
  a: Expr; sA: Expr;
  b: Expr; ldb: Expr; pB: Expr;
  c: Expr; ldc: Expr;
  N: Expr; K: Expr;
  bias?: Expr; res?: Expr; ldres?: Expr;
}

const PARAMS = ['a', 'sA', 'b', 'ldb', 'pB', 'c', 'ldc', 'N', 'K', 'bias', 'res', 'ldres'] as const;

/** The shared GEMV function for this variant (created on first use). */
export function gemvKernel(ctx: EmitCtx<unknown>, v: GemvVariant): string {
  if (!(v.M >= 1 && v.M <= GEMV_MAX_ROWS)) throw new Error(`internal: GEMV for M = ${v.M}`);
  const streams = gemvStreams(v.M, ctx.target);
  const key = `gemv:${v.M}x${v.PW}x${streams}:${v.bias}:${v.residual}:${activationKey(v.act)}`;
  const fn = ctx.kernel(key, PARAMS.map(() => 'i32' as const), (k) => buildGemv(k, v, streams));
  // A hot kernel: let V8 optimize it while the weights load (see EmitCtx.prime); every operand in the zero area.
  // N covers the multi-stream tile and the single one.
  const N = (streams + 1) * v.PW;
  ctx.prime(fn, (zeros, out) => PRIME_K.map((K) => [zeros, 0, zeros, 0, 0, out, 0, N, K, zeros, zeros, 0]), PRIME_CALLS / PRIME_K.length);
  return fn;
}

/**
 * The prime calls the kernel at two depths so that its K is never the same constant at every call site: when a
 * model's only K was the prime's (64, kws's GRU), binaryen's dead-argument pass folded K into the tiles as a
 * constant, and V8 compiled that loop of known trip count at half speed with 4-vector streams (MatMul 1x64 by
 * 64x192: 51 vs 29 us; K = 60 did the same with a prime at 60). Not the weights' addresses: padding the panels
 * by 64 B to 2 KB so that no two streams are a multiple of 4 KB apart changed nothing.
 */
const PRIME_K = [64, 65], PRIME_CALLS = 160;

/** The call expression, for use inside a driver kernel. */
export function callGemv(k: Kernel, fn: string, g: GemvArgs): Expr {
  const z = () => k.c32(0);
  return k.call(fn, [g.a, g.sA, g.b, g.ldb, g.pB, g.c, g.ldc, g.N, g.K, g.bias ?? z(), g.res ?? z(), g.ldres ?? z()]);
}

/**
 * Bytes a GEMV may read past the end of a row-major B or a residual (one panel). The data after the activations
 * guarantees they exist; the kernel key makes it happen once per module.
 */
export function ensureGemvSlack(ctx: EmitCtx<unknown>): void {
  ctx.kernel('gemv_read_slack', [], (k) => {
    ctx.data(new Uint8Array(4 * 8 * 4));
    return k.nop();
  });
}

const TILE_PARAMS = ['a', 'sA', 'b', 'ldb', 'sdist', 'c', 'ldc', 'K', 'bias', 'res', 'ldres', 'nRem', 'cdist'] as const;

/**
 * The tile over `ns` consecutive panels at once, each read as its own sequential stream, in its own function:
 * inside the driver's panel loop V8 spilled the accumulators (twice the time on weights in cache).
 * b, c, bias and res point at the tile's first column; nRem is the columns left from there.
 */
function tileFunction(k: Kernel, v: GemvVariant, ns: number): string {
  const name = `gemv_tile${ns}x${v.M}x${v.PW}_${v.bias}_${v.residual ? 'res' : 'nores'}_${activationKey(v.act).replace(/[^a-z0-9]/gi, '_')}`;
  const fn = k.w.addFunction(name, TILE_PARAMS.map(() => 'i32' as const), 'none', (t) => buildTile(t, v, ns));
  k.w.keepOutOfLine(fn);
  return fn;
}

function buildTile(k: Kernel, v: GemvVariant, ns: number): Expr[] {
  const V = lanes(k);
  const { M, PW } = v;
  const NV = PW / V.L;
  const [a, sA, b, ldb, sdist, c, ldc, K, bias, res, ldres, nRem, cdist] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const add = (x: Expr, y: Expr) => i32.add(x, y);
  const kk = k.local('i32');
  const pb: Local[] = Array.from({ length: ns }, () => k.local('i32'));
  const pa: Local[] = Array.from({ length: M }, () => k.local('i32'));
  // acc[s][r][q]: stream (panel) s, row r, vector q
  const acc: Local[][][] = Array.from({ length: ns }, () => Array.from({ length: M }, () => Array.from({ length: NV }, () => k.local(V.type))));
  const bv = k.local(V.type);
  const av: Local[] = Array.from({ length: M }, () => k.local(V.type));
  const off = (q: number) => q * V.L * 4;
  const row = (base: Expr, stride: Local, r: number) => (r === 0 ? base : add(base, i32.mul(stride.get(), c32(r))));
  /** Stream s's address in C, the bias or the residual (cdist bytes apart). */
  const at = (base: Local, s: number) => (s === 0 ? base.get() : add(base.get(), i32.mul(cdist.get(), c32(s))));

  const init: Expr[] = [];
  for (let s = 0; s < ns; s++) {
    init.push(pb[s].set(s === 0 ? b.get() : add(b.get(), i32.mul(sdist.get(), c32(s)))));
    for (let r = 0; r < M; r++) {
      for (let q = 0; q < NV; q++) init.push(acc[s][r][q].set(v.bias === 'col' ? V.load(at(bias, s), off(q)) : V.zero()));
    }
  }
  for (let r = 0; r < M; r++) init.push(pa[r].set(row(a.get(), sA, r)));

  // Each B vector is used as soon as it is loaded: ns*M*NV accumulators, M splats and one B vector live.
  const step: Expr[] = [];
  for (let r = 0; r < M; r++) step.push(av[r].set(V.loadSplat(pa[r].get())));
  for (let q = 0; q < NV; q++) {
    for (let s = 0; s < ns; s++) {
      step.push(bv.set(V.load(pb[s].get(), off(q))));
      for (let r = 0; r < M; r++) step.push(acc[s][r][q].set(V.add(acc[s][r][q].get(), V.mul(av[r].get(), bv.get()))));
    }
  }
  for (let r = 0; r < M; r++) step.push(pa[r].set(add(pa[r].get(), c32(4))));
  for (let s = 0; s < ns; s++) step.push(pb[s].set(add(pb[s].get(), ldb.get())));
  const label = k.w.nextLabel('K');
  const kLoop = k.if(i32.gt_s(K.get(), c32(0)), [
    kk.set(K.get()),
    k.m.loop(label, k.block([...step, kk.set(i32.sub(kk.get(), c32(1))), k.m.br(label, kk.get())])),
  ]);

  const finish: Expr[] = [];
  for (let s = 0; s < ns; s++) {
    if (v.residual) {
      for (let r = 0; r < M; r++) {
        for (let q = 0; q < NV; q++) finish.push(acc[s][r][q].set(V.add(acc[s][r][q].get(), V.load(row(at(res, s), ldres, r), off(q)))));
      }
    }
    if (v.act.kind !== 'none') for (const rr of acc[s]) for (const x of rr) finish.push(x.set(applyActivation(k, v.act, x.get())));
  }

  const storeFull: Expr[] = [];
  for (let s = 0; s < ns; s++) for (let r = 0; r < M; r++) for (let q = 0; q < NV; q++) storeFull.push(V.store(row(at(c, s), ldc, r), acc[s][r][q].get(), off(q)));
  // the multi-stream tile only ever runs on whole panels; the single one may be the partial last panel
  if (ns > 1) return [...init, kLoop, ...finish, ...storeFull];
  const storePartial: Expr[] = [];
  for (let r = 0; r < M; r++) {
    for (let q = 0; q < NV; q++) {
      const x = acc[0][r][q];
      const laneStores: Expr[] = [];
      for (let l = 0; l < V.L; l++) laneStores.push(k.if(i32.gt_s(nRem.get(), c32(q * V.L + l)), V.storeLane(row(c.get(), ldc, r), x.get(), l, off(q))));
      storePartial.push(V.L > 1 ? k.if(i32.ge_s(nRem.get(), c32((q + 1) * V.L)), V.store(row(c.get(), ldc, r), x.get(), off(q)), laneStores) : laneStores[0]);
    }
  }
  return [...init, kLoop, ...finish, k.if(i32.ge_s(nRem.get(), c32(PW)), storeFull, storePartial)];
}

/** The driver: S-stream tiles over the whole panels (S > 1), then one-panel tiles over the rest. */
function buildGemv(k: Kernel, v: GemvVariant, S: number): Expr[] {
  const single = tileFunction(k, v, 1);
  const { PW } = v;
  const [a, sA, b, ldb, pB, c, ldc, N, K, bias, res, ldres] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const add = (x: Expr, y: Expr) => i32.add(x, y);
  const j = k.local('i32'), nRem = k.local('i32'), bPanel = k.local('i32'), jb = k.local('i32');
  const call = (fn: string, sdist: Expr, cdist: Expr) => k.call(fn, [
    a.get(), sA.get(), bPanel.get(), ldb.get(), sdist, add(c.get(), jb.get()), ldc.get(), K.get(),
    add(bias.get(), jb.get()), add(res.get(), jb.get()), ldres.get(), nRem.get(), cdist,
  ]);
  const next = () => [j.set(add(j.get(), c32(PW))), bPanel.set(add(bPanel.get(), pB.get()))];
  const setCol = () => [nRem.set(i32.sub(N.get(), j.get())), jb.set(i32.shl(j.get(), c32(2)))];

  // S streams: the whole panels split into S runs of G consecutive panels; tile g reads panel g of every run,
  // so each stream walks its run from start to end (a hardware prefetcher follows it across panels).
  const streamed: Expr[] = [];
  if (S > 1) {
    const wide = tileFunction(k, v, S);
    const G = k.local('i32'), g = k.local('i32');
    const label = k.w.nextLabel('G');
    streamed.push(
      G.set(i32.div_u(i32.div_u(N.get(), c32(PW)), c32(S))),
      k.if(G.get(), [
        g.set(G.get()),
        k.m.loop(label, k.block([
          ...setCol(),
          call(wide, i32.mul(pB.get(), G.get()), i32.mul(G.get(), c32(PW * 4))),
          ...next(),
          g.set(i32.sub(g.get(), c32(1))),
          k.m.br(label, g.get()),
        ])),
        j.set(i32.mul(G.get(), c32(S * PW))),
        bPanel.set(add(b.get(), i32.mul(pB.get(), i32.mul(G.get(), c32(S))))),
      ]),
    );
  }
  const loop = k.w.nextLabel('P');
  return [
    k.if(i32.le_s(N.get(), c32(0)), k.return()),
    j.set(c32(0)),
    bPanel.set(b.get()),
    ...streamed,
    // the panels left, one at a time (the last may be partial)
    k.if(i32.lt_s(j.get(), N.get()), k.m.loop(loop, k.block([
      ...setCol(),
      call(single, c32(0), c32(0)),
      ...next(),
      k.m.br(loop, i32.lt_s(j.get(), N.get())),
    ]))),
  ];
}
