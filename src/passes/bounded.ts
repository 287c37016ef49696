// Which nodes may read a data-dependent value (NonZero, Compress, Unique, NonMaxSuppression outputs: buffers
// planned at an upper bound, the actual extent known at run time). Such a value with its run-time axis first is
// a valid prefix of rows; a node that computes each output row from the same input row can run over the whole
// bound and its output has the same count (codegen copies the count after the node runs):
//   - elementwise ops (OpDef.elementwise) whose static operands do not extend along that axis;
//   - Gather along another axis, with constant indices (picking a column of NonMaxSuppression's rows);
//   - Gather along axis 0 with such a value as indices, when the rows past the count are zeros (a valid index).
// Anything else that reads one is a DATA_DEPENDENT error naming the node.

import { CompileError, nodeLabel } from '../errors.js';
import type { Bounded, Graph, Node } from '../ir/graph.js';
import type { InputInfo, OpDef, TensorInfo } from '../../ops/types.js';

/** The bounded extent of each output of `node` (undefined for a static one); throws when the node cannot run within the bound. */
export function boundedRows(graph: Graph, node: Node, def: OpDef, inputs: (InputInfo | undefined)[], outs: TensorInfo[]): (Bounded | undefined)[] | undefined {
  const bounds = inputs.map((i) => (i && !i.const ? graph.values.get(i.name)?.bounded : undefined));
  const first = bounds.findIndex(Boolean);
  if (first < 0) return undefined;
  const b = bounds[first]!;
  const refuse = (why: string): never => {
    const x = inputs[first]!;
    throw new CompileError('DATA_DEPENDENT', `${nodeLabel(node, graph.opset)}: input "${x.name}" has dimension ${b.axis} known only at run time (at most ${x.shape[b.axis]}); ` +
      `${why}. Data-dependent values (NonZero, Compress, Unique, NonMaxSuppression outputs) can be graph outputs, and feed elementwise ops and Gather row by row; ` +
      'bind the inputs they are computed from with --constant (library: constants) to make them static', { node: node.name, op: node.opType });
  };
  if (bounds.some((o) => o && o.axis !== 0)) refuse('only a run-time extent on the first axis is a prefix of rows that can be computed within the bound');
  if (bounds.some((o) => o && o.root !== b.root)) refuse('it is combined with a value of another run-time extent');
  const rows = (zeroTail: boolean): (Bounded | undefined)[] => outs.map(() => ({ axis: 0, root: b.root, zeroTail }));
  if (def.elementwise) {
    const rank = outs[0].shape.length;
    inputs.forEach((x, i) => {
      if (!x) return;
      if (bounds[i] ? x.shape.length !== rank : x.shape.length === rank && x.shape[0] !== 1) refuse(`operand "${x.name}" would broadcast along the run-time axis`);
    });
    return rows(false);
  }
  if (node.opType === 'Gather' && node.domain === '') {
    const [data, indices] = inputs;
    const axis = (node.attrs.axis as number | undefined) ?? 0;
    const normalized = axis < 0 ? axis + data!.shape.length : axis;
    if (bounds[0] && !bounds[1] && normalized > 0) return rows(b.zeroTail);
    if (!bounds[0] && bounds[1] && normalized === 0 && b.zeroTail && data!.shape[0] > 0) return rows(false);
  }
  return refuse(`${node.opType} would read past the run-time extent`);
}
