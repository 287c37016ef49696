// The float32 GEMM shared by Conv, Gemm and MatMul: C[M,N] = epilogue(A[M,K] x B[K,N]).
//
// One register-blocked micro-kernel computes an MR x NR tile with MR*NR/lanes accumulators held in locals
// (f32x4 on 'simd', plain f32 on 'scalar'), loading NR consecutive B values per k and splatting one A value per
// row. Shapes and strides are run-time parameters, so one function per epilogue variant serves every layer
// (V8 optimizes it after the first few layers instead of running one cold function per node).
//
// Operand layouts (all strides in bytes):
//  - A 'contig': A(i,k) at a + (i/MR)*pA + (i%MR)*4 + k*sA. Weights packed by packA ([M/MR][K][MR], sA=MR*4,
//    pA=K*MR*4) or a transposed activation ([K][M]: sA=M*4, pA=MR*4).
//  - A 'rows':   A(i,k) at a + i*sA + k*4 (row-major activation; pA = MR*sA). Rows past M re-read row 0.
//  - B: B(k,j) at b + (j/NR)*pB + k*ldb + (j%NR)*4. Packed panels from packB (ldb=NR*4, pB=K*NR*4) or a
//    row-major [K][N] matrix (ldb=N*4 or wider, pB=NR*4). Columns past N are read but never stored.
//  - C: C(i,j) at c + i*ldc + j*4; residual R(i,j) at res + i*ldres + j*4 (same tile reads as C).
//  - bias 'row': bias + i*4, 'col': bias + j*4, zero-padded to whole tiles (packBias).
// K is split into KC-deep blocks so a B micro-panel stays in L1 while it meets every A row block; full tiles
// accumulate in C across blocks, edge tiles are computed in one pass over all of K.

import type { AttrReader, EmitCtx } from '../ops/types.js';
import { callFast } from './mathlib.js';
import type { Expr, Kernel, Local, Target, WType } from './wasm.js';

/** Rows per micro-tile (also the row-panel height of packed A). */
export const MR = 4;
/** Columns per micro-tile (also the panel width of packed B). */
export const gemmNR = (target: Target) => (target === 'simd' ? 8 : 4);
/** Depth of one K block. */
const KC = 512;

export type Activation =
  | { kind: 'none' }
  | { kind: 'relu' }
  | { kind: 'clip'; min: number; max: number }
  | { kind: 'leakyrelu'; alpha: number }
  /** x * sigmoid(x) (SiLU / Swish), fused from Sigmoid + Mul */
  | { kind: 'silu' };

export const NO_ACT: Activation = { kind: 'none' };

export function activationKey(a: Activation): string {
  switch (a.kind) {
    case 'clip': return `clip(${a.min},${a.max})`;
    case 'leakyrelu': return `lrelu(${a.alpha})`;
    default: return a.kind;
  }
}

export interface Epilogue {
  bias: 'none' | 'row' | 'col';
  residual: boolean;
  act: Activation;
}

export interface GemmVariant extends Epilogue {
  a: 'contig' | 'rows';
}

/** Vector-or-scalar f32 operations: f32x4 on 'simd', f32 on 'scalar'. */
export interface Lanes {
  readonly L: number;
  readonly type: WType;
  load(ptr: Expr, offset?: number): Expr;
  store(ptr: Expr, value: Expr, offset?: number): Expr;
  loadSplat(ptr: Expr, offset?: number): Expr;
  splat(x: Expr): Expr;
  add(a: Expr, b: Expr): Expr;
  mul(a: Expr, b: Expr): Expr;
  zero(): Expr;
  /** Store lane l of v as one f32. */
  storeLane(ptr: Expr, v: Expr, l: number, offset?: number): Expr;
}

