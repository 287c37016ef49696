// QDQ lowering: rewrites DequantizeLinear -> float op -> QuantizeLinear patterns (what onnxruntime's quantize_static
// writes) into int8 operators, as onnxruntime's QDQ transformer and TFLite do, so that between quantized ops the
// data stays int8 and weights stay int8 in the module.
//
//  - Conv / MatMul / Gemm with a DQ'd int8 activation and DQ'd constant int8 weights -> QLinearConv / QLinearMatMul /
//    com.microsoft QGemm (the int8 GEMM), the bias requantized to int32 in the accumulator's scale.
//  - A unary op between a DQ and a Q (Relu, Clip, Sigmoid, ..., or anything with an evaluator) -> QLinearLookup, a
//    256-entry table that is the spec's DQ -> op -> Q pipeline evaluated at compile time on every int8 value.
//  - Add / Mul / Concat / average pools -> the com.microsoft QLinear ops; MaxPool and pure data movement (Reshape,
//    Transpose, Flatten, Slice, nearest Resize, Pad, ...) run on the int8 tensor itself, followed by a lookup
//    that requantizes when the Q's parameters differ from the DQ's.
// Each rewrite is exact to the specification's float pipeline up to the float32 rounding of the requantization
// (test/helpers/quant-reference.ts). What is not rewritten stays float between its DQ and Q; the summary says why.

import { lookupOp, INTERNAL_DOMAIN } from '../../ops/index.js';
import { evaluateWithKernel } from './fold.js';
import { lookupTable, valueOf } from '../../ops/qlinear-lookup.js';
import { dequantize, quantize, type QParam } from '../../ops/qparams.js';
import { makeTensor, numel, type Graph, type Node, type Tensor } from '../ir/graph.js';
import { eliminateDeadCode } from './infer.js';
import { fuseInt8Lookups, type LutOutput } from './fuse-int8-lookups.js';

export interface QuantSummary {
  /** Lowered nodes by op type of the original float op. */
  int8: Record<string, number>;
  /** Float ops between DQ and Q that stayed float, with the reason. */
  float: { node: string; op: string; reason: string }[];
}

interface QParams { q: string; scale: number[]; zp: number[]; dtype: 'int8' | 'uint8'; axis: number; scaleName: string; zpName?: string; node: Node }

