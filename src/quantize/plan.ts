// Which nodes run in int8 and which tensors get a QuantizeLinear -> DequantizeLinear pair, chosen on the float
// graph as onnxruntime's quantize_static does in its default QDQ mode: the matrix ops (Conv, MatMul, Gemm) always,
// with their weights per output channel; Add / Mul of two activations; and the ops the int8 lowering runs on int8
// data (pools, Concat, table-driven activations, data movement) when their input is already quantized, so that
// between int8 ops the data stays int8. Graph outputs stay float. Softmax, LayerNorm and GELU chains stay float.

import { CompileError } from '../errors.js';
import { numel, type Graph, type Node } from '../ir/graph.js';

/** Ops that read or move int8 data as they are: their output shares the input's scale and zero point. */
const MOVE_OPS = new Set(['MaxPool', 'Reshape', 'Flatten', 'Transpose', 'Squeeze', 'Unsqueeze', 'Resize']);
/** Ops with their own output range (lookup tables, requantizing kernels). */
const RANGE_OPS = new Set(['Relu', 'Clip', 'Sigmoid', 'LeakyRelu', 'HardSigmoid', 'HardSwish', 'Tanh', 'Concat', 'GlobalAveragePool', 'AveragePool']);
/** Activations that a Q of their producer's output reproduces exactly (onnxruntime removes them too). */
const CLAMPS = new Set(['Relu', 'Clip']);

export interface QuantPlan {
  /** Nodes that run in int8, by name, with the role of each. */
  nodes: Map<string, 'matrix' | 'binary' | 'move' | 'range'>;
  /** Activation tensors that get a Q/DQ pair; a move op's output maps to its input (same parameters). */
  tensors: Map<string, { sameAs?: string }>;
  /** Relu / Clip nodes folded into their producer's quantized output (producer node name -> activation node). */
  fused: Map<string, Node>;
  /** Nodes of a quantizable type that stay float, with the reason. */
  float: { node: string; op: string; reason: string }[];
}

/** Whether a Conv / Gemm / MatMul can take int8 weights: a constant float weight the int8 kernels accept. */
function matrixWeights(graph: Graph, n: Node): string | undefined {
  const w = graph.values.get(n.inputs[1] ?? '');
  if (!w?.const || w.dtype !== 'float32') return n.opType === 'MatMul' && w && !w.const && w.dtype === 'float32' ? undefined : 'its weights are not a constant float32 tensor';
  if (n.opType === 'Gemm') {
    const a = n.attrs;
    if (Number(a.transA ?? 0) !== 0 || Number(a.alpha ?? 1) !== 1 || Number(a.beta ?? 1) !== 1) return 'Gemm with transA, alpha or beta';
    const b = n.inputs[2] ? graph.values.get(n.inputs[2]) : undefined;
    const channels = w.shape[Number(a.transB ?? 0) ? 0 : 1] as number;
    if (n.inputs[2] && (!b?.const || b.dtype !== 'float32' || numel(b.const.shape) !== channels)) return 'its bias is not a constant per output channel';
  }
  if (n.opType === 'MatMul' && w.shape.length !== 2) return 'MatMul weights of rank other than 2';
  if (n.opType === 'Conv' && n.inputs[2] && !graph.values.get(n.inputs[2])?.const) return 'its bias is not a constant';
  return undefined;
}