export function lanes(k: Kernel): Lanes {
  if (k.simd) {
    return {
      L: 4, type: 'v128',
      load: (p, o = 0) => k.v128.load(o, 4, p),
      store: (p, v, o = 0) => k.v128.store(o, 4, p, v),
      loadSplat: (p, o = 0) => k.v128.load32_splat(o, 4, p),
      splat: (x) => k.f32x4.splat(x),
      add: (a, b) => k.f32x4.add(a, b),
      mul: (a, b) => k.f32x4.mul(a, b),
      zero: () => k.f32x4.splat(k.cf32(0)),
      storeLane: (p, v, l, o = 0) => k.f32.store(o + 4 * l, 4, p, k.f32x4.extract_lane(v, l)),
    };
  }
  return {
    L: 1, type: 'f32',
    load: (p, o = 0) => k.f32.load(o, 4, p),
    store: (p, v, o = 0) => k.f32.store(o, 4, p, v),
    loadSplat: (p, o = 0) => k.f32.load(o, 4, p),
    splat: (x) => x,
    add: (a, b) => k.f32.add(a, b),
    mul: (a, b) => k.f32.mul(a, b),
    zero: () => k.cf32(0),
    storeLane: (p, v, _l, o = 0) => k.f32.store(o, 4, p, v),
  };
}

/** Applies an activation to a Lanes value (f32x4 on 'simd', f32 on 'scalar'). */
export function applyActivation(k: Kernel, act: Activation, x: Expr): Expr {
  if (!k.simd) return applyActivationScalar(k, act, x);
  const c = (v: number) => k.f32x4.splat(k.cf32(v));
  switch (act.kind) {
    case 'none': return x;
    case 'relu': return k.f32x4.max(x, c(0));
    case 'clip': return k.f32x4.min(k.f32x4.max(x, c(act.min)), c(act.max));
    case 'leakyrelu': {
      const t = k.local('v128');
      return k.v128.bitselect(k.f32x4.mul(t.tee(x), c(act.alpha)), t.get(), k.f32x4.lt(t.get(), c(0)));
    }
    case 'silu': {
      const t = k.local('v128');
      return k.f32x4.mul(t.tee(x), siluSigmoidF32x4(k, t.get()));
    }
  }
}

/** 2^f on |f| <= 1/2: Taylor coefficients (ln 2)^i / i!, relative error below 2e-7. */
const EXP2_POLY = [1, 0.6931471805599453, 0.2402265069591007, 0.05550410866482158, 0.009618129107628477, 0.0013333558146428443, 0.00015403530393381606];

/**
 * sigmoid(x) = 1 / (1 + 2^(-x log2 e)) on f32x4, lighter than the general exp: the exponent is clamped to
 * +-126 with pmin/pmax (one instruction each; the clamped tails give sigmoid's limits 0 and 1 to within 1e-38),
 * so a single 2^n scale suffices.
 */
function siluSigmoidF32x4(k: Kernel, x: Expr): Expr {
  const v = k.f32x4;
  const c = (n: number) => v.splat(k.cf32(n));
  const t = k.local('v128'), n = k.local('v128'), f = k.local('v128');
  let p: Expr = c(EXP2_POLY[EXP2_POLY.length - 1]);
  for (let i = EXP2_POLY.length - 2; i >= 0; i--) p = v.add(v.mul(p, f.get()), c(EXP2_POLY[i]));
  const scale = k.i32x4.shl(k.i32x4.add(k.i32x4.trunc_sat_f32x4_s(n.get()), k.i32x4.splat(k.c32(127))), k.c32(23));
  return k.block([
    t.set(v.pmax(c(-126), v.pmin(c(126), v.mul(x, c(-Math.LOG2E))))),
    n.set(v.nearest(t.get())),
    f.set(v.sub(t.get(), n.get())),
    v.div(c(1), v.add(c(1), v.mul(p, scale))),
  ], 'v128');
}

