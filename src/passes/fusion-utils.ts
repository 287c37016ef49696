// Small graph queries shared by the fusion passes.

import { consumers, type Graph, type Node } from '../ir/graph.js';

/** The one node reading `value`, when exactly one node reads it and it is not a graph output. */
export function soleConsumer(graph: Graph, uses: Map<string, Node[]>, value: string): Node | undefined {
  if (graph.outputs.includes(value)) return undefined;
  const readers = uses.get(value);
  if (!readers || readers.length !== 1) return undefined;
  // A node reading the value twice (Add(x, x)) is not a fusion candidate either.
  return readers[0].inputs.filter((i) => i === value).length === 1 ? readers[0] : undefined;
}

export { consumers };

/** float32 Conv/ConvTranspose/Gemm/MatMul whose kernel has an epilogue to fuse into (Conv: the packed-weight paths). */
export function hasEpilogue(graph: Graph, n: Node): boolean {
  if (n.domain !== '' || !['Conv', 'ConvTranspose', 'Gemm', 'MatMul'].includes(n.opType)) return false;
  const out = graph.values.get(n.outputs[0]);
  if (!out || out.dtype !== 'float32' || n.outputs.length !== 1) return false;
  if (n.opType === 'Conv' || n.opType === 'ConvTranspose') {
    const w = graph.values.get(n.inputs[1]);
    const b = n.inputs[2] ? graph.values.get(n.inputs[2]) : undefined;
    return !!w?.const && (!n.inputs[2] || !!b?.const);
  }
  return true;
}

/** Name for a new value derived from `base` that is not yet used in the graph. */
export function freshName(graph: Graph, base: string): string {
  let name = base;
  for (let i = 1; graph.values.has(name); i++) name = `${base}_${i}`;
  return name;
}

/** The value of a one-element constant (any shape with one element), or undefined. */
export function constScalar(graph: Graph, value: string): number | undefined {
  const c = graph.values.get(value)?.const;
  return c && c.data.length === 1 ? Number(c.data[0]) : undefined;
}

/** The node writing each value. */
export function producers(graph: Graph): Map<string, Node> {
  const m = new Map<string, Node>();
  for (const n of graph.nodes) for (const o of n.outputs) if (o) m.set(o, n);
  return m;
}

/** The operand of a two-input node that is not `value` (undefined unless `value` is exactly one of the two). */
export function otherInput(n: Node, value: string): string | undefined {
  if (n.inputs.length !== 2) return undefined;
  if (n.inputs[0] === value && n.inputs[1] !== value) return n.inputs[1];
  if (n.inputs[1] === value && n.inputs[0] !== value) return n.inputs[0];
  return undefined;
}

/** Whether n is a default-domain node of this op type. */
export const isOp = (n: Node | undefined, op: string): n is Node => !!n && n.opType === op && n.domain === '';

/** Removes `dead` nodes and puts `fused` where `anchor` was. */
export function replaceNodes(graph: Graph, dead: Set<Node>, anchor: Node, fused: Node): void {
  graph.nodes = graph.nodes.flatMap((n) => (n === anchor ? [fused] : dead.has(n) ? [] : [n]));
}