const Q_TYPES = new Set(['int8', 'uint8']);
/** Ops that only move or select elements: they run on int8 data as they are (a DQ commutes with them). */
const MOVE_OPS = new Set(['Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Identity', 'Slice', 'MaxPool', 'Resize', 'Pad', 'DepthToSpace', 'SpaceToDepth', 'Gather', 'Split']);
/** Unary ops computed by lookup table (any op with one float input and an evaluator works; these are the common ones). */
const UNARY_OPS = new Set(['Relu', 'Clip', 'Sigmoid', 'Tanh', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Elu', 'Selu', 'Softplus', 'Neg', 'Abs', 'Gelu', 'Erf', 'Exp', 'Sqrt', 'Softsign', 'Mish', 'Celu', 'ThresholdedRelu']);
/** Binary ops whose second operand is a one-element constant (x + 1, x * 0.5, x / sqrt(d)): per-element functions of x, by table too. */
const SCALAR_BINARY_OPS = new Set(['Add', 'Sub', 'Mul', 'Div', 'Pow', 'Max', 'Min']);

export function lowerQdq(graph: Graph): QuantSummary {
  const summary: QuantSummary = { int8: {}, float: [] };
  if (!graph.nodes.some((n) => n.opType === 'DequantizeLinear' && n.domain === '')) return summary;
  pushDequantizeDown(graph);
  const producer = new Map<string, Node>();
  const consumers = new Map<string, Node[]>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) (consumers.get(i) ?? consumers.set(i, []).get(i)!).push(n);
  }
  const constOf = (name: string | undefined): Tensor | undefined => (name ? graph.values.get(name)?.const : undefined);
  const nums = (t: Tensor) => Array.from(t.data as ArrayLike<number>, Number);

  /** The DQ producing `name`: its int8 input and constant scale / zero point. */
  const dqOf = (name: string): QParams | undefined => {
    const n = producer.get(name);
    if (!n || n.opType !== 'DequantizeLinear' || n.domain !== '') return undefined;
    const q = graph.values.get(n.inputs[0]);
    const s = constOf(n.inputs[1]);
    const z = n.inputs[2] ? constOf(n.inputs[2]) : undefined;
    if (!q || !Q_TYPES.has(q.dtype) || !s || s.dtype !== 'float32' || (n.inputs[2] && !z)) return undefined;
    if ('block_size' in n.attrs && Number(n.attrs.block_size)) return undefined;
    const scale = nums(s), zp = z ? nums(z) : scale.map(() => 0);
    const rank = q.shape.length;
    const axis = scale.length > 1 ? ((Number(n.attrs.axis ?? 1) % rank) + rank) % rank : -1;
    return { q: n.inputs[0], scale, zp, dtype: q.dtype as 'int8' | 'uint8', axis, scaleName: n.inputs[1], zpName: n.inputs[2] || undefined, node: n };
  };
  /** The single per-tensor Q consuming `name` (and nothing else does; not a graph output). */
  const soleQ = (name: string): QParams | undefined => {
    const cs = consumers.get(name) ?? [];
    if (cs.length !== 1 || graph.outputs.includes(name)) return undefined;
    const n = cs[0];
    if (n.opType !== 'QuantizeLinear' || n.domain !== '' || n.inputs[0] !== name) return undefined;
    const s = constOf(n.inputs[1]);
    const z = n.inputs[2] ? constOf(n.inputs[2]) : undefined;
    if (!s || s.dtype !== 'float32' || numel(s.shape) !== 1 || (n.inputs[2] && (!z || numel(z.shape) !== 1))) return undefined;
    const dtype = z ? z.dtype : (n.attrs.output_dtype ? undefined : 'uint8');
    if (!dtype || !Q_TYPES.has(dtype)) return undefined;
    return { q: n.outputs[0], scale: nums(s), zp: z ? nums(z) : [0], dtype: dtype as 'int8' | 'uint8', axis: -1, scaleName: n.inputs[1], zpName: n.inputs[2] || undefined, node: n };
  };
  /** A constant float tensor, or a DequantizeLinear of a constant (an int32 bias), as float32 values. */
  const constantFloat = (name: string): number[] | undefined => {
    const f = constOf(name);
    if (f) return f.dtype === 'float32' ? nums(f) : undefined;
    const n = producer.get(name);
    const qv = n?.opType === 'DequantizeLinear' ? constOf(n.inputs[0]) : undefined, sv = qv ? constOf(n!.inputs[1]) : undefined;
    if (!qv || !sv || (n!.inputs[2] && !constOf(n!.inputs[2]))) return undefined;
    const sc = nums(sv), zz = n!.inputs[2] ? nums(constOf(n!.inputs[2])!) : [0];
    const at = (v: number[], i: number) => v[v.length === 1 ? 0 : i];
    return nums(qv).map((q, i) => Math.fround(Math.fround(q - at(zz, i)) * at(sc, i)));
  };
  const perTensor = (p: QParams | undefined) => !!p && p.scale.length === 1 && p.zp.length <= 1;

  let counter = 0;
  const fresh = (base: string) => `${base}__q${counter++}`;
  const addConst = (base: string, t: Tensor): string => {
    const name = fresh(base);
    graph.values.set(name, { name, dtype: t.dtype, shape: [...t.shape], const: t });
    return name;
  };
  const zpName = (p: QParams): string => p.zpName ?? addConst(`${p.q}_zp`, makeTensor(p.dtype, [], p.dtype === 'int8' ? Int8Array.of(0) : Uint8Array.of(0)));

  const replace = new Map<Node, Node[]>();
  const lutOutput = new Map<Node, LutOutput>();
  const removed = new Set<Node>();
  const lowered = (op: string) => (summary.int8[op] = (summary.int8[op] ?? 0) + 1);
  const stayFloat = (n: Node, reason: string) => summary.float.push({ node: n.name, op: n.opType, reason });
  const has = (op: string, domain: string) => !!lookupOp(op, domain, graph.opset);

  for (const node of graph.nodes) {
    if (node.domain !== '' || removed.has(node)) continue;
    const op = node.opType;
    const ins = node.inputs.map((i) => (i ? dqOf(i) : undefined));
    if (!ins[0]) continue; // not fed by a DQ: a float op
    const out = node.outputs.length === 1 ? soleQ(node.outputs[0]) : undefined;
    const outInfo = graph.values.get(node.outputs[0]);
    const base = node.name || node.outputs[0];
    const make = (opType: string, domain: string, inputs: string[], outputs: string[], attrs: Node['attrs'] = {}): Node =>
      ({ name: `${base}/int8_${opType}`, opType, domain, inputs, outputs, attrs, origin: node.origin ?? node.name });
    const commit = (nodes: Node[]) => {
      replace.set(node, nodes);
      if (out) removed.add(out.node);
      lowered(op);
    };

    if (op === 'Conv' || op === 'MatMul' || op === 'Gemm') {
      // A Gemm whose result stays float (a classifier) still runs in int8, with a float epilogue.
      const floatOut = !out && op === 'Gemm';
      if (!out && !floatOut) { stayFloat(node, 'its output is not quantized by a single QuantizeLinear'); continue; }
      const x = ins[0], w = ins[1];
      const wConst = w ? constOf(w.q) : undefined;
      if (op === 'MatMul' && out && perTensor(x) && perTensor(w) && !wConst) {
        // two activations (attention scores): both packed at run time
        commit([make('QLinearMatMul', '', [x!.q, x!.scaleName, zpName(x!), w!.q, w!.scaleName, zpName(w!), out.scaleName, zpName(out)], [out.q])]);
        continue;
      }
      if (!perTensor(x) || !w || !wConst) { stayFloat(node, 'the weights are not a constant int8 tensor behind a DequantizeLinear'); continue; }
      const attrs = node.attrs;
      if (op === 'Gemm' && (Number(attrs.transA ?? 0) !== 0 || Number(attrs.alpha ?? 1) !== 1 || Number(attrs.beta ?? 1) !== 1)) { stayFloat(node, 'Gemm with transA, alpha or beta'); continue; }
      if (op === 'Gemm' && !has('QGemm', 'com.microsoft')) { stayFloat(node, 'no int8 Gemm kernel'); continue; }
      const wShape = graph.values.get(w.q)!.shape as number[];
      // Per-axis weight scales must be along the output channels: axis 0 for Conv and transposed Gemm, 1 for MatMul / Gemm.
      const transB = op === 'Gemm' && Number(attrs.transB ?? 0) === 1;
      const outAxis = op === 'Conv' || transB ? 0 : wShape.length - 1;
      if (w.scale.length > 1 && w.axis !== outAxis) { stayFloat(node, `weight scales along axis ${w.axis}, not the output channels`); continue; }
      if (op === 'MatMul' && wShape.length !== 2) { stayFloat(node, 'MatMul weights of rank other than 2'); continue; }
      const channels = wShape[outAxis];
      const wScales = w.scale.length > 1 ? w.scale : new Array(channels).fill(w.scale[0]);
      // Bias: DQ'd int32 or float, requantized into the accumulator's scale x_scale * w_scale[c].
      let biasName = '';
      const b = node.inputs[2];
      if (b) {
        const real = constantFloat(b);
        if (!real || real.length !== channels) { stayFloat(node, 'its bias is not a constant'); continue; }
        biasName = addConst(`${base}_bias`, floatOut
          ? makeTensor('float32', [channels], Float32Array.from(real))
          : makeTensor('int32', [channels], Int32Array.from(real, (v, c) => Math.max(-(2 ** 31), Math.min(2 ** 31 - 1, Math.round(v / (x!.scale[0] * wScales[c])))))));
      }
      if (floatOut) {
        commit([make('QGemm', 'com.microsoft', [x!.q, x!.scaleName, zpName(x!), w.q, w.scaleName, zpName(w), biasName], [node.outputs[0]], { transB: transB ? 1 : 0 })]);
        continue;
      }
      const qIns = [x!.q, x!.scaleName, zpName(x!), w.q, w.scaleName, zpName(w), out!.scaleName, zpName(out!)];
      if (op === 'Conv') {
        const convAttrs = Object.fromEntries(Object.entries(attrs).filter(([k]) => !k.startsWith('_')));
        commit([make('QLinearConv', '', [...qIns, ...(biasName ? [biasName] : [])], [out!.q], convAttrs)]);
      } else if (op === 'MatMul') {
        if (biasName) { stayFloat(node, 'MatMul with a bias'); continue; }
        commit([make('QLinearMatMul', '', qIns, [out!.q])]);
      } else {
        // com.microsoft QGemm: A, a_scale, a_zp, B, b_scale, b_zp, C, y_scale, y_zp
        commit([make('QGemm', 'com.microsoft', [...qIns.slice(0, 6), biasName, ...qIns.slice(6)], [out!.q], { transB: transB ? 1 : 0 })]);
      }
      continue;
    }

    const scalarOperand = SCALAR_BINARY_OPS.has(op) && node.inputs.length === 2 && numel(constOf(node.inputs[1])?.shape ?? [0]) === 1 &&
      graph.values.get(node.inputs[0])?.shape.join() === outInfo?.shape.join();
    if ((UNARY_OPS.has(op) || scalarOperand) && out && perTensor(ins[0]) && ins.slice(1).every((v, i) => !node.inputs[i + 1] || constOf(node.inputs[i + 1]))) {
      if (!has('QLinearLookup', INTERNAL_DOMAIN)) { stayFloat(node, 'no int8 lookup kernel'); continue; }
      const table = lookupTableFor(graph, node, ins[0]!, out);
      if (!table) { stayFloat(node, 'no evaluator for its table'); continue; }
      const lut = make('QLinearLookup', INTERNAL_DOMAIN, [ins[0]!.q, addConst(`${base}_table`, table)], [out.q]);
      lutOutput.set(lut, { q: { scale: out.scale[0], zp: out.zp[0] ?? 0, dtype: out.dtype }, alpha: op === 'LeakyRelu' ? Math.fround(Number(node.attrs.alpha ?? 0.01)) : undefined });
      commit([lut]);
      continue;
    }

    if ((op === 'Add' || op === 'Mul') && out && perTensor(ins[0]) && perTensor(ins[1])) {
      const qop = op === 'Add' ? 'QLinearAdd' : 'QLinearMul';
      if (!has(qop, 'com.microsoft')) { stayFloat(node, `no int8 ${op} kernel`); continue; }
      const [a, b] = [ins[0]!, ins[1]!];
      commit([make(qop, 'com.microsoft', [a.q, a.scaleName, zpName(a), b.q, b.scaleName, zpName(b), out.scaleName, zpName(out)], [out.q])]);
      continue;
    }
    if ((op === 'Add' || op === 'Mul') && out) { stayFloat(node, 'an operand is not a per-tensor quantized activation'); continue; }

    if (op === 'Concat' && out && ins.every(perTensor)) {
      if (!has('QLinearConcat', 'com.microsoft')) { stayFloat(node, 'no int8 Concat kernel'); continue; }
      const triples = ins.flatMap((p) => [p!.q, p!.scaleName, zpName(p!)]);
      commit([make('QLinearConcat', 'com.microsoft', [out.scaleName, zpName(out), ...triples], [out.q], { axis: node.attrs.axis })]);
      continue;
    }

    if ((op === 'GlobalAveragePool' || op === 'AveragePool') && out && perTensor(ins[0])) {
      const qop = `QLinear${op}`;
      if (!has(qop, 'com.microsoft')) { stayFloat(node, `no int8 ${op} kernel`); continue; }
      const x = ins[0]!;
      commit([make(qop, 'com.microsoft', [x.q, x.scaleName, zpName(x), out.scaleName, zpName(out)], [out.q], { ...node.attrs })]);
      continue;
    }

    if (MOVE_OPS.has(op) && perTensor(ins[0]) && node.outputs.filter(Boolean).length === 1) {
      const x = ins[0]!;
      if (op === 'Resize' && String(node.attrs.mode ?? 'nearest') !== 'nearest') { if (out) stayFloat(node, 'Resize that interpolates'); continue; }
      if (op === 'Pad' && String(node.attrs.mode ?? 'constant') !== 'constant') { if (out) stayFloat(node, 'Pad in a non-constant mode'); continue; }
      if (op === 'MaxPool' && x.scale[0] <= 0) continue;
      // Every consumer of the float result must be a Q (each may requantize differently); else it stays float.
      const cs = consumers.get(node.outputs[0]) ?? [];
      if (!out || graph.outputs.includes(node.outputs[0]) || cs.length !== 1) { if (out === undefined && cs.length) stayFloat(node, 'its output is not quantized by a single QuantizeLinear'); continue; }
      const inputs = [...node.inputs];
      inputs[0] = x.q;
      if (op === 'Pad') {
        // padding with the float 0 is padding with the input's zero point
        const zpT = makeTensor(x.dtype, [], x.dtype === 'int8' ? Int8Array.of(x.zp[0] ?? 0) : Uint8Array.of(x.zp[0] ?? 0));
        if (node.inputs[2] && constOf(node.inputs[2]) && nums(constOf(node.inputs[2])!)[0] !== 0) { stayFloat(node, 'Pad with a non-zero value'); continue; }
        while (inputs.length < 3) inputs.push('');
        inputs[2] = addConst(`${base}_padvalue`, zpT);
      }
      const same = out.scale[0] === x.scale[0] && (out.zp[0] ?? 0) === (x.zp[0] ?? 0) && out.dtype === x.dtype;
      if (same) { commit([{ ...node, inputs, outputs: [out.q] }]); continue; }
      if (!has('QLinearLookup', INTERNAL_DOMAIN)) { stayFloat(node, 'no int8 requantization kernel'); continue; }
      const mid = fresh(node.outputs[0]);
      const midShape = outInfo ? [...outInfo.shape] : [];
      graph.values.set(mid, { name: mid, dtype: x.dtype, shape: midShape });
      const table = requantTable(x, out);
      const requant = make('QLinearLookup', INTERNAL_DOMAIN, [mid, addConst(`${base}_requant`, table)], [out.q]);
      lutOutput.set(requant, { q: param(out) });
      commit([{ ...node, inputs, outputs: [mid] }, requant]);
      continue;
    }
    if (out) stayFloat(node, 'no int8 kernel for this op');
  }

  graph.nodes = graph.nodes.flatMap((n) => (removed.has(n) ? [] : replace.get(n) ?? [n]));
  fuseInt8Lookups(graph, lutOutput);
  fuseClampIntoConv(graph, lutOutput);
  return summary;
}