/** An activation on one f32 (the scalar target, and edge elements of SIMD kernels). */
export function applyActivationScalar(k: Kernel, act: Activation, x: Expr): Expr {
  switch (act.kind) {
    case 'none': return x;
    case 'relu': return k.f32.max(x, k.cf32(0));
    case 'clip': return k.f32.min(k.f32.max(x, k.cf32(act.min)), k.cf32(act.max));
    case 'leakyrelu': {
      const t = k.local('f32');
      // select evaluates its condition last: the tee goes in the first operand
      return k.select(k.f32.lt(t.get(), k.cf32(0)), k.f32.mul(t.tee(x), k.cf32(act.alpha)), t.get());
    }
    case 'silu': {
      const t = k.local('f32');
      return k.f32.mul(t.tee(x), callFast(k, 'sigmoid', t.get()));
    }
  }
}

export interface GemmArgs {
  a: Expr; sA: Expr; pA: Expr;
  b: Expr; ldb: Expr; pB: Expr;
  c: Expr; ldc: Expr;
  M: Expr; N: Expr; K: Expr;
  bias?: Expr; res?: Expr; ldres?: Expr;
}

const PARAMS = ['a', 'sA', 'pA', 'b', 'ldb', 'pB', 'c', 'ldc', 'M', 'N', 'K', 'bias', 'res', 'ldres'] as const;

/** The shared GEMM function for this variant (created on first use). */
export function gemmKernel(ctx: EmitCtx<unknown>, v: GemmVariant): string {
  const key = `gemm:${v.a}:${v.bias}:${v.residual}:${activationKey(v.act)}:${MR}x${gemmNR(ctx.target)}`;
  const fn = ctx.kernel(key, PARAMS.map(() => 'i32' as const), (k) => buildGemm(k, v));
  // One 4x8 tile over K = PRIME_K, all operands read from the zero area (A and B with zero strides),
  // PRIME_CALLS times: enough executed code for V8 to queue the function for its optimizing tier.
  ctx.prime(fn, (zeros, out) => [zeros, 0, 0, zeros, 0, 0, out, 32, MR, 8, PRIME_K, zeros, zeros, 0], PRIME_CALLS);
  return fn;
}

const PRIME_K = 64, PRIME_CALLS = 160;

/** The call expression, for use inside a driver kernel. */
export function callGemm(k: Kernel, fn: string, g: GemmArgs): Expr {
  const z = k.c32(0);
  return k.call(fn, [g.a, g.sA, g.pA, g.b, g.ldb, g.pB, g.c, g.ldc, g.M, g.N, g.K, g.bias ?? z, g.res ?? z, g.ldres ?? z]);
}

/** Tile modes: continue an earlier K block (init from C), and finish (residual + activation). */
const ACCUMULATE = 1, FINISH = 2;
const TILE_PARAMS = ['a', 'sA', 'b', 'ldb', 'c', 'ldc', 'kLen', 'bias', 'res', 'ldres', 'mRem', 'nRem', 'mode'] as const;

/**
 * One MR x (NV vectors) tile in its own small function: few values are live across its K loop, so the
 * accumulators, B vectors and pointers all stay in registers (inside the big loop nest V8 spilled them).
 */
function tileFunction(k: Kernel, v: GemmVariant, NV: number): string {
  const name = `gemm_tile${NV}_${v.a}_${v.bias}_${v.residual ? 'res' : 'nores'}_${activationKey(v.act).replace(/[^a-z0-9]/gi, '_')}`;
  return k.w.addFunction(name, TILE_PARAMS.map(() => 'i32' as const), 'none', (t) => buildTile(t, v, NV));
}

