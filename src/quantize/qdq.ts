// The float graph + a quantization plan + activation parameters -> the QDQ graph onnxruntime's quantize_static
// writes: a QuantizeLinear -> DequantizeLinear pair on every planned activation; matrix weights as int8 constants
// (symmetric, per output channel) behind a DequantizeLinear; biases as int32 with scale = input scale x weight
// scale. The compiler's QDQ lowering (src/passes/lower-qdq.ts) then turns it into int8 operators like any imported
// QDQ model.

import ndarray from 'ndarray';
import { CompileError } from '../errors.js';
import { makeTensor, numel, type Graph, type Node, type Tensor } from '../ir/graph.js';
import type { QuantPlan } from './plan.js';

export interface ActParams { scale: number; zeroPoint: number }

export interface QdqGraph {
  graph: Graph;
  /** Planned activation tensor -> the name of its dequantized copy (what its consumers now read). */
  dequantized: Map<string, string>;
}

/**
 * Symmetric int8 weights: one scale per slice along `axis` (or one for all when axis < 0), values in [-127, 127].
 * The weights are viewed (ndarray, no copy) as [outer, channels, inner] and walked one channel at a time.
 */
export function quantizeWeights(w: Tensor, axis: number): { q: Int8Array; scales: Float32Array } {
  const data = w.data as Float32Array;
  const channels = axis < 0 ? 1 : w.shape[axis];
  const outer = axis < 0 ? 1 : numel(w.shape.slice(0, axis));
  const view = (a: Float32Array | Int8Array) => ndarray(a, [outer, channels, data.length / (outer * channels)]).transpose(1, 0, 2);
  const real = view(data);
  const q = new Int8Array(data.length);
  const out = view(q);
  const [, rows, cols] = real.shape;
  const scales = new Float32Array(channels);
  for (let c = 0; c < channels; c++) {
    const slice = real.pick(c, null, null), qs = out.pick(c, null, null);
    let absMax = 0;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) absMax = Math.max(absMax, Math.abs(slice.get(i, j)));
    // An all-zero channel gets scale 1 (its values quantize to 0 either way; a zero scale would zero the bias too).
    scales[c] = absMax > 0 ? absMax / 127 : 1;
    for (let i = 0; i < rows; i++) for (let j = 0; j < cols; j++) qs.set(i, j, Math.max(-127, Math.min(127, Math.round(slice.get(i, j) / scales[c]))));
  }
  return { q, scales };
}

export function buildQdqGraph(float: Graph, plan: QuantPlan, params: Map<string, ActParams>, perChannel: boolean): QdqGraph {
  const graph: Graph = { ...float, inputs: [...float.inputs], outputs: [...float.outputs], values: new Map(float.values), nodes: [] };
  const fresh = (base: string) => {
    let name = base;
    for (let k = 1; graph.values.has(name); k++) name = `${base}_${k}`;
    return name;
  };
  const constant = (base: string, t: Tensor) => {
    const name = fresh(base);
    graph.values.set(name, { name, dtype: t.dtype, shape: [...t.shape], const: t });
    return name;
  };
  const dequantized = new Map<string, string>();
  const pairs = new Map<string, Node[]>();
  for (const t of plan.tensors.keys()) {
    const p = params.get(t);
    const v = graph.values.get(t);
    if (!p || !v) throw new CompileError('INTERNAL', `int8: no calibrated range for "${t}"`);
    const scale = constant(`${t}_scale`, makeTensor('float32', [], Float32Array.of(p.scale)));
    const zp = constant(`${t}_zero_point`, makeTensor('int8', [], Int8Array.of(p.zeroPoint)));
    const q = fresh(`${t}_quantized`), dq = fresh(`${t}_dequantized`);
    graph.values.set(q, { name: q, dtype: 'int8', shape: [...v.shape] });
    graph.values.set(dq, { name: dq, dtype: 'float32', shape: [...v.shape] });
    dequantized.set(t, dq);
    pairs.set(t, [
      { name: `${t}_QuantizeLinear`, opType: 'QuantizeLinear', domain: '', inputs: [t, scale, zp], outputs: [q], attrs: {} },
      { name: `${t}_DequantizeLinear`, opType: 'DequantizeLinear', domain: '', inputs: [q, scale, zp], outputs: [dq], attrs: {} },
    ]);
  }
  const fusedActs = new Set([...plan.fused.values()]);
  const nodes: Node[] = graph.inputs.flatMap((i) => pairs.get(i) ?? []);
  for (const original of float.nodes) {
    if (fusedActs.has(original)) continue;
    const node: Node = { ...original, inputs: original.inputs.map((i) => dequantized.get(i) ?? i), outputs: [...original.outputs] };
    const act = plan.fused.get(node.name);
    if (act) node.outputs[0] = act.outputs[0];
    if (plan.nodes.get(node.name) === 'matrix' && graph.values.get(node.inputs[1])?.const) {
      nodes.push(...quantizeMatrixInputs(graph, node, params.get(original.inputs[0])!.scale, perChannel, constant, fresh));
    }
    nodes.push(node);
    for (const o of node.outputs) nodes.push(...(pairs.get(o) ?? []));
  }
  graph.nodes = nodes;
  return { graph, dequantized };
}

/** Replaces a Conv / Gemm / MatMul's weight and bias inputs with DequantizeLinear of int8 / int32 constants. */
function quantizeMatrixInputs(graph: Graph, node: Node, xScale: number, perChannel: boolean,
  constant: (base: string, t: Tensor) => string, fresh: (base: string) => string): Node[] {
  const wName = node.inputs[1];
  const w = graph.values.get(wName)!.const!;
  const axis = node.opType === 'Conv' || (node.opType === 'Gemm' && Number(node.attrs.transB ?? 0) === 1) ? 0 : 1;
  const { q, scales } = quantizeWeights(w, perChannel ? axis : -1);
  const channels = w.shape[axis];
  const scaleShape = perChannel ? [channels] : [];
  const added: Node[] = [];
  const dequantize = (base: string, qt: Tensor, scale: Float32Array, zp: Tensor, dqAxis: number | undefined): string => {
    const out = fresh(`${base}_dequantized`);
    graph.values.set(out, { name: out, dtype: 'float32', shape: [...qt.shape] });
    added.push({
      name: `${out}/DequantizeLinear`, opType: 'DequantizeLinear', domain: '',
      inputs: [constant(`${base}_quantized`, qt), constant(`${base}_scale`, makeTensor('float32', zp.shape, scale)), constant(`${base}_zero_point`, zp)],
      outputs: [out], attrs: dqAxis === undefined ? {} : { axis: dqAxis },
    });
    return out;
  };
  node.inputs[1] = dequantize(wName, makeTensor('int8', w.shape, q), scales, makeTensor('int8', scaleShape, new Int8Array(numel(scaleShape))), perChannel ? axis : undefined);
  const bName = node.inputs[2];
  const b = bName ? graph.values.get(bName)?.const : undefined;
  if (bName && b) {
    const bias = b.data as Float32Array;
    const bScale = Float32Array.from({ length: channels }, (_, c) => Math.fround(xScale * scales[perChannel ? c : 0]));
    const bq = Int32Array.from(bias, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / bScale[c]))));
    node.inputs[2] = dequantize(bName, makeTensor('int32', [channels], bq), bScale, makeTensor('int32', [channels], new Int32Array(channels)), 0);
  }
  return added;
}
