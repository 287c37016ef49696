// Graph IR -> standard ONNX bytes (through the project's builder, src/onnx/encode.ts). The quantizer uses it twice:
// for the float model with extra outputs it calibrates with, and for the QDQ model it emits and compiles.

import onnxProto from 'onnx-proto';
import { CompileError } from '../errors.js';
import { encodeModel, float, floats, type AttrSpec, type NodeSpec } from '../onnx/encode.js';
import { isGraphAttr, type AttrValue, type Graph, type Tensor } from '../ir/graph.js';

const { onnx } = onnxProto;

/**
 * The IR keeps attribute numbers as JS numbers, so 1.0 and 1 look alike: the model's own attribute types (by node
 * name) say which are FLOAT; for nodes a pass made, these names are FLOAT in every standard op that has them.
 */
const FLOAT_ATTRS = new Set(['alpha', 'beta', 'gamma', 'epsilon', 'momentum', 'lambd', 'bias', 'spatial_scale', 'extrapolation_value', 'cubic_coeff_a', 'ratio', 'scale', 'value_float', 'value_floats', 'min', 'max']);

export type AttrTypes = Map<string, Map<string, 'float' | 'floats'>>;

/** Node name -> attribute name -> 'float' | 'floats', read from the model's protobuf. */
export function readAttrTypes(bytes: Uint8Array): AttrTypes {
  const T = onnx.AttributeProto.AttributeType;
  const types: AttrTypes = new Map();
  const model = onnx.ModelProto.decode(bytes);
  (model.graph?.node ?? []).forEach((n, i) => {
    const m = new Map<string, 'float' | 'floats'>();
    for (const a of n.attribute ?? []) {
      if (a.type === T.FLOAT) m.set(a.name!, 'float');
      else if (a.type === T.FLOATS) m.set(a.name!, 'floats');
    }
    if (m.size) types.set(n.name || `${n.opType}_${i}`, m);
  });
  return types;
}

function attrSpec(node: string, op: string, name: string, v: AttrValue, types: AttrTypes): AttrSpec | undefined {
  const known = types.get(node)?.get(name);
  const isFloat = known === 'float' || known === 'floats' || (!types.has(node) && FLOAT_ATTRS.has(name));
  if (typeof v === 'number') return isFloat ? float(v) : v;
  if (Array.isArray(v)) {
    if (!v.length) return undefined; // an empty list is the attribute's default
    if (v.every((x) => typeof x === 'number')) return isFloat ? floats(v as number[]) : (v as number[]);
    if (v.every((x) => typeof x === 'string')) return v as string[];
  } else if (typeof v === 'string') return v;
  else if (!isGraphAttr(v)) return v as Tensor;
  throw new CompileError('BAD_OPTION', `int8: node "${node}" (${op}) has a sub-graph or tensor-list attribute "${name}", which the quantizer cannot write`);
}

/** The graph as an ONNX model; `extraOutputs` become graph outputs too (to observe intermediate tensors). */
export function writeOnnx(graph: Graph, types: AttrTypes, extraOutputs: string[] = [], opset = graph.opset): Uint8Array {
  const used = new Set<string>([...graph.outputs, ...extraOutputs]);
  for (const n of graph.nodes) for (const i of n.inputs) if (i) used.add(i);
  const initializers: Record<string, Tensor> = {};
  for (const name of used) {
    const c = graph.values.get(name)?.const;
    if (c) initializers[name] = c;
  }
  const nodes: NodeSpec[] = graph.nodes.map((n) => {
    if (n.captured) throw new CompileError('BAD_OPTION', `int8: node "${n.name}" (${n.opType}) has a sub-graph; models with control flow cannot be quantized`);
    const attrs: Record<string, AttrSpec> = {};
    for (const [k, v] of Object.entries(n.attrs)) {
      if (k.startsWith('_')) continue; // the passes' private notes, not ONNX attributes
      const spec = attrSpec(n.name, n.opType, k, v, types);
      if (spec !== undefined) attrs[k] = spec;
    }
    return { op: n.opType, inputs: n.inputs, outputs: n.outputs, attrs, name: n.name, domain: n.domain };
  });
  const io = (name: string) => {
    const v = graph.values.get(name)!;
    return { name, dtype: v.dtype, shape: v.shape };
  };
  return encodeModel({
    opset,
    inputs: graph.inputs.map(io),
    outputs: [...graph.outputs, ...extraOutputs.filter((o) => !graph.outputs.includes(o))].map(io),
    nodes,
    initializers,
  });
}
