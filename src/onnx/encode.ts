// A small ONNX model builder (IR -> ModelProto bytes): used by tests to make single-op graphs and by the
// benchmark suite to write standard architectures with seeded weights.

import onnxProto from 'onnx-proto';
import { DTYPE_CODE, type DType } from '../ir/dtype.js';
import type { Dim, Tensor } from '../ir/graph.js';

const { onnx } = onnxProto;

/** Attribute values: integers become INT, other numbers FLOAT; use float() to force FLOAT for whole numbers. */
export type AttrSpec = number | string | number[] | string[] | Tensor | { float: number } | { floats: number[] } | { graph: GraphSpec };
export const float = (v: number) => ({ float: v });
export const floats = (v: number[]) => ({ floats: v });

export interface NodeSpec {
  op: string;
  inputs: string[];
  outputs: string[];
  attrs?: Record<string, AttrSpec>;
  name?: string;
  domain?: string;
}

export interface ValueSpec { name: string; dtype: DType; shape: Dim[] }

/** A sub-graph (If branch, Loop/Scan body): its inputs and outputs may leave dtype and shape out. */
export interface GraphSpec {
  name?: string;
  inputs: { name: string; dtype?: DType; shape?: Dim[] }[];
  outputs: { name: string; dtype?: DType; shape?: Dim[] }[];
  nodes: NodeSpec[];
  initializers?: Record<string, Tensor>;
}
export const graph = (g: GraphSpec) => ({ graph: g });

export interface ModelSpec {
  opset?: number;
  inputs: ValueSpec[];
  /** Output dtype/shape are optional (the compiler infers them). */
  outputs: (ValueSpec | { name: string; dtype?: DType; shape?: Dim[] })[];
  nodes: NodeSpec[];
  initializers?: Record<string, Tensor>;
  /** Write initializers into the typed fields (float_data, int64_data, ...) instead of raw_data. */
  typedFields?: boolean;
  /** Store initializers of at least this many bytes in this side file (external data). */
  externalData?: { location: string; minBytes?: number; sink: (bytes: Uint8Array) => void };
}

function tensorProto(name: string, t: Tensor, external?: { location: string; offset: number }, typed = false): onnxProto.onnx.TensorProto {
  const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
  const tp = onnx.TensorProto.create({ name, dims: t.shape, dataType: DTYPE_CODE[t.dtype] });
  if (typed) {
    const values = Array.from(t.data as ArrayLike<number | bigint>);
    switch (t.dtype) {
      case 'float32': tp.floatData = values as number[]; break;
      case 'float64': tp.doubleData = values as number[]; break;
      case 'int64': tp.int64Data = values.map((v) => Number(v)); break;
      case 'uint32': case 'uint64': tp.uint64Data = values.map((v) => Number(v)); break;
      default: tp.int32Data = values.map((v) => Number(v));
    }
  } else if (external) {
    tp.dataLocation = onnx.TensorProto.DataLocation.EXTERNAL;
    tp.externalData = [
      { key: 'location', value: external.location },
      { key: 'offset', value: String(external.offset) },
      { key: 'length', value: String(raw.length) },
    ].map((e) => onnx.StringStringEntryProto.create(e));
  } else tp.rawData = raw.slice();
  return tp;
}

function valueInfo(v: { name: string; dtype?: DType; shape?: Dim[] }): onnxProto.onnx.ValueInfoProto {
  if (!v.dtype) return onnx.ValueInfoProto.create({ name: v.name });
  return onnx.ValueInfoProto.create({
    name: v.name,
    type: {
      tensorType: {
        elemType: DTYPE_CODE[v.dtype],
        shape: v.shape ? { dim: v.shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d ?? 'unk' })) } : undefined,
      },
    },
  });
}

function attrProto(name: string, v: AttrSpec): onnxProto.onnx.AttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  const a = onnx.AttributeProto.create({ name });
  if (typeof v === 'number') {
    if (Number.isInteger(v)) { a.type = T.INT; a.i = v; } else { a.type = T.FLOAT; a.f = v; }
  } else if (typeof v === 'string') { a.type = T.STRING; a.s = new TextEncoder().encode(v); }
  else if (Array.isArray(v)) {
    if (v.every((x) => typeof x === 'string')) { a.type = T.STRINGS; a.strings = (v as string[]).map((s) => new TextEncoder().encode(s)); }
    else if ((v as number[]).every((x) => Number.isInteger(x))) { a.type = T.INTS; a.ints = v as number[]; }
    else { a.type = T.FLOATS; a.floats = v as number[]; }
  } else if ('float' in v) { a.type = T.FLOAT; a.f = v.float; }
  else if ('floats' in v) { a.type = T.FLOATS; a.floats = v.floats; }
  else if ('graph' in v) { a.type = T.GRAPH; a.g = graphProto(v.graph, v.graph.name ?? name, Object.entries(v.graph.initializers ?? {}).map(([n, t]) => tensorProto(n, t))); }
  else { a.type = T.TENSOR; a.t = tensorProto('', v as Tensor); }
  return a;
}

function graphProto(spec: GraphSpec, name: string, initializer: onnxProto.onnx.TensorProto[]): onnxProto.onnx.GraphProto {
  return onnx.GraphProto.create({
    name,
    node: spec.nodes.map((n, i) => onnx.NodeProto.create({
      name: n.name ?? `${n.op}_${i}`,
      opType: n.op,
      domain: n.domain ?? '',
      input: n.inputs,
      output: n.outputs,
      attribute: Object.entries(n.attrs ?? {}).map(([k, v]) => attrProto(k, v)),
    })),
    input: spec.inputs.map(valueInfo),
    output: spec.outputs.map(valueInfo),
    initializer,
  });
}

export function encodeModel(spec: ModelSpec): Uint8Array {
  const ext = spec.externalData;
  const sideChunks: Uint8Array[] = [];
  let sideOffset = 0;
  const initializer = Object.entries(spec.initializers ?? {}).map(([name, t]) => {
    if (ext && t.data.byteLength >= (ext.minBytes ?? 0)) {
      const raw = new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength);
      const tp = tensorProto(name, t, { location: ext.location, offset: sideOffset });
      sideChunks.push(raw);
      sideOffset += raw.length;
      return tp;
    }
    return tensorProto(name, t, undefined, spec.typedFields);
  });
  if (ext) {
    const all = new Uint8Array(sideOffset);
    let at = 0;
    for (const c of sideChunks) { all.set(c, at); at += c.length; }
    ext.sink(all);
  }
  const graph = graphProto(spec, 'g', initializer);
  const model = onnx.ModelProto.create({
    irVersion: 8,
    producerName: 'onnx2wasm-builder',
    // Nodes of other domains (com.microsoft) import version 1 of their domain.
    opsetImport: [onnx.OperatorSetIdProto.create({ domain: '', version: spec.opset ?? 17 }),
      ...[...new Set(spec.nodes.map((n) => n.domain ?? '').filter((d) => d && d !== 'ai.onnx'))].map((domain) => onnx.OperatorSetIdProto.create({ domain, version: 1 }))],
    graph,
  });
  return onnx.ModelProto.encode(model).finish();
}
