// Folding by execution: a node with only constant inputs and no cheap JS evaluator is compiled on its own
// (its own kernel, scalar target) and run once, so every operator can be folded with one implementation.

import { makeTensor, type Graph, type Node, type Tensor, type Value } from '../ir/graph.js';
import type { TensorInfo } from '../../ops/types.js';
import { buildModule } from '../../codegen/module.js';
import { loadSync } from '../../runtime-min/index.js';

export function evaluateWithKernel(opset: number, node: Node, inputs: (Tensor | undefined)[], outs: TensorInfo[]): Tensor[] {
  const values = new Map<string, Value>();
  node.inputs.forEach((name, i) => {
    const t = inputs[i];
    if (name && t) values.set(name, { name, dtype: t.dtype, shape: [...t.shape], const: t });
  });
  const outputs = node.outputs.filter(Boolean);
  node.outputs.forEach((name, i) => {
    if (name) values.set(name, { name, dtype: outs[i].dtype, shape: [...outs[i].shape], bounded: outs[i].dynamic !== undefined ? { axis: outs[i].dynamic!, root: name, zeroTail: false } : undefined });
  });
  const graph: Graph = { opset, imports: {}, inputs: [], outputs, nodes: [node], values, name: 'fold' };
  const { wasm } = buildModule(graph, { target: 'scalar', optimize: false });
  const result = loadSync(wasm, { warmup: false }).run({});
  // A data-dependent output comes back with its actual shape.
  return node.outputs.map((name, i) => (name ? makeTensor(outs[i].dtype, result[name].shape, result[name].data as never) : makeTensor(outs[i].dtype, outs[i].shape)));
}
