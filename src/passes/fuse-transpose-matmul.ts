// Fuses `MatMul(A, Transpose(B))`, where the Transpose swaps the last two axes, into a MatMul that reads B
// transposed (`_transB`), when each product has at most GEMV_MAX_ROWS rows: a decoder's attention scores
// q x K^T over its KV cache. The GEMV-sized product then reads every row of B as one dot product
// (ops/matmul-transb.ts) instead of the graph copying the whole cache into its transpose first.
// Larger products keep the Transpose: the GEMM reads B in panels along N, which a transposed B does not have.
// It runs after the epilogue fusions: the kernel applies the bias, residual and activation they attached.

import { GEMV_MAX_ROWS } from '../../codegen/gemv.js';
import type { Graph, Node } from '../ir/graph.js';
import { consumers, isOp, producers, soleConsumer } from './fusion-utils.js';

/** The MatMul attribute: input 1 holds B with its last two axes swapped ([..., N, K]). */
export const TRANS_B = '_transB';

/** Whether perm (or Transpose's default, the reversal) swaps exactly the last two of `rank` axes. */
function swapsLastTwo(perm: number[] | undefined, rank: number): boolean {
  const p = perm ?? Array.from({ length: rank }, (_, i) => rank - 1 - i);
  return rank >= 2 && p.length === rank && p.every((v, i) => v === (i === rank - 2 ? rank - 1 : i === rank - 1 ? rank - 2 : i));
}

export function fuseTransposeMatMul(graph: Graph): void {
  const uses = consumers(graph), from = producers(graph);
  const removed = new Set<Node>();
  for (const mm of graph.nodes) {
    if (!isOp(mm, 'MatMul') || mm.attrs[TRANS_B] !== undefined) continue;
    const t = from.get(mm.inputs[1]);
    if (!isOp(t, 'Transpose') || removed.has(t) || mm.inputs[0] === mm.inputs[1]) continue;
    const a = graph.values.get(mm.inputs[0]), b = graph.values.get(t.inputs[0]);
    if (!a || !b || b.const || a.dtype !== 'float32' || b.dtype !== 'float32' || soleConsumer(graph, uses, mm.inputs[1]) !== mm) continue;
    const bShape = b.shape as number[];
    if (!swapsLastTwo(t.attrs.perm as number[] | undefined, bShape.length)) continue;
    const rows = a.shape.length === 1 ? 1 : (a.shape[a.shape.length - 2] as number);
    if (rows > GEMV_MAX_ROWS) continue;
    mm.inputs = [mm.inputs[0], t.inputs[0], ...mm.inputs.slice(2)];
    mm.attrs[TRANS_B] = 1;
    mm.origin ??= mm.name;
    removed.add(t);
  }
  if (removed.size) graph.nodes = graph.nodes.filter((n) => !removed.has(n));
}