export function planQuantization(graph: Graph, exclude: Set<string>): QuantPlan {
  const known = new Set(graph.nodes.map((n) => n.name));
  const unknown = [...exclude].filter((e) => !known.has(e));
  if (unknown.length) throw new CompileError('BAD_OPTION', `int8 exclude: no node named ${unknown.map((u) => `"${u}"`).join(', ')} in the model`);
  const plan: QuantPlan = { nodes: new Map(), tensors: new Map(), fused: new Map(), float: [] };
  const isActivation = (name: string) => {
    const v = graph.values.get(name);
    return !!v && !v.const && v.dtype === 'float32';
  };
  const outputs = new Set(graph.outputs);
  const uses = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) (uses.get(i) ?? uses.set(i, []).get(i)!).push(n);
  const quantizable = (name: string) => isActivation(name) && !outputs.has(name);
  const quantized = (name: string) => plan.tensors.has(name);
  const add = (name: string, sameAs?: string) => { if (!plan.tensors.has(name)) plan.tensors.set(name, sameAs ? { sameAs } : {}); };

  for (const n of graph.nodes) {
    if (n.domain !== '') continue;
    const op = n.opType;
    const x = n.inputs[0];
    const y = n.outputs[0];
    const role = op === 'Conv' || op === 'Gemm' || op === 'MatMul' ? 'matrix'
      : op === 'Add' || op === 'Mul' ? 'binary'
      : MOVE_OPS.has(op) ? 'move'
      : RANGE_OPS.has(op) ? 'range' : undefined;
    if (!role || !x || !y || !isActivation(x) || n.outputs.filter(Boolean).length !== 1) continue;
    if (exclude.has(n.name)) { plan.float.push({ node: n.name, op, reason: 'excluded' }); continue; }
    if (role === 'matrix') {
      const why = matrixWeights(graph, n);
      if (why) { plan.float.push({ node: n.name, op, reason: why }); continue; }
      // A classifier Gemm may keep a float output (the int8 GEMM has a float epilogue); Conv / MatMul need a Q.
      if (!quantizable(y) && op !== 'Gemm') { plan.float.push({ node: n.name, op, reason: 'its output is a graph output (kept float)' }); continue; }
      add(x);
      if (op === 'MatMul' && !graph.values.get(n.inputs[1])!.const) add(n.inputs[1]);
    } else if (role === 'binary') {
      if (!n.inputs.every((i) => i && isActivation(i)) || !quantizable(y)) continue; // a constant operand: bias or scale stays float
      if (!n.inputs.some(quantized)) continue;
      n.inputs.forEach((i) => add(i));
    } else {
      if (!quantized(x) || !quantizable(y)) continue;
      if (op === 'Resize' && String(n.attrs.mode ?? 'nearest') !== 'nearest') { plan.float.push({ node: n.name, op, reason: 'Resize that interpolates' }); continue; }
      if (op === 'Concat' && !n.inputs.every((i) => i && isActivation(i))) continue;
      if (op === 'Clip' && !clipBoundsConstant(graph, n)) continue;
      n.inputs.forEach((i, k) => { if (k === 0 || (op === 'Concat' && i)) add(i); });
    }
    plan.nodes.set(n.name, role);
    if (!quantizable(y)) continue;
    // Conv -> Relu (or Clip from 0): the Q of the activation's output, put on the producer's output, clamps the same.
    const after = uses.get(y) ?? [];
    const act = after.length === 1 ? after[0] : undefined;
    if (role !== 'move' && role !== 'range' && act && CLAMPS.has(act.opType) && !exclude.has(act.name) && quantizable(act.outputs[0]) && clampsFromZero(graph, act)) {
      plan.fused.set(n.name, act);
      plan.nodes.set(act.name, 'range');
      add(act.outputs[0]);
      continue;
    }
    add(y, role === 'move' ? x : undefined);
  }
  if (![...plan.nodes.values()].includes('matrix')) {
    throw new CompileError('NOTHING_TO_QUANTIZE', 'int8: the model has no Conv, MatMul or Gemm that can run in int8 (nothing to quantize)');
  }
  return plan;
}

function clipBoundsConstant(graph: Graph, n: Node): boolean {
  return n.inputs.slice(1).every((i) => !i || !!graph.values.get(i)?.const);
}

/** Relu, or Clip whose lower bound is 0: a Q with range [0, max <= clip max] reproduces it exactly. */
function clampsFromZero(graph: Graph, n: Node): boolean {
  if (n.opType === 'Relu') return true;
  if (!clipBoundsConstant(graph, n)) return false;
  const lo = n.inputs[1] ? Number(graph.values.get(n.inputs[1])!.const!.data[0]) : n.attrs.min !== undefined ? Number(n.attrs.min) : -Infinity;
  return lo === 0;
}
