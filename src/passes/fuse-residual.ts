// Fuses `Add(conv_out, other)` into the Conv's (or ConvTranspose's, MatMul's) epilogue (y = conv + other, after a fused bias and
// before any fused activation) when the result has no other reader, and `other` is float32 with exactly the
// output's shape (no broadcasting). The fused node moves to the Add's position, where `other` is known to be
// computed already. Runs after fuse-bias, so that MatMul -> Add(bias) -> Add(residual) takes both.

import type { Graph, Node } from '../ir/graph.js';
import { FUSED } from '../../codegen/gemm.js';
import { consumers, hasEpilogue, soleConsumer } from './fusion-utils.js';

export function fuseResidual(graph: Graph): void {
  const uses = consumers(graph);
  const replaced = new Map<Node, Node>(); // Add node -> the Conv taking its place
  for (const conv of graph.nodes) {
    if (!['Conv', 'ConvTranspose', 'MatMul'].includes(conv.opType) || !hasEpilogue(graph, conv) || conv.attrs[FUSED.act] !== undefined || conv.attrs[FUSED.residual] !== undefined) continue;
    const add = soleConsumer(graph, uses, conv.outputs[0]);
    if (!add || add.opType !== 'Add' || add.domain !== '' || add.inputs.length !== 2 || replaced.has(add)) continue;
    const other = add.inputs[0] === conv.outputs[0] ? add.inputs[1] : add.inputs[0];
    const ov = graph.values.get(other), cv = graph.values.get(conv.outputs[0]), av = graph.values.get(add.outputs[0]);
    if (!ov || !cv || !av || ov.dtype !== 'float32' || ov.shape.join() !== cv.shape.join() || av.shape.join() !== cv.shape.join()) continue;
    conv.inputs = [conv.inputs[0], conv.inputs[1], conv.inputs[2] ?? '', other];
    conv.attrs[FUSED.residual] = 3;
    conv.outputs = [add.outputs[0]];
    conv.origin ??= conv.name;
    replaced.set(add, conv);
  }
  if (!replaced.size) return;
  const moved = new Set(replaced.values());
  graph.nodes = graph.nodes.filter((n) => !moved.has(n)).map((n) => replaced.get(n) ?? n);
}
