// MatMul(A, Transpose(B)) with the Transpose swapping B's last two axes: with at most 4 rows per product the
// Transpose fuses into the MatMul (src/passes/fuse-transpose-matmul.ts) and ops/matmul-transb.ts reads B
// transposed. Random shapes (K and N on either side of the vector width, batches that broadcast, 1-D A, an
// explicit and the default perm) against onnxruntime-node on both targets; cases the pass must leave alone.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import { checkBothTargets } from '../helpers/both-targets.js';
import { randomTensor, rng, type Feeds } from '../helpers/oracle.js';

const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: () => number, xs: T[]) => xs[Math.floor(r() * xs.length)];

/** y = MatMul(a, Transpose(bt)) (+ an Add of `extra` after it when asked), bt a graph input. */
function spec(aShape: number[], btShape: number[], perm: number[] | undefined, extra?: number[]): ModelSpec {
  return {
    opset: 13,
    inputs: [{ name: 'a', dtype: 'float32', shape: aShape }, { name: 'bt', dtype: 'float32', shape: btShape }, ...(extra ? [{ name: 'e', dtype: 'float32' as const, shape: extra }] : [])],
    outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Transpose', inputs: ['bt'], outputs: ['b'], attrs: perm ? { perm } : {} },
      { op: 'MatMul', inputs: ['a', 'b'], outputs: [extra ? 'm' : 'y'] },
      ...(extra ? [{ op: 'Add', inputs: ['m', 'e'], outputs: ['y'] }] : []),
    ],
  };
}

const transposes = async (s: ModelSpec) => (await compile(encodeModel(s), { target: 'simd' })).report.ops.Transpose ?? 0;

describe('MatMul with a transposed B (gemv-transb)', () => {
  for (let seed = 1; seed <= 14; seed++) {
    const r = rng(seed * 7919);
    const K = pick(r, [1, 3, 4, int(r, 5, 40), 64, int(r, 65, 200)]), N = pick(r, [1, 2, 4, int(r, 5, 40), 65]);
    const M = int(r, 1, 4);
    const kind = pick(r, ['2d', 'batched', 'broadcast', 'vector'] as const);
    let aShape: number[], btShape: number[];
    if (kind === '2d') { aShape = [M, K]; btShape = [N, K]; }
    else if (kind === 'batched') { const H = int(r, 1, 6); aShape = [1, H, M, K]; btShape = [1, H, N, K]; }
    else if (kind === 'broadcast') { aShape = [2, 1, M, K]; btShape = [3, N, K]; }
    else { aShape = [K]; btShape = pick(r, [[N, K], [2, N, K]]); }
    const rank = btShape.length;
    // rank 2: the default perm (the reversal) is the swap; otherwise spelled out
    const perm = rank === 2 && r() < 0.5 ? undefined : [...Array.from({ length: rank - 2 }, (_, i) => i), rank - 1, rank - 2];
    it(`[${aShape}] x Transpose([${btShape}], perm ${perm ? `[${perm}]` : 'default'})`, async () => {
      const feeds: Feeds = { a: randomTensor('float32', aShape, r, -2, 2), bt: randomTensor('float32', btShape, r, -2, 2) };
      const s = spec(aShape, btShape, perm);
      expect(await transposes(s)).toBe(0);
      await checkBothTargets(s, feeds);
    });
  }

  it('with a fused residual Add (an attention mask)', async () => {
    const r = rng(5);
    const s = spec([1, 6, 1, 64], [1, 6, 65, 64], [0, 1, 3, 2], [1, 6, 1, 65]);
    expect(await transposes(s)).toBe(0);
    await checkBothTargets(s, { a: randomTensor('float32', [1, 6, 1, 64], r), bt: randomTensor('float32', [1, 6, 65, 64], r), e: randomTensor('float32', [1, 6, 1, 65], r) });
  });

  for (const [M, K, N] of [[1, 37, 10], [3, 8, 7]]) {
    it(`with a fused bias and Relu, ${M}x${K}x${N}`, async () => {
      const r = rng(M * K * N);
      const s = spec([M, K], [N, K], [1, 0]);
      s.nodes[1].outputs = ['m'];
      s.nodes.push({ op: 'Add', inputs: ['m', 'bias'], outputs: ['mb'] }, { op: 'Relu', inputs: ['mb'], outputs: ['y'] });
      s.initializers = { bias: randomTensor('float32', [N], r) };
      expect(await transposes(s)).toBe(0);
      await checkBothTargets(s, { a: randomTensor('float32', [M, K], r), bt: randomTensor('float32', [N, K], r) });
    });
  }

  it('leaves the Transpose when a product has more than 4 rows, or the perm is not the last two axes\' swap', async () => {
    expect(await transposes(spec([5, 8], [6, 8], [1, 0]))).toBe(1);
    expect(await transposes(spec([2, 1, 8], [6, 2, 8], [1, 2, 0]))).toBe(1);
  });
});
