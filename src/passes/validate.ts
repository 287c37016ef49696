// Structural checks on the decoded graph, before any pass relies on them: a known opset, each value assigned
// once (by one node, never over a graph input or initializer), every graph output produced by something, and
// each node's input and output counts as the specification gives them for its operator version.
// Without them an invalid graph compiles into a wrong module (the last writer wins, an output stays zero).

import { CompileError, nodeLabel } from '../errors.js';
import type { Graph, Node } from '../ir/graph.js';
import { ARITY } from './arity.js';

/** The newest default-domain opset of the ONNX specification this compiler implements (../shared/onnx-spec). */
export const MAX_OPSET = 28;

/**
 * Inputs counted by the spec's minimum that may still be omitted (''): Loop's M and cond, and opset-8 Scan's
 * sequence_lens, come before the variadic values, so "at least 2 inputs" means positions that may be empty.
 */
const OPTIONAL_WITHIN_MIN: Record<string, number[]> = { Loop: [0, 1], Scan: [0] };

export function validateGraph(graph: Graph): void {
  if (!Number.isSafeInteger(graph.opset) || graph.opset < 1 || graph.opset > MAX_OPSET) {
    throw new CompileError('INVALID_MODEL', `the model imports default-domain opset ${graph.opset}; ONNX opsets this compiler knows are 1 to ${MAX_OPSET}`);
  }
  const defined = new Map<string, string>(); // value name -> what defines it
  for (const [name, v] of graph.values) if (v.const) defined.set(name, 'an initializer');
  for (const name of graph.inputs) defined.set(name, 'a graph input');
  for (const node of graph.nodes) {
    checkArity(node, graph.opset);
    for (const out of node.outputs) {
      if (!out) continue;
      const earlier = defined.get(out);
      if (earlier) {
        throw new CompileError('INVALID_MODEL', `${nodeLabel(node, graph.opset)}: output "${out}" is already defined by ${earlier}; ` +
          'every value must be assigned once', { node: node.name, op: node.opType });
      }
      defined.set(out, `node "${node.name}"`);
    }
  }
  const seen = new Set<string>();
  for (const name of graph.outputs) {
    if (!name) throw new CompileError('INVALID_MODEL', 'the graph has an output without a name');
    if (seen.has(name)) throw new CompileError('INVALID_MODEL', `the graph lists output "${name}" twice`);
    seen.add(name);
    if (!defined.has(name)) {
      throw new CompileError('INVALID_MODEL', `graph output "${name}" is not produced by any node, initializer or graph input`);
    }
  }
}

/** Required inputs and outputs present (not omitted with ""), and no more than the operator version takes. */
function checkArity(node: Node, opset: number): void {
  if (node.domain !== '') return;
  const version = ARITY[node.opType]?.filter(([since]) => since <= opset).pop();
  if (!version) return; // not a default-domain operator at this opset: reported as unsupported
  const [since, minIn, maxIn, minOut, maxOut] = version;
  const check = (names: string[], min: number, max: number, what: string) => {
    const given = names.length - [...names].reverse().findIndex((n) => n !== '');
    const count = given > names.length ? 0 : given; // trailing "" are omitted optional ones
    const optional = what === 'inputs' ? OPTIONAL_WITHIN_MIN[node.opType] ?? [] : [];
    const missing = names.slice(0, min).findIndex((n, i) => !n && !optional.includes(i));
    if (count < min || missing >= 0) {
      throw new CompileError('INVALID_MODEL', `${nodeLabel(node, opset)}: ${node.opType}-${since} needs ${min === max ? min : `at least ${min}`} ${what}, ` +
        `the node has ${missing >= 0 ? `none at position ${missing}` : count}`, { node: node.name, op: node.opType });
    }
    if (max >= 0 && count > max) {
      throw new CompileError('INVALID_MODEL', `${nodeLabel(node, opset)}: ${node.opType}-${since} takes at most ${max} ${what}, the node has ${count}`, { node: node.name, op: node.opType });
    }
  };
  // Outer-scope values a node's sub-graphs read are appended to its inputs by the decoder: not ONNX inputs.
  check(node.captured ? node.inputs.slice(0, node.inputs.length - node.captured) : node.inputs, minIn, maxIn, 'inputs');
  check(node.outputs, minOut, maxOut, 'outputs');
}
