// ModelProto bytes -> graph IR. Reads initializers from raw_data, the typed fields, or external files.

import { readFileSync, openSync, readSync, closeSync, fstatSync, realpathSync, constants as fsConstants } from 'node:fs';
import { resolve as resolvePath, isAbsolute, normalize, sep } from 'node:path';
import onnxProto from 'onnx-proto';
import { CompileError } from '../errors.js';
import { ARRAY_OF, DTYPE_SIZE, ONNX_DTYPE, ONNX_UNSUPPORTED_DTYPE, type DType, type TypedArray } from '../ir/dtype.js';
import { checkedElements } from '../ir/limits.js';
import { freeNames, isGraphAttr, makeTensor, numel, type AttrValue, type Dim, type Graph, type Node, type Tensor, type Value } from '../ir/graph.js';

const { onnx } = onnxProto;
type Long = { toNumber(): number } | number;
const num = (v: Long | null | undefined): number => (v == null ? 0 : typeof v === 'number' ? v : v.toNumber());

export interface DecodeOptions {
  /** Folder that external-data locations are relative to (the model file's folder). */
  baseDir?: string;
}

export function decodeModel(bytes: Uint8Array, opts: DecodeOptions = {}): Graph {
  let model: onnxProto.onnx.ModelProto;
  try {
    model = onnx.ModelProto.decode(bytes);
  } catch (e) {
    throw new CompileError('NOT_ONNX', `not an ONNX model: the protobuf cannot be decoded (${(e as Error).message}); is the file truncated?`);
  }
  if (!model.graph || num(model.irVersion) <= 0 || !model.opsetImport?.length) {
    throw new CompileError('NOT_ONNX', 'not an ONNX model: no graph, IR version or opset import found');
  }
  let opset = 0;
  const imports: Record<string, number> = {};
  for (const imp of model.opsetImport) {
    const domain = imp.domain ?? '';
    const version = num(imp.version);
    if (domain === '' || domain === 'ai.onnx') opset = version;
    else imports[domain] = version;
  }
  if (!opset) opset = 1;
  return decodeGraph(model.graph, opset, imports, opts);
}

function decodeGraph(g: onnxProto.onnx.IGraphProto, opset: number, imports: Record<string, number>, opts: DecodeOptions, sub = false): Graph {
  const values = new Map<string, Value>();
  const define = (name: string, v: Value, what: string) => {
    if (!name) throw new CompileError('INVALID_MODEL', `the graph has ${what} without a name`);
    if (values.has(name)) throw new CompileError('INVALID_MODEL', `the graph defines "${name}" twice (${what} with the name of an earlier initializer or input)`);
    values.set(name, v);
  };
  for (const init of g.initializer ?? []) {
    const t = decodeTensor(init, opts);
    define(init.name ?? '', { name: init.name!, dtype: t.dtype, shape: [...t.shape], const: t }, 'an initializer');
  }
  for (const sp of g.sparseInitializer ?? []) {
    const t = decodeSparse(sp, opts);
    const name = sp.values!.name ?? '';
    define(name, { name, dtype: t.dtype, shape: [...t.shape], const: t }, 'a sparse initializer');
  }
  const inputs: string[] = [];
  for (const vi of g.input ?? []) {
    const name = vi.name ?? '';
    if (inputs.includes(name)) throw new CompileError('INVALID_MODEL', `the graph lists input "${name}" twice`);
    if (values.get(name)?.const) continue; // an initializer listed as input (IR < 4): a constant
    // A sub-graph's inputs take their types from the outer node (their declarations may be partial).
    define(name, decodeSubgraphInput(vi, sub), 'an input');
    inputs.push(name);
  }
  const outputs: string[] = [];
  for (const vi of g.output ?? []) {
    outputs.push(vi.name!);
    if (!values.has(vi.name!)) {
      const v = decodeValueInfo(vi, true);
      values.set(vi.name!, v);
    }
  }
  const nodes: Node[] = (g.node ?? []).map((n, i) => {
    const node: Node = {
      name: n.name || `${n.opType}_${i}`,
      opType: n.opType ?? '',
      domain: n.domain === 'ai.onnx' ? '' : (n.domain ?? ''),
      inputs: [...(n.input ?? [])],
      outputs: [...(n.output ?? [])],
      attrs: decodeAttrs(n.attribute ?? [], opts, opset, imports),
    };
    // Outer-scope values the sub-graphs read become trailing inputs, so that ordering and liveness see them.
    const captured = new Set<string>();
    for (const a of Object.values(node.attrs)) if (isGraphAttr(a)) for (const name of freeNames(a.graph)) captured.add(name);
    if (captured.size) {
      node.inputs.push(...captured);
      node.captured = captured.size;
    }
    return node;
  });
  return { opset, imports, inputs, outputs, nodes, values, name: g.name ?? 'graph' };
}

