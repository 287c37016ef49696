// quantize_dynamic writes each Conv as DynamicQuantizeLinear -> ConvInteger -> Cast(float) -> Mul(x_scale * w_scale)
// -> Add(bias) [-> Relu]. Run as written, the int8 GEMM stores i32 accumulators and four float passes follow; this
// pass folds the chain into one internal ConvIntegerScaled node (ops/integer-ops.ts), whose GEMM epilogue computes
// relu(f32(acc) * scale + bias) with the same float32 operations in the same order, so the result is unchanged.
// Only chains the int8 GEMM runs (constant weights and weight zero points) are fused; anything else stays as it is.

import { INTERNAL_DOMAIN } from '../../ops/index.js';
import { numel, type Graph, type Node } from '../ir/graph.js';

export function fuseIntegerScale(graph: Graph): void {
  const consumers = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  const value = (name: string | undefined) => (name ? graph.values.get(name) : undefined);
  /** The single default-domain consumer of `name` of this op type (and `name` is not a graph output). */
  const sole = (name: string, op: string): Node | undefined => {
    const cs = consumers.get(name) ?? [];
    return cs.length === 1 && cs[0].opType === op && cs[0].domain === '' && !graph.outputs.includes(name) ? cs[0] : undefined;
  };
  const other = (n: Node, name: string) => (n.inputs.length === 2 ? n.inputs[n.inputs[0] === name ? 1 : 0] : undefined);
  const dropped = new Set<Node>();
  const fused = new Map<Node, Node>();
  for (const conv of graph.nodes) {
    if (conv.opType !== 'ConvInteger' || conv.domain !== '') continue;
    const [x, w, xz, wz] = conv.inputs;
    const wv = value(w), xzv = value(xz), wzv = value(wz), xv = value(x);
    if (!wv?.const || (wz && !wzv?.const) || (xz && numel(xzv!.shape as number[]) !== 1) || !xv) continue;
    // a run-time x zero point needs the 2-D kernels (fastConvInteger)
    if (xz && !xzv!.const && xv.shape.length !== 4) continue;
    const cast = sole(conv.outputs[0], 'Cast');
    if (!cast || Number(cast.attrs.to) !== 1) continue;
    const mul = sole(cast.outputs[0], 'Mul');
    const scale = mul && other(mul, cast.outputs[0]);
    const sv = value(scale);
    if (!mul || !scale || scale === cast.outputs[0] || sv?.dtype !== 'float32' || numel(sv.shape as number[]) !== 1) continue;
    const chain: Node[] = [cast, mul];
    let out = mul.outputs[0];
    let bias = '';
    const add = sole(out, 'Add');
    const b = add && other(add, out);
    if (add && b && b !== out && perChannel(value(b), wv.shape[0] as number, xv.shape.length)) {
      bias = b;
      chain.push(add);
      out = add.outputs[0];
    }
    const relu = sole(out, 'Relu');
    if (relu) { chain.push(relu); out = relu.outputs[0]; }
    // the fused node's output is the chain's last: float32 of the convolution's shape (no broadcast widened it)
    const outShape = value(out)?.shape, accShape = value(conv.outputs[0])?.shape;
    if (!outShape || !accShape || outShape.length !== accShape.length || outShape.some((d, i) => d !== accShape[i])) continue;
    const attrs = Object.fromEntries(Object.entries(conv.attrs).filter(([k]) => !k.startsWith('_')));
    // in the chain's last place: the scale (x_scale * w_scale) is computed after the ConvInteger
    fused.set(chain[chain.length - 1], {
      ...conv, opType: 'ConvIntegerScaled', domain: INTERNAL_DOMAIN, inputs: [x, w, xz ?? '', wz ?? '', scale, bias],
      outputs: [out], attrs: { ...attrs, relu: relu ? 1 : 0 },
    });
    dropped.add(conv);
    for (const n of chain.slice(0, -1)) dropped.add(n);
  }
  if (dropped.size) graph.nodes = graph.nodes.flatMap((n) => (dropped.has(n) ? [] : [fused.get(n) ?? n]));
}

/** A constant float32 bias with one value per output channel, broadcast along the channel axis of an NC... output. */
function perChannel(v: { dtype: string; shape: readonly unknown[]; const?: unknown } | undefined, channels: number, rank: number): boolean {
  if (!v?.const || v.dtype !== 'float32') return false;
  const shape = v.shape as number[];
  if (numel(shape) !== channels || shape.length > rank) return false;
  // right-aligned against [N, C, spatial...]: C lands on axis 1, every other axis is 1
  const at = rank - shape.length;
  return shape.every((d, i) => (at + i === 1 ? d === channels : d === 1));
}
