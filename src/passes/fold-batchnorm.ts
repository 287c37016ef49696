// Folds an inference-mode BatchNormalization into the Conv (or ConvTranspose) that feeds it when the weights and
// all four BN parameters are constants: W'[m] = W[m] * s[m], b'[m] = (b[m] - mean[m]) * s[m] + beta[m] with
// s = scale / sqrt(var + epsilon) (a ConvTranspose's weights are [Cin][Cout/group][k...]: m = group * Cout/group + j). A BN that does not fit this pattern stays for its own operator.

import { makeTensor, numel, type Graph, type Node, type Tensor } from '../ir/graph.js';
import { consumers, freshName, soleConsumer } from './fusion-utils.js';

export function foldBatchNorm(graph: Graph): void {
  const uses = consumers(graph);
  const removed = new Set<Node>();
  for (const conv of graph.nodes) {
    if ((conv.opType !== 'Conv' && conv.opType !== 'ConvTranspose') || conv.domain !== '' || removed.has(conv)) continue;
    const bn = soleConsumer(graph, uses, conv.outputs[0]);
    if (!bn || bn.opType !== 'BatchNormalization' || bn.domain !== '' || bn.inputs[0] !== conv.outputs[0]) continue;
    if (bn.outputs.slice(1).some(Boolean) || Number(bn.attrs.training_mode ?? 0) !== 0 || Number(bn.attrs.spatial ?? 1) !== 1) continue;
    const w = graph.values.get(conv.inputs[1])?.const;
    const b = conv.inputs[2] ? graph.values.get(conv.inputs[2])?.const : undefined;
    if (!w || (conv.inputs[2] && !b)) continue;
    if (w.dtype !== 'float32' && w.dtype !== 'float64') continue;
    const params = bn.inputs.slice(1, 5).map((n) => (n ? graph.values.get(n)?.const : undefined));
    const transposed = conv.opType === 'ConvTranspose';
    const group = transposed ? Number(conv.attrs.group ?? 1) : 1;
    const M = transposed ? w.shape[1] * group : w.shape[0];
    const perK = numel(w.shape.slice(2)), perIn = transposed ? w.shape[1] * perK : 0, inPerGroup = w.shape[0] / group;
    /** The output channel of flat weight index i. */
    const channelOf = (i: number) => (transposed ? Math.floor(Math.floor(i / perIn) / inPerGroup) * w.shape[1] + (Math.floor(i / perK) % w.shape[1]) : Math.floor(i / perM));
    if (params.length !== 4 || params.some((p) => !p || p.dtype !== w.dtype || numel(p.shape) !== M)) continue;
    const [scale, beta, mean, variance] = params as Tensor[];
    const eps = typeof bn.attrs.epsilon === 'number' ? bn.attrs.epsilon : 1e-5;
    const perM = numel(w.shape) / M;
    const w2 = makeTensor(w.dtype, w.shape);
    const b2 = makeTensor(w.dtype, [M]);
    const s = Array.from({ length: M }, (_, m) => Number(scale.data[m]) / Math.sqrt(Number(variance.data[m]) + eps));
    for (let i = 0; i < w.data.length; i++) w2.data[i] = Number(w.data[i]) * s[channelOf(i)];
    for (let m = 0; m < M; m++) b2.data[m] = ((b ? Number(b.data[m]) : 0) - Number(mean.data[m])) * s[m] + Number(beta.data[m]);
    const wName = freshName(graph, `${conv.inputs[1]}_bn`);
    const bName = freshName(graph, `${conv.name || conv.outputs[0]}_bn_bias`);
    graph.values.set(wName, { name: wName, dtype: w.dtype, shape: [...w.shape], const: w2 });
    graph.values.set(bName, { name: bName, dtype: w.dtype, shape: [M], const: b2 });
    conv.inputs = [conv.inputs[0], wName, bName, ...conv.inputs.slice(3)];
    conv.outputs = [bn.outputs[0]];
    conv.origin ??= conv.name;
    removed.add(bn);
  }
  if (removed.size) graph.nodes = graph.nodes.filter((n) => !removed.has(n));
}