function decodeSubgraphInput(vi: onnxProto.onnx.IValueInfoProto, sub: boolean): Value {
  // Untyped is fine in a sub-graph; sequences, optionals and maps are not.
  if (!sub || (vi.type && !vi.type.tensorType)) return decodeValueInfo(vi);
  const v = decodeValueInfo(vi, true);
  return vi.type?.tensorType ? v : { ...v, shape: [null] };
}

/** Graph outputs keep the declared dtype only as a hint; inference decides. */
function decodeValueInfo(vi: onnxProto.onnx.IValueInfoProto, lenient = false): Value {
  const tt = vi.type?.tensorType;
  if (!tt) {
    if (lenient) return { name: vi.name!, dtype: 'float32', shape: [] };
    const kind = vi.type?.sequenceType ? 'a sequence' : vi.type?.optionalType ? 'an optional' : vi.type?.mapType ? 'a map' : 'not a tensor';
    throw new CompileError('UNSUPPORTED_DTYPE', `input "${vi.name}" is ${kind}: only tensor inputs are supported`);
  }
  const code = tt.elemType ?? 0;
  const dtype = ONNX_DTYPE[code];
  if (!dtype) {
    if (lenient) return { name: vi.name!, dtype: 'float32', shape: [] };
    throw new CompileError('UNSUPPORTED_DTYPE', `input "${vi.name}" has element type ${ONNX_UNSUPPORTED_DTYPE[code] ?? code}, which is not supported`);
  }
  // No shape at all is an unknown rank (not a scalar): the user must give one.
  if (!tt.shape && !lenient) return { name: vi.name!, dtype, shape: [], rankUnknown: true };
  // dim_value and dim_param are a oneof: a dim_value of 0 that was set is a real (empty) dimension.
  const shape: Dim[] = (tt.shape?.dim ?? []).map((d) => {
    const which = (d as { value?: string }).value;
    if (which === 'dimValue' || (d.dimValue != null && num(d.dimValue) !== 0)) {
      const v = num(d.dimValue);
      if (!Number.isSafeInteger(v) || v < 0) {
        if (lenient) return null; // a declared output shape is only a hint
        throw new CompileError('INVALID_MODEL', `input "${vi.name}" has an invalid dimension ${v}: dimensions are non-negative integers`);
      }
      return v;
    }
    return d.dimParam ? d.dimParam : null;
  });
  return { name: vi.name!, dtype, shape };
}

function decodeAttrs(attrs: onnxProto.onnx.IAttributeProto[], opts: DecodeOptions, opset: number, imports: Record<string, number>): Record<string, AttrValue> {
  const out: Record<string, AttrValue> = {};
  const T = onnx.AttributeProto.AttributeType;
  for (const a of attrs) {
    const name = a.name!;
    const need = <T>(v: T | null | undefined, kind: string): T => {
      if (v == null) throw new CompileError('INVALID_MODEL', `attribute "${name}" is of type ${kind} but holds none`);
      return v;
    };
    switch (a.type) {
      case T.FLOAT: out[name] = a.f ?? 0; break;
      case T.INT: out[name] = num(a.i); break;
      case T.STRING: out[name] = new TextDecoder().decode(a.s ?? new Uint8Array()); break;
      case T.TENSOR: out[name] = decodeTensor(need(a.t, 'TENSOR'), opts); break;
      case T.FLOATS: out[name] = [...(a.floats ?? [])]; break;
      case T.INTS: out[name] = (a.ints ?? []).map(num); break;
      case T.STRINGS: out[name] = (a.strings ?? []).map((s) => new TextDecoder().decode(s)); break;
      case T.TENSORS: out[name] = (a.tensors ?? []).map((t) => decodeTensor(t, opts)); break;
      case T.GRAPH: out[name] = { kind: 'graph', name: a.g?.name ?? name, graph: decodeGraph(a.g ?? {}, opset, imports, opts, true) }; break;
      case T.GRAPHS: throw new CompileError('UNSUPPORTED_DTYPE', `attribute ${name} is a list of graphs, which is not supported`);
      case T.SPARSE_TENSOR: out[name] = decodeSparse(need(a.sparseTensor, 'SPARSE_TENSOR'), opts); break;
      default:
        // Older exporters omit `type`: infer it from which field is set.
        if (a.ints?.length) out[name] = a.ints.map(num);
        else if (a.floats?.length) out[name] = [...a.floats];
        else if (a.t) out[name] = decodeTensor(a.t, opts);
        else if (a.s?.length) out[name] = new TextDecoder().decode(a.s);
        else if (a.f) out[name] = a.f;
        else out[name] = num(a.i);
    }
  }
  return out;
}

