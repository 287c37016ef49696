// The graph IR: every value has a dtype and (after inference) a static shape; constants carry their data.

import { ARRAY_OF, DTYPE_SIZE, readNumber, type DType, type TypedArray } from './dtype.js';

export type Shape = number[];
/** A dimension that is not yet known: a symbolic name (from the model) or null (unknown). */
export type Dim = number | string | null;

export interface Tensor {
  dtype: DType;
  shape: Shape;
  data: TypedArray;
}

export function makeTensor(dtype: DType, shape: Shape, data?: TypedArray): Tensor {
  const n = numel(shape);
  const arr = data ?? new ARRAY_OF[dtype](n);
  if (arr.length !== n) throw new Error(`tensor data has ${arr.length} elements, shape ${fmtShape(shape)} needs ${n}`);
  return { dtype, shape: [...shape], data: arr };
}

/** The tensor's elements as JS numbers (int64 converted; fine for shape-like values). */
export function tensorNumbers(t: Tensor): number[] {
  const out = new Array<number>(t.data.length);
  for (let i = 0; i < out.length; i++) out[i] = readNumber(t.dtype, t.data, i);
  return out;
}

export const numel = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);
export const byteSize = (dtype: DType, shape: readonly number[]) => numel(shape) * DTYPE_SIZE[dtype];
export const fmtShape = (shape: readonly Dim[]) => (shape.length ? shape.map((d) => d ?? '?').join('x') : 'scalar');

/** Row-major strides in elements. */
export function stridesOf(shape: readonly number[]): number[] {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i];
  }
  return s;
}

export type AttrValue = number | string | number[] | string[] | Tensor | Tensor[] | GraphAttr;
/** A sub-graph attribute (If branches, Loop and Scan bodies), decoded whole. */
export interface GraphAttr { kind: 'graph'; name: string; graph: Graph }

export function isGraphAttr(v: AttrValue | undefined): v is GraphAttr {
  return typeof v === 'object' && v !== null && !Array.isArray(v) && (v as GraphAttr).kind === 'graph';
}

export interface Node {
  name: string;
  opType: string;
  domain: string;
  /** '' marks an omitted optional input. */
  inputs: string[];
  outputs: string[];
  attrs: Record<string, AttrValue>;
  /** Name of the model node this one came from, when a pass created it (reports map back to layers). */
  origin?: string;
  /**
   * For nodes with sub-graphs: how many of the last inputs are outer-scope values the sub-graphs read (appended
   * by the decoder so that ordering and dead-code elimination see them).
   */
  captured?: number;
}

export interface Value {
  name: string;
  dtype: DType;
  /** Static after inference; before inference it may hold symbolic or unknown dims. */
  shape: Dim[];
  /** Set for initializers and folded constants. */
  const?: Tensor;
  /** A data-dependent value: shape holds upper bounds, one axis is known only at run time. */
  bounded?: Bounded;
  /** A graph input whose declared type has no shape at all: its rank too must be given (`shapes`). */
  rankUnknown?: boolean;
}

/**
 * A data-dependent extent: `axis` is known only at run time; `root` is the value whose kernel decided it (values
 * computed row by row from it share its count); `zeroTail`: the rows past the count are zeros.
 */
export interface Bounded { axis: number; root: string; zeroTail: boolean }

export interface Graph {
  /** Default-domain opset version: decides each operator's semantics. */
  opset: number;
  /** Other domains the model imports, with their versions. */
  imports: Record<string, number>;
  inputs: string[];
  outputs: string[];
  nodes: Node[];
  values: Map<string, Value>;
  name: string;
  /** Inputs that take an 8-bit frame (the image-input pass), with its pixel format: noted in the manifest. */
  imageInputs?: Record<string, 'RGBA' | 'RGB' | 'GRAY'>;
}

export function staticShape(v: Value): Shape {
  for (const d of v.shape) if (typeof d !== 'number') throw new Error(`value ${v.name} has a non-static shape ${fmtShape(v.shape)}`);
  return v.shape as Shape;
}

export function isStatic(shape: readonly Dim[]): shape is Shape {
  return shape.every((d) => typeof d === 'number');
}

/** Consumers of each value name, in node order. */
export function consumers(graph: Graph): Map<string, Node[]> {
  const m = new Map<string, Node[]>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i) (m.get(i) ?? m.set(i, []).get(i)!).push(n);
  return m;
}

/**
 * Names a (sub-)graph reads but does not define: outer-scope values. Nested sub-graphs' reads are already among
 * their nodes' inputs (the decoder appends them), so one level suffices.
 */
export function freeNames(graph: Graph): string[] {
  const defined = new Set<string>(graph.inputs);
  for (const [name, v] of graph.values) if (v.const) defined.add(name);
  for (const n of graph.nodes) for (const o of n.outputs) if (o) defined.add(o);
  const free = new Set<string>();
  for (const n of graph.nodes) for (const i of n.inputs) if (i && !defined.has(i)) free.add(i);
  for (const o of graph.outputs) if (!defined.has(o)) free.add(o);
  return [...free];
}
