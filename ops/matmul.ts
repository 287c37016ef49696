// MatMul (numpy semantics: batched with broadcasting, 1-D operands promoted and their dim removed).
// Kernel variants: 'gemv' (float32 with at most 4 rows per product: codegen/gemv.ts), 'gemm', 'generic'.
// float32 runs on the shared GEMM (codegen/gemm.ts): a constant 2-D B is packed into panels at compile time and
// the batch folds into M; other cases call the GEMM once per batch on row-major operands. Other dtypes use a
// straightforward generic kernel. A fused epilogue (bias, residual, activation) comes from src/passes/fuse-*.ts.

import { broadcastShapes, broadcastStrides, stridedLoop } from '../codegen/elementwise.js';
import { callGemm, gemmKernel, gemmNR, MR, packB, packBias, readFused, type Epilogue, type FusedAttrs } from '../codegen/gemm.js';
import { callGemv, ensureGemvSlack, gemvKernel, gemvPanel, GEMV_MAX_ROWS } from '../codegen/gemv.js';
import { computeType, type Expr, type Kernel } from '../codegen/wasm.js';
import { DTYPE_SIZE, type DType } from '../src/ir/dtype.js';
import { numel, type Shape } from '../src/ir/graph.js';
import { emitMatMulGemvTransB } from './matmul-transb.js';
import { defineOp, type EmitCtx, type InferCtx } from './types.js';

export interface MatMulShapes {
  M: number; K: number; N: number;
  batch: Shape;
  out: Shape;
  /** Byte strides of each operand's matrices over the broadcast batch (0 where broadcast). */
  aStrides: number[]; bStrides: number[];
  /** B has a single matrix (no batch, or batch dims of 1). */
  bSingle: boolean;
}

export function matmulShapes(a: Shape, b: Shape, elem: number, fail: (m: string) => never): MatMulShapes {
  if (a.length === 0 || b.length === 0) fail('MatMul operands must have rank >= 1');
  const a2 = a.length === 1 ? [1, a[0]] : a;
  const b2 = b.length === 1 ? [b[0], 1] : b;
  const [M, K] = a2.slice(-2);
  const [K2, N] = b2.slice(-2);
  if (K !== K2) fail(`inner dimensions differ: A is [${a}], B is [${b}]`);
  const aB = a2.slice(0, -2), bB = b2.slice(0, -2);
  const batch = broadcastShapes([aB, bB]);
  if (!batch) fail(`batch dimensions of [${a}] and [${b}] do not broadcast`);
  const out = [...batch!];
  if (a.length > 1) out.push(M);
  if (b.length > 1) out.push(N);
  return {
    M, K, N, batch: batch!, out,
    aStrides: broadcastStrides(aB, batch!, M * K * elem),
    bStrides: broadcastStrides(bB, batch!, K * N * elem),
    bSingle: numel(bB) === 1,
  };
}

const MATMUL_TYPES: DType[] = ['float32', 'float64', 'float16', 'bfloat16', 'int32', 'int64', 'uint32', 'uint64'];

/** `_transB` (src/passes/fuse-transpose-matmul.ts): input 1 holds B with its last two axes swapped. */
type MatMulAttrs = FusedAttrs & { transB: boolean };

/** B's shape as the product sees it ([..., K, N]), whatever layout input 1 has. */
export const logicalB = (shape: Shape, transB: boolean): Shape => (transB ? [...shape.slice(0, -2), shape[shape.length - 1], shape[shape.length - 2]] : shape);

export const MatMul = defineOp<MatMulAttrs>({
  op: 'MatMul', since: 1, dtypes: MATMUL_TYPES,
  notes: 'float32 on a register-blocked SIMD GEMM with constant weights packed at compile time; up to 4 rows a product on a GEMV, also over a B transposed by a fused Transpose',
  attrs: (a) => ({ ...readFused(a), transB: a.int('_transB', 0) === 1 }),
  infer(ctx) {
    const [a, b] = ctx.inputs;
    if (!a || !b) ctx.fail('MatMul needs inputs A and B');
    if (a!.dtype !== b!.dtype) ctx.fail(`A is ${a!.dtype} but B is ${b!.dtype}`);
    if (!MATMUL_TYPES.includes(a!.dtype)) ctx.fail(`dtype ${a!.dtype} is not supported`);
    if (ctx.attrs.transB && (b!.shape.length < 2 || a!.dtype !== 'float32')) ctx.fail('internal: _transB needs a float32 B of rank >= 2');
    const s = matmulShapes(a!.shape, logicalB(b!.shape, ctx.attrs.transB), 4, ctx.fail);
    checkFusedInputs(ctx, s.out, s.N, 2);
    return [{ dtype: a!.dtype, shape: s.out }];
  },
  variants: [
    { name: 'gemv-transb', applies: (ctx) => ctx.attrs.transB, emit: unlessEmpty((ctx) => emitMatMulGemvTransB(ctx)) },
    { name: 'gemv', applies: (ctx) => ctx.inputs[0]!.dtype === 'float32' && gemvRows(ctx) <= GEMV_MAX_ROWS, emit: unlessEmpty(emitMatMulGemv) },
    { name: 'gemm', applies: (ctx) => ctx.inputs[0]!.dtype === 'float32', emit: unlessEmpty(emitMatMulF32) },
    {
      name: 'generic', applies: () => true,
      emit: unlessEmpty((ctx) => {
        const [a, b] = ctx.inputs as NonNullable<(typeof ctx.inputs)[number]>[];
        emitMatMulGeneric(ctx, a.dtype, matmulShapes(a.shape, b.shape, DTYPE_SIZE[a.dtype], ctx.fail), a.ptr, b.ptr, ctx.outputs[0].ptr);
      }),
    },
  ],
});