function buildTile(k: Kernel, v: GemmVariant, NV: number): Expr[] {
  const V = lanes(k);
  const NR = NV * V.L;
  const [a, sA, b, ldb, c, ldc, kLen, bias, res, ldres, mRem, nRem, mode] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const add = (x: Expr, y: Expr) => i32.add(x, y);
  const apRows: Local[] = v.a === 'rows' ? Array.from({ length: MR }, () => k.local('i32')) : [];
  const acc: Local[][] = Array.from({ length: MR }, () => Array.from({ length: NV }, () => k.local(V.type)));
  const bv: Local[] = Array.from({ length: NV }, () => k.local(V.type));
  const av = k.local(V.type);
  const off = (q: number) => q * V.L * 4;
  const cRow = (r: number) => (r === 0 ? c.get() : add(c.get(), i32.mul(ldc.get(), c32(r))));
  /** Byte offset of tile row r, re-pointing rows past M at row 0. */
  const rowOff = (r: number, stride: Local) => (r === 0 ? c32(0) : k.select(i32.lt_s(c32(r), mRem.get()), i32.mul(stride.get(), c32(r)), c32(0)));

  const fromC: Expr[] = [];
  const fromBias: Expr[] = [];
  for (let r = 0; r < MR; r++) {
    for (let q = 0; q < NV; q++) {
      fromC.push(acc[r][q].set(V.load(cRow(r), off(q))));
      const init = v.bias === 'row' ? V.loadSplat(bias.get(), r * 4) : v.bias === 'col' ? V.load(bias.get(), off(q)) : V.zero();
      fromBias.push(acc[r][q].set(init));
    }
  }

  const step: Expr[] = [];
  for (let q = 0; q < NV; q++) step.push(bv[q].set(V.load(b.get(), off(q))));
  for (let r = 0; r < MR; r++) {
    step.push(av.set(v.a === 'contig' ? V.loadSplat(a.get(), r * 4) : V.loadSplat(apRows[r].get())));
    for (let q = 0; q < NV; q++) step.push(acc[r][q].set(V.add(acc[r][q].get(), V.mul(av.get(), bv[q].get()))));
  }
  step.push(b.set(add(b.get(), ldb.get())));
  if (v.a === 'contig') step.push(a.set(add(a.get(), sA.get())));
  else for (const p of apRows) step.push(p.set(add(p.get(), c32(4))));
  const label = k.w.nextLabel('K');
  const kLoop = k.if(kLen.get(), k.m.loop(label, k.block([
    ...step, kLen.set(i32.sub(kLen.get(), c32(1))), k.m.br(label, kLen.get()),
  ])));

  const finish: Expr[] = [];
  if (v.residual) {
    for (let r = 0; r < MR; r++) {
      for (let q = 0; q < NV; q++) finish.push(acc[r][q].set(V.add(acc[r][q].get(), V.load(add(res.get(), rowOff(r, ldres)), off(q)))));
    }
  }
  if (v.act.kind !== 'none') for (const row of acc) for (const x of row) finish.push(x.set(applyActivation(k, v.act, x.get())));

  const storeFull: Expr[] = [];
  for (let r = 0; r < MR; r++) for (let q = 0; q < NV; q++) storeFull.push(V.store(cRow(r), acc[r][q].get(), off(q)));
  const storePartial: Expr[] = [];
  for (let r = 0; r < MR; r++) {
    const row: Expr[] = [];
    for (let q = 0; q < NV; q++) {
      const laneStores: Expr[] = [];
      for (let l = 0; l < V.L; l++) {
        laneStores.push(k.if(i32.gt_s(nRem.get(), c32(q * V.L + l)), V.storeLane(cRow(r), acc[r][q].get(), l, off(q))));
      }
      row.push(V.L > 1 ? k.if(i32.ge_s(nRem.get(), c32((q + 1) * V.L)), V.store(cRow(r), acc[r][q].get(), off(q)), laneStores) : laneStores[0]);
    }
    storePartial.push(r === 0 ? k.block(row) : k.if(i32.gt_s(mRem.get(), c32(r)), row));
  }

  return [
    k.if(i32.and(mode.get(), c32(ACCUMULATE)), fromC, fromBias),
    ...apRows.map((p, r) => p.set(add(a.get(), rowOff(r, sA)))),
    kLoop,
    k.if(i32.and(mode.get(), c32(FINISH)), finish),
    k.if(i32.and(i32.ge_s(mRem.get(), c32(MR)), i32.ge_s(nRem.get(), c32(NR))), storeFull, storePartial),
  ];
}

