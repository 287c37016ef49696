// Gemm: Y = alpha * A' x B' + beta * C (A' = transA ? A^T : A, same for B; C broadcasts to [M, N]).
// Kernel variants: 'gemv' (float32, M <= 4: codegen/gemv.ts streams B once), 'gemm' (float32: the shared GEMM)
// and 'generic'. A constant B is packed at compile time with alpha folded in, a transposed A is read in place
// ('contig' layout), and beta*C becomes a row bias, a column bias or a residual operand.
// Other dtypes and the rare leftovers (alpha != 1 or transB with B computed at run time, scaled run-time C)
// use a plain loop.

import { broadcastShapes } from '../codegen/elementwise.js';
import { applyActivationScalar, callGemm, gemmKernel, gemmNR, MR, packB, packBias, readFused, type Epilogue, type FusedAttrs } from '../codegen/gemm.js';
import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { DTYPE_SIZE, type DType } from '../src/ir/dtype.js';
import { numel } from '../src/ir/graph.js';
import { callGemv, ensureGemvSlack, gemvKernel, gemvPanel, GEMV_MAX_ROWS } from '../codegen/gemv.js';
import { ensureSlack } from './matmul.js';
import { defineOp, type EmitCtx, type InferCtx, type Operand } from './types.js';

interface Attrs extends FusedAttrs {
  alpha: number;
  beta: number;
  transA: boolean;
  transB: boolean;
}

const GEMM_TYPES: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint32', 'uint64'];

export const Gemm = defineOp<Attrs>({
  op: 'Gemm', since: 1, dtypes: GEMM_TYPES,
  notes: 'C broadcasts to [M, N] (opset 7 rules; the older broadcast attribute is accepted)',
  attrs: (a) => ({
    alpha: a.float('alpha', 1), beta: a.float('beta', 1),
    transA: a.int('transA', 0) !== 0, transB: a.int('transB', 0) !== 0,
    ...readFused(a),
  }),
  infer(ctx) {
    const [a, b, c] = ctx.inputs;
    if (!a || !b) ctx.fail('Gemm needs inputs A and B');
    if (a!.shape.length !== 2 || b!.shape.length !== 2) ctx.fail(`A and B must be 2-D, got [${a!.shape}] and [${b!.shape}]`);
    if (a!.dtype !== b!.dtype || (c && c.dtype !== a!.dtype)) ctx.fail('A, B and C must have the same dtype');
    if (!GEMM_TYPES.includes(a!.dtype)) ctx.fail(`dtype ${a!.dtype} is not supported`);
    const { M, K, N } = dims(ctx.attrs, a!.shape, b!.shape);
    const K2 = ctx.attrs.transB ? b!.shape[1] : b!.shape[0];
    if (K !== K2) ctx.fail(`inner dimensions differ: A' is ${M}x${K}, B' is ${K2}x${N}`);
    if (c) {
      const bc = broadcastShapes([c.shape, [M, N]]);
      if (!bc || bc.join() !== [M, N].join()) ctx.fail(`C [${c.shape}] does not broadcast to [${M}, ${N}]`);
    }
    return [{ dtype: a!.dtype, shape: [M, N] }];
  },
  variants: [
    {
      name: 'gemv',
      applies: (ctx) => fastF32(ctx) && gemvRows(ctx) <= GEMV_MAX_ROWS,
      emit: unlessEmpty(emitGemmGemv),
    },
    { name: 'gemm', applies: fastF32, emit: unlessEmpty(emitGemmF32) },
    { name: 'generic', applies: () => true, emit: unlessEmpty(emitGemmGeneric) },
  ],
});

function unlessEmpty(emit: (ctx: EmitCtx<Attrs>) => void): (ctx: EmitCtx<Attrs>) => void {
  return (ctx) => { if (numel(ctx.outputs[0].shape) !== 0) emit(ctx); };
}

function dims(attrs: Attrs, a: number[], b: number[]) {
  const [M, K] = attrs.transA ? [a[1], a[0]] : a;
  const N = attrs.transB ? b[0] : b[1];
  return { M, K, N };
}

type GemmCtx = InferCtx<Attrs>;

/** Whether the float32 kernels (GEMM or GEMV) take this node; the rest runs the generic loop. */
function fastF32(ctx: GemmCtx): boolean {
  const [a, b, c] = ctx.inputs;
  const { alpha, beta, transB } = ctx.attrs;
  if (a!.dtype !== 'float32') return false;
  if (!b!.const && (alpha !== 1 || transB)) return false;
  if (ctx.attrs.residual >= 0) return false; // the fusion pass never adds a residual to Gemm
  const { N } = dims(ctx.attrs, a!.shape, b!.shape);
  return !(c && !c.const && beta !== 0 && (beta !== 1 || !(c.shape.length >= 1 && c.shape[c.shape.length - 1] === N && N > 1)));
}