function unlessEmpty(emit: (ctx: EmitCtx<FusedAttrs>) => void): (ctx: EmitCtx<FusedAttrs>) => void {
  return (ctx) => { if (numel(ctx.outputs[0].shape) !== 0) emit(ctx); };
}

/** A constant single B takes every batch row of A as one more row of one product. */
const foldsBatch = (ctx: { inputs: readonly ({ const?: unknown } | undefined)[] }, s: MatMulShapes) => !!ctx.inputs[1]?.const && s.bSingle;

/** Rows of each product the kernel runs: the whole batch times M when it folds, else M. */
function gemvRows(ctx: InferCtx<FusedAttrs>): number {
  const s = matmulShapes(ctx.inputs[0]!.shape, ctx.inputs[1]!.shape, 4, ctx.fail);
  return foldsBatch(ctx, s) ? numel(s.batch) * s.M : s.M;
}

/** Fused inputs after the ONNX ones: `_bias` [N] at index `first`, residual shaped like the output. */
export function checkFusedInputs(ctx: InferCtx<FusedAttrs>, out: Shape, N: number, first: number): void {
  const { residual } = ctx.attrs;
  const bias = ctx.node.attrs._bias === 1 ? ctx.inputs[first] : undefined;
  if (bias && (bias.dtype !== 'float32' || !bias.const || numel(bias.shape) !== N)) ctx.fail('fused bias must be a float32 constant of N elements');
  if (residual >= 0) {
    const r = ctx.inputs[residual];
    if (!r || r.dtype !== 'float32' || r.shape.join() !== out.join()) ctx.fail('fused residual must be float32 with the output shape');
  }
}

function emitMatMulF32(ctx: EmitCtx<FusedAttrs>): void {
  const [a, b] = ctx.inputs as NonNullable<(typeof ctx.inputs)[number]>[];
  const y = ctx.outputs[0];
  const s = matmulShapes(a.shape, b.shape, 4, ctx.fail);
  const { M, K, N } = s;
  const biasIn = ctx.node.attrs._bias === 1 ? ctx.inputs[2] : undefined;
  const res = ctx.attrs.residual >= 0 ? ctx.inputs[ctx.attrs.residual] : undefined;
  const ep: Epilogue = { bias: biasIn ? 'col' : 'none', residual: !!res, act: ctx.attrs.act };
  const gemm = gemmKernel(ctx, { a: 'rows', ...ep });
  const NR = gemmNR(ctx.target);
  const biasPtr = biasIn ? ctx.data(packBias(biasIn.const!.data as Float32Array, N, NR)) : 0;
  ensureSlack(ctx);

  if (b.const && s.bSingle) {
    // Weights: packed panels; every batch row of A is one more row of one big GEMM.
    const packed = packB({ data: b.const.data as Float32Array, rows: K, cols: N, rs: N, cs: 1 }, ctx.target);
    const bPtr = ctx.data(packed.bytes);
    const rows = numel(s.batch) * M;
    const key = `matmul_w:${rows}x${K}x${N}:${gemm}`;
    const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [ap, bp, cp, bias, rp] = k.params;
      return callGemm(k, gemm, {
        a: ap.get(), sA: k.c32(K * 4), pA: k.c32(MR * K * 4),
        b: bp.get(), ldb: k.c32(packed.ldb), pB: k.c32(packed.pB),
        c: cp.get(), ldc: k.c32(N * 4), M: k.c32(rows), N: k.c32(N), K: k.c32(K),
        bias: bias.get(), res: rp.get(), ldres: k.c32(N * 4),
      });
    });
    ctx.call(fn, [a.ptr, bPtr, y.ptr, biasPtr, res?.ptr ?? 0]);
    return;
  }
  // Both operands row-major in memory, one GEMM per batch matrix.
  const cStrides = broadcastStrides(s.batch, s.batch, M * N * 4);
  const key = `matmul:${s.batch}:${s.aStrides}:${s.bStrides}:${M}x${K}x${N}:${gemm}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [ap, bp, cp, bias, rp] = k.params;
    const body = (): Expr[] => [callGemm(k, gemm, {
      a: ap.get(), sA: k.c32(K * 4), pA: k.c32(MR * K * 4),
      b: bp.get(), ldb: k.c32(N * 4), pB: k.c32(NR * 4),
      c: cp.get(), ldc: k.c32(N * 4), M: k.c32(M), N: k.c32(N), K: k.c32(K),
      bias: bias.get(), res: rp.get(), ldres: k.c32(N * 4),
    })];
    return [stridedLoop(k, s.batch, [s.aStrides, s.bStrides, cStrides, cStrides], [ap, bp, cp, rp], body, false)];
  });
  ctx.call(fn, [a.ptr, b.ptr, y.ptr, biasPtr, res?.ptr ?? 0]);
}

/** M <= 4 rows (per batch matrix, or in all when a constant B folds the batch): the GEMV streams B once. */
function emitMatMulGemv(ctx: EmitCtx<FusedAttrs>): void {
  const [a, b] = ctx.inputs as NonNullable<(typeof ctx.inputs)[number]>[];
  const y = ctx.outputs[0];
  const s = matmulShapes(a.shape, b.shape, 4, ctx.fail);
  const { K, N } = s;
  const folds = foldsBatch(ctx, s);
  const rows = folds ? numel(s.batch) * s.M : s.M;
  const biasIn = ctx.node.attrs._bias === 1 ? ctx.inputs[2] : undefined;
  const res = ctx.attrs.residual >= 0 ? ctx.inputs[ctx.attrs.residual] : undefined;
  const PW = gemvPanel(rows, N, ctx.target);
  const gemv = gemvKernel(ctx, { M: rows, PW, bias: biasIn ? 'col' : 'none', residual: !!res, act: ctx.attrs.act });
  const biasPtr = biasIn ? ctx.data(packBias(biasIn.const!.data as Float32Array, N, PW)) : 0;
  ensureGemvSlack(ctx);
  const packed = folds ? packB({ data: b.const!.data as Float32Array, rows: K, cols: N, rs: N, cs: 1 }, ctx.target, 1, PW) : undefined;
  const [bPtr, ldb, pB] = packed ? [ctx.data(packed.bytes), packed.ldb, packed.pB] : [b.ptr, N * 4, PW * 4];
  const batch = folds ? [] : s.batch;
  const cStrides = broadcastStrides(batch, batch, s.M * N * 4);
  const key = `matmul_gemv:${batch}:${folds ? '' : `${s.aStrides}:${s.bStrides}`}:${rows}x${K}x${N}:${ldb}:${pB}:${gemv}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [ap, bp, cp, bias, rp] = k.params;
    const body = (): Expr[] => [callGemv(k, gemv, {
      a: ap.get(), sA: k.c32(K * 4), b: bp.get(), ldb: k.c32(ldb), pB: k.c32(pB),
      c: cp.get(), ldc: k.c32(N * 4), N: k.c32(N), K: k.c32(K), bias: bias.get(), res: rp.get(), ldres: k.c32(N * 4),
    })];
    return folds ? body() : [stridedLoop(k, batch, [s.aStrides, s.bStrides, cStrides, cStrides], [ap, bp, cp, rp], body, false)];
  });
  ctx.call(fn, [a.ptr, bPtr, y.ptr, biasPtr, res?.ptr ?? 0]);
}