function buildGemm(k: Kernel, v: GemmVariant): Expr[] {
  const NR = gemmNR(k.w.target);
  const L = lanes(k).L;
  const tile = tileFunction(k, v, NR / L);
  // A last panel of at most half the width runs a half-width tile (N = 49 would otherwise waste 7 of 8 lanes).
  const narrow = NR / L >= 2 ? tileFunction(k, v, NR / L / 2) : undefined;
  const [a, sA, pA, b, ldb, pB, c, ldc, M, N, K, bias, res, ldres] = k.params;
  const { i32 } = k;
  const c32 = (x: number) => k.c32(x);
  const add = (x: Expr, y: Expr) => i32.add(x, y);
  const pc = k.local('i32'), kc = k.local('i32'), j = k.local('i32'), i = k.local('i32');
  const mRem = k.local('i32'), nRem = k.local('i32'), full = k.local('i32');
  const bPanel = k.local('i32'), aBlk = k.local('i32'), cBlk = k.local('i32'), rBlk = k.local('i32');

  // Full tiles run K block by block (accumulating in C); edge tiles run all of K in the first block.
  const callTile = (fn: string) => k.call(fn, [
    add(aBlk.get(), v.a === 'contig' ? i32.mul(pc.get(), sA.get()) : i32.shl(pc.get(), c32(2))),
    sA.get(),
    add(bPanel.get(), i32.mul(pc.get(), ldb.get())), ldb.get(),
    cBlk.get(), ldc.get(),
    k.select(full.get(), kc.get(), K.get()),
    v.bias === 'row' ? add(bias.get(), i32.shl(i.get(), c32(2))) : v.bias === 'col' ? add(bias.get(), i32.shl(j.get(), c32(2))) : c32(0),
    rBlk.get(), ldres.get(), mRem.get(), nRem.get(),
    i32.or(
      k.select(pc.get(), c32(ACCUMULATE), c32(0)),
      k.select(i32.or(i32.eqz(full.get()), i32.ge_s(add(pc.get(), kc.get()), K.get())), c32(FINISH), c32(0))),
  ]);

  const doWhile = (cond: () => Expr, body: Expr[]): Expr => {
    const label = k.w.nextLabel('W');
    return k.m.loop(label, k.block([...body, k.m.br(label, cond())]));
  };

  // for pc in K blocks (at least once, so K == 0 still writes bias + epilogue): for panels j: for row blocks i
  return [
    k.if(i32.or(i32.le_s(M.get(), c32(0)), i32.le_s(N.get(), c32(0))), k.return()),
    pc.set(c32(0)),
    doWhile(() => i32.lt_s(pc.get(), K.get()), [
      kc.set(k.select(i32.lt_s(i32.sub(K.get(), pc.get()), c32(KC)), i32.sub(K.get(), pc.get()), c32(KC))),
      j.set(c32(0)),
      bPanel.set(b.get()),
      doWhile(() => i32.lt_s(j.get(), N.get()), [
        nRem.set(i32.sub(N.get(), j.get())),
        i.set(c32(0)),
        aBlk.set(a.get()),
        cBlk.set(add(c.get(), i32.shl(j.get(), c32(2)))),
        rBlk.set(add(res.get(), i32.shl(j.get(), c32(2)))),
        doWhile(() => i32.lt_s(i.get(), M.get()), [
          mRem.set(i32.sub(M.get(), i.get())),
          full.set(i32.and(i32.ge_s(mRem.get(), c32(MR)), i32.ge_s(nRem.get(), c32(NR)))),
          k.if(i32.or(full.get(), i32.eqz(pc.get())),
            narrow ? k.if(i32.le_s(nRem.get(), c32(NR / 2)), callTile(narrow), callTile(tile)) : callTile(tile)),
          i.set(add(i.get(), c32(MR))),
          aBlk.set(add(aBlk.get(), pA.get())),
          cBlk.set(add(cBlk.get(), i32.mul(ldc.get(), c32(MR)))),
          rBlk.set(add(rBlk.get(), i32.mul(ldres.get(), c32(MR)))),
        ]),
        j.set(add(j.get(), c32(NR))),
        bPanel.set(add(bPanel.get(), pB.get())),
      ]),
      pc.set(add(pc.get(), c32(KC))),
    ]),
  ];
}