/** Rows the GEMV would run: M, when A's rows are contiguous (a transposed A only has that with one row). */
function gemvRows(ctx: GemmCtx): number {
  const { M } = dims(ctx.attrs, ctx.inputs[0]!.shape, ctx.inputs[1]!.shape);
  return ctx.attrs.transA && M > 1 ? Infinity : M;
}

/** beta*C as the kernels take it: values per row, per column, for all of [M, N], or a run-time residual. */
type CPlan =
  | { kind: 'none' }
  | { kind: 'row' | 'col' | 'full'; values: Float32Array }
  | { kind: 'input'; ptr: number; ldres: number };

function planC(ctx: EmitCtx<Attrs>, M: number, N: number): CPlan {
  const c = ctx.inputs[2];
  const { beta } = ctx.attrs;
  if (!c || beta === 0) return { kind: 'none' };
  const cs = c.shape;
  const rowsVary = cs.length === 2 && cs[0] === M && M > 1;
  const colsVary = cs.length >= 1 && cs[cs.length - 1] === N && N > 1;
  if (!c.const) return { kind: 'input', ptr: c.ptr, ldres: rowsVary ? N * 4 : 0 }; // a [N] or [1, N] C: one row for all
  const cd = c.const.data as Float32Array;
  const scaled = (v: ArrayLike<number>) => Float32Array.from(v, (x) => x * beta);
  if (rowsVary && colsVary) return { kind: 'full', values: scaled(cd) };
  if (rowsVary) return { kind: 'row', values: scaled(cd) };
  return { kind: 'col', values: scaled(colsVary ? cd : new Float32Array(N).fill(cd[0])) };
}

/** B' packed into panels of `width` columns (alpha folded in), or B itself when computed at run time. */
function operandB(ctx: EmitCtx<Attrs>, K: number, N: number, width: number): { ptr: number; ldb: number; pB: number } {
  const b = ctx.inputs[1]!;
  const { alpha, transB } = ctx.attrs;
  if (!b.const) return { ptr: b.ptr, ldb: N * 4, pB: width * 4 };
  const packed = packB({ data: b.const.data as Float32Array, rows: K, cols: N, rs: transB ? 1 : N, cs: transB ? K : 1 }, ctx.target, alpha, width);
  return { ptr: ctx.data(packed.bytes), ldb: packed.ldb, pB: packed.pB };
}

/** The GEMM path: M rows in 4 x NR tiles. */
function emitGemmF32(ctx: EmitCtx<Attrs>): void {
  const a = ctx.inputs[0]!;
  const { transA, act } = ctx.attrs;
  const { M, K, N } = dims(ctx.attrs, a.shape, ctx.inputs[1]!.shape);
  const NR = gemmNR(ctx.target);
  const cp = planC(ctx, M, N);
  let ep: Epilogue = { bias: 'none', residual: false, act };
  let biasPtr = 0, resPtr = 0, ldres = 0;
  if (cp.kind === 'full') { resPtr = ctx.data(new Uint8Array(cp.values.buffer)); ldres = N * 4; ep = { ...ep, residual: true }; }
  else if (cp.kind === 'row') { biasPtr = ctx.data(packBias(cp.values, M, MR)); ep = { ...ep, bias: 'row' }; }
  else if (cp.kind === 'col') { biasPtr = ctx.data(packBias(cp.values, N, NR)); ep = { ...ep, bias: 'col' }; }
  else if (cp.kind === 'input') { resPtr = cp.ptr; ldres = cp.ldres; ep = { ...ep, residual: true }; }
  const gemm = gemmKernel(ctx, { a: transA ? 'contig' : 'rows', ...ep });
  ensureSlack(ctx);
  const b = operandB(ctx, K, N, NR);
  const [sA, pA] = transA ? [M * 4, MR * 4] : [K * 4, MR * K * 4];
  const key = `gemm_op:${M}x${K}x${N}:${sA}:${pA}:${b.ldb}:${b.pB}:${ldres}:${gemm}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [ap, bp, yp, bias, rp] = k.params;
    const c32 = (v: number) => k.c32(v);
    return callGemm(k, gemm, {
      a: ap.get(), sA: c32(sA), pA: c32(pA), b: bp.get(), ldb: c32(b.ldb), pB: c32(b.pB),
      c: yp.get(), ldc: c32(N * 4), M: c32(M), N: c32(N), K: c32(K),
      bias: bias.get(), res: rp.get(), ldres: c32(ldres),
    });
  });
  ctx.call(fn, [a.ptr, b.ptr, ctx.outputs[0].ptr, biasPtr, resPtr]);
}

/** The GEMV path (M <= 4): B streams once through a tile of exactly M rows; C is a column bias or a residual. */
function emitGemmGemv(ctx: EmitCtx<Attrs>): void {
  const a = ctx.inputs[0]!;
  const { M, K, N } = dims(ctx.attrs, a.shape, ctx.inputs[1]!.shape);
  const PW = gemvPanel(M, N, ctx.target);
  const cp = planC(ctx, M, N);
  let biasPtr = 0, resPtr = 0, ldres = 0;
  const residual = cp.kind === 'row' || cp.kind === 'full' || cp.kind === 'input';
  if (cp.kind === 'col') biasPtr = ctx.data(packBias(cp.values, N, PW));
  else if (cp.kind === 'row' || cp.kind === 'full') {
    // at most 4 rows: a row bias is cheaper as a full [M, N] residual than as another kernel variant
    const full = cp.kind === 'full' ? cp.values : Float32Array.from({ length: M * N }, (_, i) => cp.values[Math.floor(i / N)]);
    resPtr = ctx.data(new Uint8Array(full.buffer)); ldres = N * 4;
  } else if (cp.kind === 'input') { resPtr = cp.ptr; ldres = cp.ldres; }
  const gemv = gemvKernel(ctx, { M, PW, bias: cp.kind === 'col' ? 'col' : 'none', residual, act: ctx.attrs.act });
  ensureGemvSlack(ctx);
  const b = operandB(ctx, K, N, PW);
  const key = `gemv_op:${M}x${K}x${N}:${b.ldb}:${b.pB}:${ldres}:${gemv}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [ap, bp, yp, bias, rp] = k.params;
    const c32 = (v: number) => k.c32(v);
    return callGemv(k, gemv, {
      a: ap.get(), sA: c32(K * 4), b: bp.get(), ldb: c32(b.ldb), pB: c32(b.pB),
      c: yp.get(), ldc: c32(N * 4), N: c32(N), K: c32(K), bias: bias.get(), res: rp.get(), ldres: c32(ldres),
    });
  });
  ctx.call(fn, [a.ptr, b.ptr, ctx.outputs[0].ptr, biasPtr, resPtr]);
}