/**
 * QLinearConv -> QLinearLookup of a Relu, Clip or LeakyRelu (quantize_static's Conv -> Q -> DQ -> Relu -> Q): the lookup pass
 * over the activation moves into the convolution's requantize epilogue.
 *  - A table that only clamps (the Q keeps the Conv's parameters) becomes the epilogue's clamp (_qmin / _qmax).
 *  - Otherwise, when the table is clamp(T(q), lo, hi) for T(q) = quantize(dequantize(q, s1, z1), s2, z2) (the
 *    second requantization, monotone for positive scales: the Relu's or Clip's bound and q's own saturation are
 *    clamps of it), the epilogue computes T in float32 after its rounding (QLinearConv's _act) and clamps to
 *    [lo, hi]; a LeakyRelu (alpha > 0) scales T's negative side first. Exact: checked here on all 256 input
 *    values, and T is monotone so out-of-range values clamp alike.
 */

function fuseClampIntoConv(graph: Graph, lutOutput: Map<Node, LutOutput>): void {
  eliminateDeadCode(graph);
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const dropped = new Set<Node>();
  for (const lut of graph.nodes) {
    if (lut.opType !== 'QLinearLookup' || lut.domain !== INTERNAL_DOMAIN) continue;
    const conv = producer.get(lut.inputs[0]);
    const table = graph.values.get(lut.inputs[1])?.const;
    const mid = graph.values.get(lut.inputs[0]), y = graph.values.get(lut.outputs[0]);
    if (!conv || conv.opType !== 'QLinearConv' || conv.domain !== '' || !table || !mid || !y || mid.dtype !== y.dtype ||
      uses.get(lut.inputs[0]) !== 1 || graph.outputs.includes(lut.inputs[0]) || '_act' in conv.attrs) continue;
    // only where the int8 kernels run (a QOperator model's QLinearConv may have run-time or float16 parameters)
    const constant = (i: number, dtype?: string) => { const v = graph.values.get(conv.inputs[i]); return !!v?.const && (!dtype || v.dtype === dtype); };
    if (![1, 4, 6].every((i) => constant(i, 'float32')) || ![2, 3, 5, 7].every((i) => constant(i))) continue;
    const values = Array.from({ length: 256 }, (_, b) => valueOf(b, mid.dtype));
    const out = values.map((v) => Number(table.data[v & 255]));
    const lo = Math.min(...out), hi = Math.max(...out);
    const fused: Record<string, number | number[]> = {
      _qmin: Math.max(lo, Number(conv.attrs._qmin ?? -(2 ** 31))), _qmax: Math.min(hi, Number(conv.attrs._qmax ?? 2 ** 31 - 1)),
    };
    const clampOnly = values.every((v, i) => out[i] === Math.min(hi, Math.max(lo, v)));
    if (!clampOnly) {
      const s1 = graph.values.get(conv.inputs[6])?.const, z1 = graph.values.get(conv.inputs[7])?.const, info = lutOutput.get(lut);
      if (!s1 || !z1 || !info || '_qmin' in conv.attrs || '_qmax' in conv.attrs) continue;
      const first: QParam = { scale: Number(s1.data[0]), zp: Number(z1.data[0]), dtype: mid.dtype }, last = info.q, alpha = info.alpha;
      if (!(first.scale > 0 && last.scale > 0) || last.dtype !== mid.dtype || (alpha !== undefined && !(alpha > 0))) continue;
      // a LeakyRelu's negative side, as the kernel computes it (alpha > 0 keeps the map monotone)
      const leak = (x: number) => (alpha !== undefined && x < 0 ? Math.fround(x * alpha) : x);
      if (!values.every((v, i) => out[i] === Math.min(hi, Math.max(lo, quantize(leak(dequantize(v, first)), last))))) continue;
      fused._act = alpha !== undefined ? [last.scale, last.zp, alpha] : [last.scale, last.zp];
    }
    conv.attrs = { ...conv.attrs, ...fused };
    conv.outputs = [lut.outputs[0]];
    dropped.add(lut);
  }
  graph.nodes = graph.nodes.filter((n) => !dropped.has(n));
}

