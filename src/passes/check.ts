// Rejects, before any work, what a static compiler cannot take: foreign domains and unknown operators (sequence
// and optional operators among them), in the graph and its sub-graphs. Every offending node is listed in one
// error so the user sees the whole picture at once.

import { CompileError, type NodeRef } from '../errors.js';
import { isGraphAttr, type Graph, type Node } from '../ir/graph.js';
import { knownOp, lookupOp } from '../../ops/index.js';

const SEQUENCE_OPS = /^(Sequence|ConcatFromSequence|SplitToSequence|Optional)/;

export function checkSupported(graph: Graph): void {
  // Sub-graphs (If branches, Loop and Scan bodies) are checked with the graph: every offending node at once.
  // Foreign-domain ops with a definition (com.microsoft QLinear*) are compiled; the rest are listed.
  const nodes = allNodes(graph);
  const foreign = nodes.filter((n) => n.domain !== '' && !lookupOp(n.opType, n.domain, graph.opset));
  if (foreign.length) {
    const list = foreign.map((n) => `"${n.name}" (${n.domain}::${n.opType})`).join(', ');
    throw new CompileError('UNSUPPORTED_DOMAIN', `unsupported operators outside the default ONNX domain: ${list}`,
      { node: foreign[0].name, op: foreign[0].opType, nodes: foreign.map((n) => ({ name: n.name, opType: `${n.domain}::${n.opType}` })) });
  }
  const missing: NodeRef[] = [];
  for (const n of nodes) {
    if (!lookupOp(n.opType, n.domain, graph.opset)) missing.push({ name: n.name, opType: n.opType, opset: graph.opset });
  }
  if (missing.length) {
    const byOp = new Map<string, string[]>();
    for (const m of missing) (byOp.get(m.opType) ?? byOp.set(m.opType, []).get(m.opType)!).push(m.name);
    const parts = [...byOp].map(([op, names]) => {
      const why = knownOp(op, '') ? `not at opset ${graph.opset}` : `opset ${graph.opset}`;
      const shown = names.slice(0, 5).map((s) => `"${s}"`).join(', ') + (names.length > 5 ? `, +${names.length - 5} more` : '');
      return `${op} (${why}; nodes ${shown})`;
    });
    // Sequences and optionals have no static layout: say so rather than only listing their operators.
    const hint = missing.some((m) => SEQUENCE_OPS.test(m.opType)) ? '; sequences and optionals are not supported (tensors of static shape only): export the model without them' : '';
    throw new CompileError('UNSUPPORTED_OP', `${missing.length} node(s) use unsupported operators: ${parts.join('; ')}${hint}`,
      { node: missing[0].name, op: missing[0].opType, nodes: missing });
  }
}

/** The graph's nodes and its sub-graphs' nodes, the latter named by their path (`loop/body/add`). */
function allNodes(graph: Graph, path = ''): Node[] {
  return graph.nodes.flatMap((n) => [
    path ? { ...n, name: path + n.name } : n,
    ...Object.entries(n.attrs).flatMap(([k, a]) => (isGraphAttr(a) ? allNodes(a.graph, `${path}${n.name}/${k}/`) : [])),
  ]);
}