function emitGemmGeneric(ctx: EmitCtx<Attrs>): void {
  const [a, b, c] = ctx.inputs as (Operand | undefined)[];
  const { alpha, beta, transA, transB, act } = ctx.attrs;
  const dt = a!.dtype;
  const { M, K, N } = dims(ctx.attrs, a!.shape, b!.shape);
  const e = DTYPE_SIZE[dt];
  const t = computeType(dt);
  if (act.kind !== 'none' && t !== 'f32') ctx.fail('internal: fused activation on a non-float32 Gemm');
  // Element strides of A'(i,k), B'(k,j) and C broadcast to (i,j).
  const [aRs, aCs] = transA ? [1, M] : [K, 1];
  const [bRs, bCs] = transB ? [1, K] : [N, 1];
  const cs = c?.shape ?? [];
  const cRs = cs.length === 2 && cs[0] !== 1 ? cs[1] : 0;
  const cCs = cs.length >= 1 && cs[cs.length - 1] !== 1 ? 1 : 0;
  const key = `gemm_generic:${dt}:${M}x${K}x${N}:${aRs},${aCs}:${bRs},${bCs}:${c ? `${cRs},${cCs}` : 'noC'}:${alpha}:${beta}:${JSON.stringify(act)}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32'], (k) => {
    const [ap, bp, cp, yp] = k.params;
    const { i32 } = k;
    const ns = k[t as 'f32'] as Kernel['f32'];
    const at = (base: Expr, idx: Expr) => i32.add(base, i32.mul(idx, k.c32(e)));
    const lin = (i: Expr, j: Expr, rs: number, cst: number) => i32.add(i32.mul(i, k.c32(rs)), i32.mul(j, k.c32(cst)));
    const acc = k.local(t);
    const isFloat = t === 'f32' || t === 'f64';
    const scale = (v: Expr, s: number) => (s === 1 ? v : isFloat ? ns.mul(v, k.const(t, s)) : ns.mul(v, k.const(t, Math.trunc(s))));
    return [k.loop(0, M, (i) => k.loop(0, N, (j) => {
      let y: Expr = scale(acc.get(), alpha);
      if (c && beta !== 0) y = ns.add(y, scale(k.load(dt, at(cp.get(), lin(i.get(), j.get(), cRs, cCs))), beta));
      if (act.kind !== 'none') y = applyActivationScalar(k, act, y);
      return [
        acc.set(k.const(t, 0)),
        k.loop(0, K, (kk) => acc.set(ns.add(acc.get(), ns.mul(
          k.load(dt, at(ap.get(), lin(i.get(), kk.get(), aRs, aCs))),
          k.load(dt, at(bp.get(), lin(kk.get(), j.get(), bRs, bCs))))))),
        k.store(dt, at(yp.get(), lin(i.get(), j.get(), N, 1)), y),
      ];
    }))];
  });
  ctx.call(fn, [a!.ptr, b!.ptr, c?.ptr ?? 0, ctx.outputs[0].ptr]);
}