/** Layout ops through which a DequantizeLinear moves down (DQ(layout(q)) == layout(DQ(q)) for a per-tensor DQ). */
const LAYOUT_OPS = new Set(['Identity', 'Transpose', 'Reshape', 'Flatten', 'Squeeze', 'Unsqueeze']);

/**
 * Rewrites layout(DQ(q)) into DQ(layout(q)) when the layout op's result is not itself quantized by a Q (exporters
 * put Transposes and tied-weight Identities between a DQ and the MatMul that reads it), so that the pattern
 * matcher sees the DQ at the op's input and the layout op moves int8 bytes.
 */
function pushDequantizeDown(graph: Graph): void {
  const producer = new Map<string, Node>();
  const uses = new Map<string, number>();
  for (const n of graph.nodes) {
    for (const o of n.outputs) if (o) producer.set(o, n);
    for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
  }
  const out: Node[] = [];
  for (const n of graph.nodes) {
    const dq = producer.get(n.inputs[0] ?? '');
    const quantizedAfter = graph.nodes.some((c) => c.opType === 'QuantizeLinear' && c.inputs[0] === n.outputs[0]);
    const scale = dq ? graph.values.get(dq.inputs[1])?.const : undefined;
    if (n.domain !== '' || !LAYOUT_OPS.has(n.opType) || !dq || dq.opType !== 'DequantizeLinear' || dq.domain !== '' || quantizedAfter ||
      n.outputs.length !== 1 || !scale || numel(scale.shape) !== 1 || graph.outputs.includes(n.outputs[0])) {
      out.push(n);
      continue;
    }
    const q = graph.values.get(dq.inputs[0])!;
    const y = graph.values.get(n.outputs[0])!;
    const moved = `${n.outputs[0]}__int8`;
    graph.values.set(moved, { name: moved, dtype: q.dtype, shape: [...y.shape] });
    const layout: Node = { ...n, inputs: [dq.inputs[0], ...n.inputs.slice(1)], outputs: [moved] };
    const newDq: Node = { ...dq, name: `${n.name || n.outputs[0]}/dq`, inputs: [moved, ...dq.inputs.slice(1)], outputs: [n.outputs[0]], attrs: {} };
    out.push(layout, newDq);
    producer.set(moved, layout);
    producer.set(n.outputs[0], newDq);
  }
  graph.nodes = out;
}

