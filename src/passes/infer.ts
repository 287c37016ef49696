// Shape/dtype inference and constant folding, node by node in topological order. A node whose inputs are all
// known is evaluated now (by its cheap JS evaluator, or else by compiling and running its own kernel), so shape
// sub-graphs (Shape -> Gather -> Concat -> Reshape, ConstantOfShape, Range...) disappear before codegen.

import { CompileError, nodeLabel } from '../errors.js';
import { checkedElements } from '../ir/limits.js';
import { type Graph, type Node, type Tensor } from '../ir/graph.js';
import { lookupOp } from '../../ops/index.js';
import type { OpDef, TensorInfo } from '../../ops/types.js';
import { inputInfos, makeInferCtx, parseAttrs } from './context.js';
import { evaluateWithKernel } from './fold.js';
import { isControlFlow, resolveControlFlow, sortNodes } from './control-flow.js';
import { boundedRows } from './bounded.js';

/** Folded tensors larger than this stay as computed nodes (a folded Expand could otherwise bloat the module). */
const MAX_FOLD_ELEMENTS = 1 << 22;

export interface InferOptions {
  /**
   * Keep DequantizeLinear nodes of constants (quantized weights) as nodes, so that src/passes/lower-qdq.ts sees the
   * int8 weights; a second inferAndFold folds those it did not take.
   */
  keepDequantizedConstants?: boolean;
}

export function inferAndFold(graph: Graph, options: InferOptions = {}): void {
  const queue = topoSort(graph);
  graph.nodes = queue;
  const kept: Node[] = [];
  for (let i = 0; i < queue.length; i++) {
    const node = queue[i];
    if (isControlFlow(node)) {
      // Inlined or unrolled: the replacement nodes are inferred next; otherwise the node stays as control flow.
      const expanded = resolveControlFlow(graph, node);
      if (expanded) queue.splice(i + 1, 0, ...sortNodes(expanded, new Set()));
      else kept.push(node);
      continue;
    }
    const def = lookupOp(node.opType, node.domain, graph.opset)!;
    try {
      const keep = options.keepDequantizedConstants && node.opType === 'DequantizeLinear' && node.domain === '';
      if (!foldNode(graph, node, def, keep)) kept.push(node);
    } catch (e) {
      if (e instanceof CompileError) throw e;
      throw new CompileError('INTERNAL', `${nodeLabel(node, graph.opset)}: ${(e as Error).message}`, { node: node.name, op: node.opType });
    }
  }
  graph.nodes = kept;
}

/** Infers one node's outputs; returns true when the node was folded into constants. */
function foldNode(graph: Graph, node: Node, def: OpDef, noFold = false): boolean {
  const attrs = parseAttrs(def, node, graph.opset);
  const inputs = inputInfos(graph, node);
  const ctx = makeInferCtx(graph, node, def, attrs, inputs);
  const infos: TensorInfo[] = def.infer(ctx);
  const rows = boundedRows(graph, node, def, inputs, infos);
  if (infos.length < node.outputs.filter(Boolean).length) ctx.fail(`produces ${infos.length} outputs, the node names ${node.outputs.length}`);
  node.outputs.forEach((name, i) => {
    if (!name) return;
    const info = infos[i];
    // Before anything of that size is planned or evaluated: a huge shape is the model's error, not ours.
    checkedElements(info.dtype, info.shape, { what: `${nodeLabel(node, graph.opset)} output "${name}"`, node: node.name, op: node.opType });
    const bounded = info.dynamic !== undefined ? { axis: info.dynamic, root: name, zeroTail: !!info.zeroTail } : rows?.[i];
    graph.values.set(name, { name, dtype: info.dtype, shape: [...info.shape], bounded });
  });
  const present = inputs.filter((i) => i !== undefined);
  const allConst = present.every((i) => i!.const);
  const small = infos.every((o) => o.shape.reduce((a, b) => a * b, 1) <= MAX_FOLD_ELEMENTS);
  // Graph outputs that are constants are fine to fold too: codegen writes them as data.
  if (!(allConst || def.shapeOnly) || def.noFold || noFold || !small) return false;
  const results: Tensor[] = def.evaluate?.(ctx) ?? evaluateWithKernel(graph.opset, node, inputs.map((i) => i?.const), infos);
  node.outputs.forEach((name, i) => {
    if (!name) return;
    const v = graph.values.get(name)!;
    v.const = results[i];
    v.shape = [...results[i].shape];
    v.dtype = results[i].dtype;
    v.bounded = undefined; // folded: the actual shape is known
  });
  return true;
}

function topoSort(graph: Graph): Node[] {
  const ready = new Set<string>([...graph.inputs]);
  for (const [name, v] of graph.values) if (v.const) ready.add(name);
  const out: Node[] = [];
  let pending = graph.nodes;
  while (pending.length) {
    const next: Node[] = [];
    for (const n of pending) {
      if (n.inputs.every((i) => !i || ready.has(i))) {
        out.push(n);
        for (const o of n.outputs) if (o) ready.add(o);
      } else next.push(n);
    }
    if (next.length === pending.length) {
      const n = next[0];
      const missing = n.inputs.find((i) => i && !ready.has(i));
      throw new CompileError('INVALID_MODEL', `${nodeLabel(n, graph.opset)}: input "${missing}" is not produced by any node, initializer or graph input (or the graph has a cycle)`, { node: n.name, op: n.opType });
    }
    pending = next;
  }
  return out;
}

/** Removes nodes whose outputs nobody uses, and constants nobody reads. */
export function eliminateDeadCode(graph: Graph): void {
  const needed = new Set(graph.outputs);
  const kept: Node[] = [];
  for (let i = graph.nodes.length - 1; i >= 0; i--) {
    const n = graph.nodes[i];
    if (n.outputs.some((o) => o && needed.has(o))) {
      kept.push(n);
      for (const inp of n.inputs) if (inp) needed.add(inp);
      // A kept node writes all its named outputs, read or not: they keep their values (and buffers).
      for (const out of n.outputs) if (out) needed.add(out);
    }
  }
  graph.nodes = kept.reverse();
  for (const name of [...graph.values.keys()]) if (!needed.has(name) && !graph.inputs.includes(name)) graph.values.delete(name);
}
