// The int8 matrix product behind QLinearMatMul, com.microsoft QGemm and the lowered QDQ MatMul / Gemm: A is the
// activation (rows [.., M, K], packed at run time to i16 minus its zero point), B the weights (packed at compile
// time into the int8 GEMM's panels, zero point subtracted) or a second activation (packed at run time per batch).
// The epilogue adds an int32 bias per column and requantizes with a float32 multiplier per column.

import { callQGemm, packConstB, packPairsKernel, packRowsKernel, qgemmKernel, QMR, QNR, type QEpilogue } from '../codegen/qgemm.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import { numel } from '../src/ir/graph.js';
import { ensureSlack } from './matmul.js';
import type { EmitCtx, Operand } from './types.js';

export interface QMatMulParams {
  /** The activation and its zero point: a constant, or the operand holding it (DynamicQuantizeLinear's output). */
  a: Operand; aZp: number | Operand;
  /** [batch..., M, K] of A, and the broadcast batch count of the output. */
  M: number; K: number; N: number; batches: number;
  /** Constant B: element (k, n), signedness, zero point per column. Or a run-time B operand ([batch..., K, N]). */
  b: { at: (k: number, n: number) => number; signed: boolean; zp: (n: number) => number } | { op: Operand; zp: number; batched: boolean };
  aBatched: boolean;
  /** int32 in the accumulator's scale, or float32 for a float ('f32') output. */
  bias?: Int32Array | Float32Array;
  epilogue: QEpilogue;
  mult?: Float32Array;
  yZp: number;
}

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Bytes of the packed A (whole QMR-row panels, i16) and, for a run-time B, its packed panels. */
export function qmatmulScratch(M: number, K: number, N: number, rowsTotal: number, runtimeB: boolean): number {
  const Kp = K + (K & 1);
  return packedABytes(rowsTotal, Kp) + (runtimeB ? roundUp(N, QNR) * Kp * 2 + 64 : 0);
}

const packedABytes = (rows: number, Kp: number) => roundUp(rows, QMR) * Kp * 2 + 64;

export function emitQMatMul(ctx: EmitCtx<unknown>, q: QMatMulParams): void {
  const y = ctx.outputs[0];
  if (numel(y.shape) === 0) return;
  const { M, K, N } = q;
  const Kp = K + (K & 1);
  const eb = q.epilogue.out === 'i32' ? 4 : 1;
  const aType = q.a.dtype === 'int8' ? 'i8' : 'u8';
  const padCols = <T extends Int32Array | Float32Array>(v: T, make: (n: number) => T) => { const o = make(roundUp(N, QNR) + QNR); o.set(v.subarray(0, N)); return o; };
  const biasPtr = q.bias ? ctx.data(new Uint8Array((q.bias instanceof Float32Array ? padCols(q.bias, (n) => new Float32Array(n)) : padCols(q.bias, (n) => new Int32Array(n))).buffer)) : 0;
  const multPtr = q.mult ? ctx.data(new Uint8Array(padCols(q.mult, (n) => new Float32Array(n)).buffer)) : 0;
  ensureSlack(ctx);
  const packRows = packRowsKernel(ctx, aType);
  const scratch = ctx.scratch();
  const aPacked = scratch;
  const epi = { ...q.epilogue, bias: q.bias ? 'col' as const : 'none' as const, scale: 'col' as const };

  if ('at' in q.b) {
    // Constant weights: every batch row of A is one more row of one GEMM.
    const packed = packConstB(q.b.at, K, N, q.b.zp, q.b.signed);
    const bPtr = ctx.data(packed.bytes);
    const gemm = qgemmKernel(ctx, { a: 'i16', b: packed.storage, ...epi });
    const rows = q.batches * M;
    const fn = ctx.kernel(`qmatmul_w:${rows}x${K}x${N}:${gemm}:${aType}:${zpKey(q.aZp)}:${q.yZp}:${aPacked}`, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [ap, bp, cp, bias, mult, zpArg] = k.params;
      const c32 = (v: number) => k.c32(v);
      return [
        k.call(packRows, [ap.get(), c32(K), c32(aPacked), c32(rows), c32(K), zpValue(k, q.aZp, zpArg)]),
        callQGemm(k, gemm, {
          a: c32(aPacked), pA: c32(Kp * QMR * 2), b: bp.get(), ldb: c32(packed.ldb), pB: c32(packed.pB),
          c: cp.get(), ldc: c32(N * eb), M: c32(rows), N: c32(N), K: c32(K), bias: bias.get(), mult: mult.get(), zp: c32(q.yZp),
        }),
      ];
    });
    ctx.call(fn, [q.a.ptr, bPtr, y.ptr, biasPtr, multPtr, typeof q.aZp === 'number' ? 0 : q.aZp.ptr]);
    return;
  }

  // Run-time B: per batch, pack A's rows and B's K-pairs, then one GEMM.
  const b = q.b;
  const bType = b.op.dtype === 'int8' ? 'i8' : 'u8';
  const packPairs = packPairsKernel(ctx, bType);
  const gemm = qgemmKernel(ctx, { a: 'i16', b: 'i16', ...epi });
  const bPacked = aPacked + packedABytes(M, Kp);
  const pB = (Kp / 2) * QNR * 4;
  const fn = ctx.kernel(`qmatmul_ab:${M}x${K}x${N}:${q.batches}:${q.aBatched}:${b.batched}:${gemm}:${aType}:${bType}:${zpKey(q.aZp)}:${b.zp}:${q.yZp}:${aPacked}`,
    ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      const [ap, bp, cp, bias, mult, zpArg] = k.params;
      const { i32 } = k;
      const c32 = (v: number) => k.c32(v);
      const t = k.local('i32');
      return [k.for(t, 0, q.batches, 1, () => [
        k.call(packRows, [q.aBatched ? i32.add(ap.get(), i32.mul(t.get(), c32(M * K))) : ap.get(), c32(K), c32(aPacked), c32(M), c32(K), zpValue(k, q.aZp, zpArg)]),
        k.call(packPairs, [b.batched ? i32.add(bp.get(), i32.mul(t.get(), c32(K * N))) : bp.get(), c32(N), c32(bPacked), c32(K), c32(N), c32(b.zp)]),
        callQGemm(k, gemm, {
          a: c32(aPacked), pA: c32(Kp * QMR * 2), b: c32(bPacked), ldb: c32(QNR * 4), pB: c32(pB),
          c: i32.add(cp.get(), i32.mul(t.get(), c32(M * N * eb))), ldc: c32(N * eb), M: c32(M), N: c32(N), K: c32(K),
          bias: bias.get(), mult: mult.get(), zp: c32(q.yZp),
        }),
      ])];
    });
  ctx.call(fn, [q.a.ptr, b.op.ptr, y.ptr, biasPtr, multPtr, typeof q.aZp === 'number' ? 0 : q.aZp.ptr]);
}

const zpKey = (zp: number | Operand) => (typeof zp === 'number' ? String(zp) : `@${zp.dtype}`);
/** The activation's zero point inside a kernel: a constant, or loaded from its operand (passed as zpArg). */
function zpValue(k: Kernel, zp: number | Operand, zpArg: Local): Expr {
  if (typeof zp === 'number') return k.c32(zp);
  return zp.dtype === 'int8' ? k.i32.load8_s(0, 1, zpArg.get()) : k.i32.load8_u(0, 1, zpArg.get());
}