/**
 * The GEMM reads up to one tile past the end of an operand (lanes it never stores). Data placed after the
 * activations guarantees those bytes exist even when a model has no other weights; the kernel key makes it
 * happen once per module (the empty function is dropped by the optimizer).
 */
export function ensureSlack(ctx: EmitCtx<unknown>): void {
  ctx.kernel('gemm_read_slack', [], (k) => {
    ctx.data(new Uint8Array(64));
    return k.nop();
  });
}

/** Naive batched matmul for non-float32 dtypes: acc in the compute type, numpy broadcasting over batch. */
export function emitMatMulGeneric(ctx: EmitCtx<unknown>, dt: DType, s: MatMulShapes, aPtr: number, bPtr: number, yPtr: number): void {
  const { M, K, N } = s;
  const e = DTYPE_SIZE[dt];
  const t = computeType(dt);
  const cStrides = broadcastStrides(s.batch, s.batch, M * N * e);
  const key = `matmul_generic:${dt}:${s.batch}:${s.aStrides}:${s.bStrides}:${M}x${K}x${N}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32'], (k) => {
    const [ap, bp, cp] = k.params;
    const acc = k.local(t);
    const ns = k[t as 'f32'] as Kernel['f32'];
    const body = (): Expr[] => [k.loop(0, M, (i) => k.loop(0, N, (j) => [
      acc.set(k.const(t, 0)),
      k.loop(0, K, (kk) => acc.set(ns.add(acc.get(), ns.mul(
        k.load(dt, k.i32.add(ap.get(), k.i32.mul(k.i32.add(k.i32.mul(i.get(), k.c32(K)), kk.get()), k.c32(e)))),
        k.load(dt, k.i32.add(bp.get(), k.i32.mul(k.i32.add(k.i32.mul(kk.get(), k.c32(N)), j.get()), k.c32(e)))))))),
      k.store(dt, k.i32.add(cp.get(), k.i32.mul(k.i32.add(k.i32.mul(i.get(), k.c32(N)), j.get()), k.c32(e))), acc.get()),
    ]))];
    return [stridedLoop(k, s.batch, [s.aStrides, s.bStrides, cStrides], [ap, bp, cp], body, false)];
  });
  ctx.call(fn, [aPtr, bPtr, yPtr]);
}