export function decodeTensor(t: onnxProto.onnx.ITensorProto, opts: DecodeOptions = {}): Tensor {
  const code = t.dataType ?? 0;
  const dtype = ONNX_DTYPE[code];
  if (!dtype) {
    throw new CompileError('UNSUPPORTED_DTYPE', `tensor "${t.name}" has element type ${ONNX_UNSUPPORTED_DTYPE[code] ?? code}, which is not supported`);
  }
  const shape = (t.dims ?? []).map(num);
  // Sizes first: the shape is the model's claim, checked before anything of that size is allocated.
  const n = checkedElements(dtype, shape, { what: `tensor "${t.name}"` });
  const bytes = n * DTYPE_SIZE[dtype];
  let raw: Uint8Array | undefined;
  if (t.dataLocation === onnx.TensorProto.DataLocation.EXTERNAL) raw = readExternal(t, bytes, opts);
  else if (t.rawData && t.rawData.length) raw = t.rawData;
  if (raw) {
    if (raw.length < bytes) throw new CompileError('INVALID_MODEL', `tensor "${t.name}" holds ${raw.length} bytes, its shape needs ${bytes}`);
    // Copy into an aligned buffer: raw_data may sit at any offset of the file.
    const copy = new Uint8Array(bytes);
    copy.set(raw.subarray(0, bytes));
    return makeTensor(dtype, shape, new ARRAY_OF[dtype](copy.buffer, 0, n));
  }
  return makeTensor(dtype, shape, typedFieldData(t, dtype, n));
}

function typedFieldData(t: onnxProto.onnx.ITensorProto, dtype: DType, n: number): TypedArray {
  const src: ArrayLike<Long> =
    dtype === 'float32' ? t.floatData ?? [] :
    dtype === 'float64' ? t.doubleData ?? [] :
    dtype === 'int64' ? t.int64Data ?? [] :
    dtype === 'uint32' || dtype === 'uint64' ? t.uint64Data ?? [] :
    t.int32Data ?? [];
  if (src.length !== n && !(n === 0)) {
    throw new CompileError('INVALID_MODEL', `tensor "${t.name}" holds ${src.length} values, its shape needs ${n}`);
  }
  const out = new ARRAY_OF[dtype](n);
  for (let i = 0; i < n; i++) {
    const v = src[i];
    if (dtype === 'int64' || dtype === 'uint64') {
      // Long objects keep all 64 bits; go through their string form.
      const big = typeof v === 'number' ? BigInt(v) : BigInt((v as { toString(): string }).toString());
      out[i] = dtype === 'int64' ? BigInt.asIntN(64, big) : BigInt.asUintN(64, big);
    } else out[i] = num(v);
  }
  return out;
}

/**
 * The `bytes` a tensor needs from its external-data file. The file must resolve (symlinks followed) to a regular
 * file inside the model's folder: a model from elsewhere must not read other files into the module, nor block
 * on a FIFO or device. Offset and length are checked against the file before anything is allocated.
 */
