// MatMul's 'gemv-transb' kernel: float32 C = A x B where input 1 holds B transposed ([..., N, K], the `_transB`
// of src/passes/fuse-transpose-matmul.ts), for products of few rows (a decoder's attention scores q x K^T).
// Every output is the dot product of a row of A with a row of input 1, both contiguous: on 'simd', four rows of
// input 1 at a time into four f32x4 accumulators, summed across lanes into one vector of four outputs with four
// shuffles; K's remainder and N's remainder (below 4) go one element at a time. The batch broadcasts as MatMul's;
// a fused bias, residual and activation apply to each vector of outputs as it is stored.

import { broadcastStrides, stridedLoop } from '../codegen/elementwise.js';
import { applyActivation, applyActivationScalar, type FusedAttrs } from '../codegen/gemm.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import { logicalB, matmulShapes, type MatMulShapes } from './matmul.js';
import type { EmitCtx } from './types.js';

export function emitMatMulGemvTransB(ctx: EmitCtx<FusedAttrs>): void {
  const [a, b] = ctx.inputs as NonNullable<(typeof ctx.inputs)[number]>[];
  const s = matmulShapes(a.shape, logicalB(b.shape, true), 4, ctx.fail);
  // the epilogue fused by src/passes/fuse-*.ts: a column bias (a constant of N), a residual shaped like C, an activation
  const bias = ctx.node.attrs._bias === 1 ? ctx.inputs[2] : undefined;
  const res = ctx.attrs.residual >= 0 ? ctx.inputs[ctx.attrs.residual] : undefined;
  const ep: Epilogue = { bias: !!bias, residual: !!res, act: ctx.attrs.act };
  const cStrides = broadcastStrides(s.batch, s.batch, s.M * s.N * 4);
  const key = `matmul_gemv_bt:${s.batch}:${s.aStrides}:${s.bStrides}:${s.M}x${s.K}x${s.N}:${JSON.stringify(ep)}:${ctx.target}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
    const [ap, bp, cp, biasp, rp] = k.params;
    return [stridedLoop(k, s.batch, [s.aStrides, s.bStrides, cStrides, cStrides], [ap, bp, cp, rp], () => product(k, s, ep, { ap, bp, cp, biasp, rp }), false)];
  });
  ctx.call(fn, [a.ptr, b.ptr, ctx.outputs[0].ptr, bias?.ptr ?? 0, res?.ptr ?? 0]);
}

interface Epilogue { bias: boolean; residual: boolean; act: FusedAttrs['act'] }

/** One M x N product at the pointers (left unchanged): C[i][j] = act(sum_k A[i][k] B'[j][k] + bias[j] + R[i][j]). */
function product(k: Kernel, s: MatMulShapes, ep: Epilogue, p: Record<'ap' | 'bp' | 'cp' | 'biasp' | 'rp', Local>): Expr[] {
  const { M, K, N } = s;
  const { ap, bp, cp, biasp, rp } = p;
  const { i32 } = k;
  const c32 = (v: number) => k.c32(v);
  const rowA = k.local('i32'), rowB = k.local('i32'), out = k.local('i32'), kk = k.local('i32');
  // the bias and the residual at output column j sit at the same byte distance from their bases as C's
  const biasAt = k.local('i32'), resAt = k.local('i32');
  /** The epilogue on `n` outputs (4: a vector, 1: an f32) at the current column. */
  const finish = (x: Expr, n: 4 | 1): Expr => {
    const load = (base: Local) => (n === 4 ? k.v128.load(0, 4, base.get()) : k.f32.load(0, 4, base.get()));
    const add = (u: Expr, v: Expr) => (n === 4 ? k.f32x4.add(u, v) : k.f32.add(u, v));
    if (ep.bias) x = add(x, load(biasAt));
    if (ep.residual) x = add(x, load(resAt));
    return n === 4 ? applyActivation(k, ep.act, x) : applyActivationScalar(k, ep.act, x);
  };
  const step = (bytes: number): Expr[] => [out.set(at(out, bytes)), ...(ep.bias ? [biasAt.set(at(biasAt, bytes))] : []), ...(ep.residual ? [resAt.set(at(resAt, bytes))] : [])];
  /** base + a byte count known now; kAt: base + 4 * kk (an Expr is a number too, so the two stay apart). */
  const at = (base: Local, bytes: number) => i32.add(base.get(), c32(bytes));
  const kAt = (base: Local) => i32.add(base.get(), i32.shl(kk.get(), c32(2)));
  const K4 = k.simd ? K - (K % 4) : 0, N4 = k.simd ? N - (N % 4) : 0;

  /** The scalar dot product of A's row with B row q (from k = K4 on), added to `into`. */
  const tailDot = (q: number, into: Local): Expr => (K4 < K
    ? k.for(kk, K4, K, 1, () => into.set(k.f32.add(into.get(), k.f32.mul(
      k.f32.load(0, 4, kAt(rowA)), k.f32.load(q * K * 4, 4, kAt(rowB))))))
    : k.nop());

  const body: Expr[] = [];
  if (N4 > 0) {
    // four rows of B' -> four accumulators -> one vector of four outputs
    const acc = [0, 1, 2, 3].map(() => k.local('v128'));
    const av = k.local('v128'), t0 = k.local('v128'), t1 = k.local('v128'), r = k.local('v128');
    const tails = [0, 1, 2, 3].map(() => k.local('f32'));
    const f = k.f32x4;
    const shuffle = (x: Local, y: Local, l: number[]) => k.i8x16.shuffle(x.get(), y.get(), l.flatMap((v) => [4 * v, 4 * v + 1, 4 * v + 2, 4 * v + 3]));
    const pairSum = (x: Local, y: Local) => f.add(shuffle(x, y, [0, 4, 1, 5]), shuffle(x, y, [2, 6, 3, 7]));
    const dots: Expr[] = [
      ...acc.map((v) => v.set(f.splat(k.cf32(0)))),
      K4 > 0 ? k.for(kk, 0, K4, 4, () => [
        av.set(k.v128.load(0, 4, kAt(rowA))),
        ...acc.map((v, q) => v.set(f.add(v.get(), f.mul(av.get(), k.v128.load(q * K * 4, 4, kAt(rowB)))))),
      ]) : k.nop(),
      // [a0+a2, b0+b2, a1+a3, b1+b3] and the same for c, d; then the four totals
      t0.set(pairSum(acc[0], acc[1])), t1.set(pairSum(acc[2], acc[3])),
      r.set(f.add(shuffle(t0, t1, [0, 1, 4, 5]), shuffle(t0, t1, [2, 3, 6, 7]))),
    ];
    if (K4 < K) {
      dots.push(...tails.map((t, q) => [t.set(k.cf32(0)), tailDot(q, t)]).flat());
      let v: Expr = f.splat(tails[0].get());
      for (let q = 1; q < 4; q++) v = f.replace_lane(v, q, tails[q].get());
      dots.push(r.set(f.add(r.get(), v)));
    }
    dots.push(k.v128.store(0, 4, out.get(), finish(r.get(), 4)), rowB.set(at(rowB, 4 * K * 4)), ...step(16));
    body.push(k.loop(0, N4 / 4, () => dots));
  }
  if (N4 < N) {
    // one row of B' at a time
    const acc = k.local('f32');
    const one: Expr[] = [acc.set(k.cf32(0))];
    if (K4 > 0) {
      const v = k.local('v128');
      one.push(
        v.set(k.f32x4.splat(k.cf32(0))),
        k.for(kk, 0, K4, 4, () => v.set(k.f32x4.add(v.get(), k.f32x4.mul(
          k.v128.load(0, 4, kAt(rowA)), k.v128.load(0, 4, kAt(rowB)))))),
        acc.set(k.f32.add(k.f32.add(k.f32x4.extract_lane(v.get(), 0), k.f32x4.extract_lane(v.get(), 1)),
          k.f32.add(k.f32x4.extract_lane(v.get(), 2), k.f32x4.extract_lane(v.get(), 3)))),
      );
    }
    one.push(tailDot(0, acc), k.f32.store(0, 4, out.get(), finish(acc.get(), 1)), rowB.set(at(rowB, K * 4)), ...step(4));
    body.push(k.loop(N4, N, () => one));
  }
  return [
    rowA.set(ap.get()), out.set(cp.get()), resAt.set(rp.get()),
    k.loop(0, M, () => [rowB.set(bp.get()), biasAt.set(biasp.get()), ...body, rowA.set(at(rowA, K * 4))]),
  ];
}
