// Folds a constant scale (Div(q, c) or Mul(q, c), c one float32 value) into the weights of the MatMul that
// computes q, through layout-only nodes (Reshape, Transpose) and a Slice of the last axis (attention's
// Q = QKV[..., 0:d] / sqrt(d_head)); a scale of the scores MatMul(q, k^T) (k computed at run time, as GPT-2's
// export divides them) is a scale of q. The scaled columns of B (and of a fused bias) are multiplied at compile
// time and the Div disappears. The MatMul's other readers must be Slices of disjoint column ranges, so that no
// one else sees the scaled columns; every node on the way must be the only reader of its input.
// The result differs from the unfused graph by float rounding only (exactly none when c is a power of two).

import { makeTensor, tensorNumbers, type Graph, type Node } from '../ir/graph.js';
import { constScalar, consumers, freshName, isOp, producers, soleConsumer } from './fusion-utils.js';

/** The column range [start, end) a Slice reads from the last axis of an N-column input, or undefined. */
function lastAxisRange(graph: Graph, s: Node, rank: number, N: number): [number, number] | undefined {
  if (graph.opset < 10) return undefined;
  const c = (i: number) => (s.inputs[i] ? graph.values.get(s.inputs[i])?.const : undefined);
  const [starts, ends, axes, steps] = [c(1), c(2), c(3), c(4)];
  if (!starts || !ends || (s.inputs[3] && !axes) || (s.inputs[4] && !steps)) return undefined;
  const axisList = axes ? tensorNumbers(axes) : [0];
  if (axisList.length !== 1 || (axisList[0] + rank) % rank !== rank - 1) return undefined;
  if (steps && tensorNumbers(steps)[0] !== 1) return undefined;
  const clamp = (v: number) => Math.min(Math.max(v < 0 ? v + N : v, 0), N);
  const start = clamp(tensorNumbers(starts)[0]), end = clamp(tensorNumbers(ends)[0]);
  return start < end ? [start, end] : undefined;
}

/** The scaled operand and the factor of a Div/Mul by a one-value float32 constant keeping the shape. */
function scaling(graph: Graph, n: Node): { input: string; scale: (w: number) => number } | undefined {
  if (n.inputs.length !== 2 || !(isOp(n, 'Div') || isOp(n, 'Mul'))) return undefined;
  const [a, b] = n.inputs;
  const cb = constScalar(graph, b), ca = n.opType === 'Mul' ? constScalar(graph, a) : undefined;
  const input = cb !== undefined ? a : ca !== undefined ? b : undefined;
  const c = cb ?? ca;
  const iv = input === undefined ? undefined : graph.values.get(input);
  const ov = graph.values.get(n.outputs[0]);
  if (c === undefined || !iv || !ov || iv.dtype !== 'float32' || graph.values.get(input === a ? b : a)?.dtype !== 'float32' || iv.shape.join() !== ov.shape.join()) return undefined;
  return { input: input!, scale: n.opType === 'Div' ? (w) => Math.fround(w / c) : (w) => Math.fround(w * c) };
}

export function foldAttentionScale(graph: Graph): void {
  const uses = consumers(graph);
  const made = producers(graph);
  for (const div of [...graph.nodes]) {
    const s = scaling(graph, div);
    if (!s || graph.outputs.includes(div.outputs[0])) continue;
    // walk up through layout nodes to an optional Slice and the MatMul
    let reader = div, value = s.input, slice: Node | undefined;
    let p = made.get(value);
    // scaled scores (MatMul(q, k^T) / c, as GPT-2's export writes them) are the scores of q / c: go on from q
    if (p && isOp(p, 'MatMul') && !graph.values.get(p.inputs[1])?.const && !Object.keys(p.attrs).some((a) => a.startsWith('_'))
      && soleConsumer(graph, uses, value) === div) {
      reader = p; value = p.inputs[0]; p = made.get(value);
    }
    while (p && soleConsumer(graph, uses, value) === reader && (isOp(p, 'Reshape') || isOp(p, 'Transpose'))) {
      reader = p; value = p.inputs[0]; p = made.get(value);
    }
    if (p && isOp(p, 'Slice') && soleConsumer(graph, uses, value) === reader) {
      slice = p; reader = p; value = p.inputs[0]; p = made.get(value);
    }
    const mm = p;
    if (!mm || !isOp(mm, 'MatMul') || mm.attrs._act !== undefined || mm.attrs._residual !== undefined) continue;
    const w = graph.values.get(mm.inputs[1])?.const;
    const out = graph.values.get(value);
    if (!w || w.dtype !== 'float32' || w.shape.length !== 2 || !out || out.shape.length < 2) continue;
    const N = w.shape[1];
    let range: [number, number] = [0, N];
    if (slice) {
      const rank = out.shape.length;
      const r = lastAxisRange(graph, slice, rank, N);
      // every other reader of the MatMul result must slice columns outside the scaled ones
      const others = (uses.get(value) ?? []).filter((n) => n !== slice);
      if (!r || graph.outputs.includes(value) || !others.every((o) => {
        const q = isOp(o, 'Slice') && o.inputs[0] === value ? lastAxisRange(graph, o, rank, N) : undefined;
        return q && (q[1] <= r[0] || r[1] <= q[0]);
      })) continue;
      range = r;
    } else if (soleConsumer(graph, uses, value) !== reader) continue;
    const bias = mm.attrs._bias === 1 ? graph.values.get(mm.inputs[2])?.const : undefined;
    if (mm.attrs._bias === 1 && (!bias || bias.dtype !== 'float32')) continue;
    // new constants: the weights may be shared with other nodes
    const scaleCols = (data: Float32Array, rows: number, name: string): string => {
      const scaled = Float32Array.from(data);
      for (let r = 0; r < rows; r++) for (let j = range[0]; j < range[1]; j++) scaled[r * N + j] = s.scale(scaled[r * N + j]);
      const fresh = freshName(graph, `${name}_scaled`);
      const shape = rows === 1 && data.length === N ? [N] : [rows, N];
      graph.values.set(fresh, { name: fresh, dtype: 'float32', shape, const: makeTensor('float32', shape, scaled) });
      return fresh;
    };
    mm.inputs = [...mm.inputs];
    mm.inputs[1] = scaleCols(w.data as Float32Array, w.shape[0], mm.inputs[1]);
    if (bias) mm.inputs[2] = scaleCols(bias.data as Float32Array, 1, mm.inputs[2]);
    mm.origin ??= mm.name;
    // readers of the Div's result read its input instead
    for (const n of uses.get(div.outputs[0]) ?? []) n.inputs = n.inputs.map((i) => (i === div.outputs[0] ? s.input : i));
    uses.set(s.input, uses.get(div.outputs[0]) ?? []);
    graph.nodes = graph.nodes.filter((n) => n !== div);
  }
}
