// Rejects, before any work, what a static compiler cannot take: control flow, foreign domains and unknown
// operators. Every offending node is listed in one error so the user sees the whole picture at once.

import { CompileError, type NodeRef } from '../errors.js';
import type { Graph } from '../ir/graph.js';
import { knownOp, lookupOp } from '../../ops/index.js';

const CONTROL_FLOW = new Set(['If', 'Loop', 'Scan', 'SequenceMap']);

export function checkSupported(graph: Graph): void {
  const flow = graph.nodes.filter((n) => CONTROL_FLOW.has(n.opType) && n.domain === '');
  if (flow.length) {
    const list = flow.map((n) => `"${n.name}" (${n.opType})`).join(', ');
    throw new CompileError('CONTROL_FLOW', `control-flow operators are not supported (static graphs only): ${list}; ` +
      'export the model with the branch or loop unrolled', { node: flow[0].name, op: flow[0].opType, nodes: flow.map((n) => ({ name: n.name, opType: n.opType })) });
  }
  // Foreign-domain ops with a definition (com.microsoft QLinear*) are compiled; the rest are listed.
  const foreign = graph.nodes.filter((n) => n.domain !== '' && !lookupOp(n.opType, n.domain, graph.opset));
  if (foreign.length) {
    const list = foreign.map((n) => `"${n.name}" (${n.domain}::${n.opType})`).join(', ');
    throw new CompileError('UNSUPPORTED_DOMAIN', `unsupported operators outside the default ONNX domain: ${list}`,
      { node: foreign[0].name, op: foreign[0].opType, nodes: foreign.map((n) => ({ name: n.name, opType: `${n.domain}::${n.opType}` })) });
  }
  const missing: NodeRef[] = [];
  for (const n of graph.nodes) {
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
    throw new CompileError('UNSUPPORTED_OP', `${missing.length} node(s) use unsupported operators: ${parts.join('; ')}`,
      { node: missing[0].name, op: missing[0].opType, nodes: missing });
  }
}