// --- compile-time packing of constant operands ---

/** Reads element (i, k) of a constant matrix given as a flat array and element strides. */
export type MatrixView = { data: ArrayLike<number>; rows: number; cols: number; rs: number; cs: number; offset?: number };

const at = (m: MatrixView, r: number, c: number) => Number(m.data[(m.offset ?? 0) + r * m.rs + c * m.cs]);

/** Groups of `width` rows of m, each stored column by column: [ceil(rows/width)][cols][width], zero-padded. */
function packRowGroups(m: MatrixView, width: number, scale: number): Uint8Array {
  const groups = Math.ceil(m.rows / width);
  const out = new Float32Array(Math.max(1, groups * m.cols * width));
  for (let g = 0; g < groups; g++) {
    for (let c = 0; c < m.cols; c++) {
      for (let r = 0; r < width && g * width + r < m.rows; r++) out[(g * m.cols + c) * width + r] = at(m, g * width + r, c) * scale;
    }
  }
  return new Uint8Array(out.buffer);
}

/** A [M,K] -> 'contig' packed [ceil(M/MR)][K][MR], zero-padded; returns bytes, sA, pA. */
export function packA(m: MatrixView, scale = 1): { bytes: Uint8Array; sA: number; pA: number } {
  return { bytes: packRowGroups(m, MR, scale), sA: MR * 4, pA: m.cols * MR * 4 };
}

/**
 * B [K,N] -> panels [ceil(N/NR)][K][NR], zero-padded (B's columns grouped like A's rows); returns bytes, ldb, pB.
 * `width` overrides the panel width (the GEMV's wider panels, codegen/gemv.ts).
 */
export function packB(m: MatrixView, target: Target, scale = 1, width = gemmNR(target)): { bytes: Uint8Array; ldb: number; pB: number } {
  const NR = width;
  const transposed: MatrixView = { data: m.data, rows: m.cols, cols: m.rows, rs: m.cs, cs: m.rs, offset: m.offset };
  return { bytes: packRowGroups(transposed, NR, scale), ldb: NR * 4, pB: m.rows * NR * 4 };
}

/** A bias vector zero-padded to whole tiles (rows: MR, columns: NR). */
export function packBias(values: ArrayLike<number>, n: number, multiple: number, scale = 1): Uint8Array {
  const out = new Float32Array(Math.ceil(Math.max(n, 1) / multiple) * multiple + multiple);
  for (let i = 0; i < n; i++) out[i] = Number(values[i]) * scale;
  return new Uint8Array(out.buffer);
}

// --- fused epilogues: internal attributes set by src/passes/fuse-*.ts on Conv, Gemm and MatMul nodes ---

/** Attribute names of the fusion contract (never present in ONNX models: they start with an underscore). */
export const FUSED = {
  /** 'Relu' | 'Clip' | 'LeakyRelu' | 'SiLU' */
  act: '_act',
  actMin: '_act_min',
  actMax: '_act_max',
  actAlpha: '_act_alpha',
  /** Index of the input added to the result before the activation (same shape as the output). */
  residual: '_residual',
} as const;

export interface FusedAttrs {
  act: Activation;
  /** Input index of the residual operand, or -1. */
  residual: number;
}

export function readFused(a: AttrReader): FusedAttrs {
  const name = a.string(FUSED.act, '');
  let act: Activation = NO_ACT;
  if (name === 'Relu') act = { kind: 'relu' };
  else if (name === 'Clip') act = { kind: 'clip', min: a.float(FUSED.actMin, -Infinity), max: a.float(FUSED.actMax, Infinity) };
  else if (name === 'LeakyRelu') act = { kind: 'leakyrelu', alpha: a.float(FUSED.actAlpha, 0.01) };
  else if (name === 'SiLU') act = { kind: 'silu' };
  return { act, residual: a.int(FUSED.residual, -1) };
}