// --- lookup tables: the spec's float pipeline evaluated on every int8 value (ops/qlinear-lookup.ts builds them) ---

const param = (p: QParams): QParam => ({ scale: p.scale[0], zp: p.zp[0] ?? 0, dtype: p.dtype });
const tableTensor = (dtype: 'int8' | 'uint8', bytes: Uint8Array): Tensor =>
  makeTensor(dtype, [256], dtype === 'int8' ? new Int8Array(bytes.buffer) : bytes);

function requantTable(x: QParams, out: QParams): Tensor {
  return tableTensor(out.dtype, lookupTable(x.scale[0], x.zp[0] ?? 0, x.dtype, out.scale[0], out.zp[0] ?? 0, out.dtype, (v) => v));
}

/** The op itself (its kernel, through the folding machinery) evaluated on the 256 dequantized inputs. */
function lookupTableFor(graph: Graph, node: Node, x: QParams, out: QParams): Tensor | undefined {
  const inputs = Array.from({ length: 256 }, (_, b) => dequantize(valueOf(b, x.dtype), param(x)));
  const t = makeTensor('float32', [256], Float32Array.from(inputs));
  const consts = node.inputs.map((name, i) => (i === 0 ? t : name ? graph.values.get(name)?.const : undefined));
  const probe: Node = { ...node, inputs: node.inputs.map((n, i) => (i === 0 ? '__lut_x' : n)), outputs: ['__lut_y'] };
  let y: Tensor;
  try {
    [y] = evaluateWithKernel(graph.opset, probe, consts, [{ dtype: 'float32', shape: [256] }]);
  } catch {
    return undefined;
  }
  const result = new Map(inputs.map((v, b) => [v, Number(y.data[b])]));
  return tableTensor(out.dtype, lookupTable(x.scale[0], x.zp[0] ?? 0, x.dtype, out.scale[0], out.zp[0] ?? 0, out.dtype, (v) => result.get(v)!));
}