function readExternal(t: onnxProto.onnx.ITensorProto, bytes: number, opts: DecodeOptions): Uint8Array {
  const info: Record<string, string> = {};
  for (const e of t.externalData ?? []) info[e.key!] = e.value ?? '';
  const loc = info.location;
  const bad = (why: string) => new CompileError('INVALID_MODEL', `tensor "${t.name}": external data ${why}`);
  if (!loc) throw new CompileError('INVALID_MODEL', `tensor "${t.name}" is marked external but names no location`);
  if (isAbsolute(loc) || normalize(loc).startsWith('..')) throw bad(`location "${loc}" must be relative to the model's folder`);
  if (!opts.baseDir) {
    throw new CompileError('FILE', `tensor "${t.name}" has its data in "${loc}": pass the model as a path (or set baseDir) so the side file can be found`);
  }
  const field = (key: string): number | undefined => {
    if (info[key] === undefined) return undefined;
    const v = /^\d+$/.test(info[key]) ? Number(info[key]) : NaN;
    if (!Number.isSafeInteger(v)) throw bad(`${key} "${info[key]}" is not a non-negative integer`);
    return v;
  };
  const offset = field('offset') ?? 0, length = field('length');
  if (length !== undefined && length !== bytes) throw bad(`length ${length} is not the ${bytes} bytes its shape needs`);
  let base: string, path: string;
  try {
    base = realpathSync(opts.baseDir);
    path = realpathSync(resolvePath(base, loc));
  } catch {
    throw new CompileError('FILE', `tensor "${t.name}": external data file ${resolvePath(opts.baseDir, loc)} cannot be read`);
  }
  if (!path.startsWith(base.endsWith(sep) ? base : base + sep)) throw bad(`location "${loc}" resolves to ${path}, outside the model's folder`);
  let fd: number;
  try {
    fd = openSync(path, fsConstants.O_RDONLY | fsConstants.O_NONBLOCK); // a FIFO must not block the open
  } catch {
    throw new CompileError('FILE', `tensor "${t.name}": external data file ${path} cannot be read`);
  }
  try {
    const stat = fstatSync(fd);
    if (!stat.isFile()) throw bad(`location "${loc}" is not a regular file`);
    if (offset + bytes > stat.size) throw bad(`file ${path} (${stat.size} bytes) is shorter than offset ${offset} + ${bytes} bytes`);
    const buf = new Uint8Array(bytes);
    for (let done = 0; done < bytes;) {
      const got = readSync(fd, buf, done, Math.min(bytes - done, 2 ** 30), offset + done);
      if (got <= 0) throw new CompileError('FILE', `tensor "${t.name}": external data file ${path} ended early`);
      done += got;
    }
    return buf;
  } finally {
    closeSync(fd);
  }
}

/** A sparse tensor made dense; its indices are checked against the shape (linear [nnz] or coordinates [nnz, rank]). */
function decodeSparse(sp: onnxProto.onnx.ISparseTensorProto, opts: DecodeOptions): Tensor {
  const name = sp.values?.name ?? '';
  const bad = (why: string) => new CompileError('INVALID_MODEL', `sparse tensor "${name}": ${why}`);
  if (!sp.values || !sp.indices) throw bad(`has no ${sp.values ? 'indices' : 'values'}`);
  const values = decodeTensor(sp.values, opts);
  const indices = decodeTensor(sp.indices, opts);
  const shape = (sp.dims ?? []).map(num);
  const n = checkedElements(values.dtype, shape, { what: `sparse tensor "${name}"` });
  const nnz = values.data.length;
  const rank = shape.length;
  if (values.shape.length !== 1) throw bad(`values must be 1-D, got shape [${values.shape}]`);
  if (indices.dtype !== 'int64') throw bad(`indices must be int64, got ${indices.dtype}`);
  const linear = indices.shape.length === 1;
  if (!(linear ? indices.shape[0] === nnz : indices.shape.length === 2 && indices.shape[0] === nnz && indices.shape[1] === rank)) {
    throw bad(`indices of shape [${indices.shape}] do not fit ${nnz} values of a rank-${rank} tensor ([${nnz}] or [${nnz}, ${rank}])`);
  }
  const idx = Array.from(indices.data as BigInt64Array, Number);
  const dense = makeTensor(values.dtype, shape);
  for (let k = 0; k < nnz; k++) {
    let flat = 0;
    if (linear) flat = idx[k];
    else for (let d = 0; d < rank; d++) {
      const i = idx[k * rank + d];
      if (!(i >= 0 && i < shape[d])) throw bad(`index ${i} of value ${k} is out of range for dimension ${d} of size ${shape[d]}`);
      flat = flat * shape[d] + i;
    }
    if (!(flat >= 0 && flat < n)) throw bad(`index ${flat} of value ${k} is out of range for ${n} elements`);
    (dense.data as Float32Array)[flat] = (values.data as Float32Array)[k];
  }
  return dense;
}

export function readModelFile(path: string): Uint8Array {
  try {
    return new Uint8Array(readFileSync(path));
  } catch (e) {
    throw new CompileError('FILE', `cannot read ${path}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}
