// Fusions around the int8 lookup tables (QLinearLookup, made by the QDQ lowering), run on the lowered graph before
// lookups move into convolution epilogues (lower-qdq.ts). Each is exact: a fused table is the replaced pipeline
// evaluated on all 256 input bytes with the kernels' own arithmetic.
//  - one-variable binaries: a QLinearAdd / QLinearMul whose two operands are functions of one int8 tensor x (x
//    itself or a lookup of it, all of one shape), such as SiLU's x * sigmoid(x), becomes one table of x;
//  - a non-decreasing table after a MaxPool (a requantization) moves before it when the pool's input comes from a
//    lookup used only there, where the two tables compose (max(T(a), T(b)) = T(max(a, b)));
//  - a QLinearConcat input quantized unlike the output, produced by a convolution or lookup used only there,
//    gets its requantization as a lookup of its own, which fuses into that producer; the concat then copies bytes;
//  - lookup chains: T2(T1(x)) is the table T2[T1[b]].

import { INTERNAL_DOMAIN } from '../../ops/internal-domain.js';
import { lookupTable, valueOf } from '../../ops/qlinear-lookup.js';
import { dequantize, quantize, type QParam } from '../../ops/qparams.js';
import type { DType } from '../ir/dtype.js';
import { makeTensor, numel, type Graph, type Node, type Tensor } from '../ir/graph.js';
import { eliminateDeadCode } from './infer.js';

/** A lookup's output quantization, and its op's alpha when it is a LeakyRelu (lower-qdq.ts fuses it into a conv). */
export interface LutOutput { q: QParam; alpha?: number }

const isLookup = (n: Node | undefined): boolean => !!n && n.opType === 'QLinearLookup' && n.domain === INTERNAL_DOMAIN;
/** Input bytes in value order (int8: -128 .. 127). */
const bytesInOrder = (dt: DType) => Array.from({ length: 256 }, (_, i) => (dt === 'int8' ? (i + 128) & 255 : i));

export function fuseInt8Lookups(graph: Graph, lutOutput: Map<Node, LutOutput>): void {
  let counter = 0;
  const fresh = (base: string) => `${base}__lut${counter++}`;
  const tableOf = (n: Node): Uint8Array => {
    const t = graph.values.get(n.inputs[1])!.const!;
    return new Uint8Array(t.data.buffer, t.data.byteOffset, 256);
  };
  const addTable = (base: string, dtype: DType, bytes: Uint8Array): string => {
    const name = fresh(`${base}_table`);
    const t: Tensor = makeTensor(dtype, [256], dtype === 'int8' ? new Int8Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + 256)) : Uint8Array.from(bytes));
    graph.values.set(name, { name, dtype, shape: [256], const: t });
    return name;
  };
  const lookupNode = (origin: Node, x: string, table: string, y: string, q: QParam | undefined): Node => {
    const n: Node = { name: fresh(`${origin.name || y}/lut`), opType: 'QLinearLookup', domain: INTERNAL_DOMAIN, inputs: [x, table], outputs: [y], attrs: {}, origin: origin.origin ?? origin.name };
    if (q) lutOutput.set(n, { q });
    return n;
  };
  /** Per-tensor constant parameters of a QLinear op's tensor (scale at input s, zero point at z; '' is 0). */
  const qOf = (n: Node, s: number, z: number, dtype: DType): QParam | undefined => {
    const sv = graph.values.get(n.inputs[s])?.const;
    const zv = n.inputs[z] ? graph.values.get(n.inputs[z])?.const : undefined;
    if (!sv || sv.dtype !== 'float32' || numel(sv.shape) !== 1 || (n.inputs[z] && (!zv || numel(zv.shape) !== 1))) return undefined;
    const scale = Number(sv.data[0]);
    if (!(scale > 0) || !Number.isFinite(scale)) return undefined;
    return { scale, zp: zv ? Number(zv.data[0]) : 0, dtype };
  };

  let producer = new Map<string, Node>();
  let uses = new Map<string, number>();
  /** Producers and use counts of the live graph (the lowering leaves dead DequantizeLinear and lookup nodes). */
  const index = () => {
    eliminateDeadCode(graph);
    producer = new Map();
    uses = new Map();
    for (const n of graph.nodes) {
      for (const o of n.outputs) if (o) producer.set(o, n);
      for (const i of n.inputs) if (i) uses.set(i, (uses.get(i) ?? 0) + 1);
    }
  };
  /** Used by exactly one input of one node, and not a graph output. */
  const soleUse = (name: string) => uses.get(name) === 1 && !graph.outputs.includes(name);
  const dtypeOf = (name: string) => graph.values.get(name)!.dtype;
  const shapeOf = (name: string) => graph.values.get(name)?.shape.join('x');

  // one-variable binaries -> a lookup of the variable
  index();
  graph.nodes = graph.nodes.map((n) => {
    if (n.domain !== 'com.microsoft' || (n.opType !== 'QLinearAdd' && n.opType !== 'QLinearMul')) return n;
    const [a, b, y] = [n.inputs[0], n.inputs[3], n.outputs[0]];
    const root = (name: string) => { const p = producer.get(name); return isLookup(p) ? { x: p!.inputs[0], table: tableOf(p!) } : { x: name, table: undefined }; };
    const ra = root(a), rb = root(b);
    if (ra.x !== rb.x || shapeOf(a) !== shapeOf(y) || shapeOf(b) !== shapeOf(y) || shapeOf(ra.x) !== shapeOf(y)) return n;
    const pa = qOf(n, 1, 2, dtypeOf(a)), pb = qOf(n, 4, 5, dtypeOf(b)), pc = qOf(n, 6, 7, dtypeOf(y));
    const xt = dtypeOf(ra.x);
    if (!pa || !pb || !pc || (xt !== 'int8' && xt !== 'uint8')) return n;
    const operand = (r: typeof ra, p: QParam, byte: number) => dequantize(valueOf(r.table ? r.table[byte] : byte, p.dtype), p);
    const table = new Uint8Array(256);
    for (let byte = 0; byte < 256; byte++) {
      const fa = operand(ra, pa, byte), fb = operand(rb, pb, byte);
      table[byte] = quantize(n.opType === 'QLinearAdd' ? Math.fround(fa + fb) : Math.fround(fa * fb), pc) & 255;
    }
    return lookupNode(n, ra.x, addTable(n.name || y, pc.dtype, table), y, pc);
  });

  // a non-decreasing table after a MaxPool whose input a lookup makes for it alone: the table moves before the pool
  index();
  const moved = new Map<Node, Node[]>();
  graph.nodes = graph.nodes.flatMap((n) => {
    if (!isLookup(n)) return [n];
    const pool = producer.get(n.inputs[0]);
    if (!pool || pool.opType !== 'MaxPool' || pool.domain !== '' || pool.outputs.filter(Boolean).length !== 1 || !soleUse(n.inputs[0])) return [n];
    const src = producer.get(pool.inputs[0]);
    if (!isLookup(src) || !soleUse(pool.inputs[0])) return [n];
    const table = tableOf(n), inDt = dtypeOf(n.inputs[0]), outDt = dtypeOf(n.outputs[0]);
    const order = bytesInOrder(inDt).map((byte) => valueOf(table[byte], outDt));
    if (order.some((v, i) => i > 0 && v < order[i - 1])) return [n];
    // src -> lut(T) -> pool, the pool now on T's type; the old lookup node goes (its output is the pool's)
    const mid = fresh(pool.inputs[0]);
    graph.values.set(mid, { name: mid, dtype: outDt, shape: [...graph.values.get(pool.inputs[0])!.shape] });
    const lut = lookupNode(n, pool.inputs[0], n.inputs[1], mid, lutOutput.get(n)?.q);
    moved.set(pool, [lut, { ...pool, inputs: [mid, ...pool.inputs.slice(1)], outputs: [n.outputs[0]] }]);
    return [];
  }).flatMap((n) => moved.get(n) ?? [n]);

  // a concat input quantized unlike the output, made for it alone by a conv or lookup: its own requantizing lookup
  index();
  graph.nodes = graph.nodes.flatMap((n) => {
    if (n.opType !== 'QLinearConcat' || n.domain !== 'com.microsoft' || (n.inputs.length - 2) % 3 !== 0) return [n];
    const x0 = n.inputs[2];
    const py = x0 ? qOf(n, 0, 1, dtypeOf(x0)) : undefined;
    if (!py) return [n];
    const before: Node[] = [];
    const inputs = [...n.inputs];
    for (let i = 2; i < inputs.length; i += 3) {
      const x = inputs[i], px = x ? qOf(n, i + 1, i + 2, dtypeOf(x)) : undefined;
      if (!x || !px || (px.scale === py.scale && px.zp === py.zp) || !soleUse(x)) continue;
      const p = producer.get(x);
      if (!isLookup(p) && !(p && p.opType === 'QLinearConv' && p.domain === '')) continue;
      const requant = lookupTable(px.scale, px.zp, px.dtype, py.scale, py.zp, py.dtype, (v) => v);
      const y = fresh(x);
      graph.values.set(y, { name: y, dtype: py.dtype, shape: [...graph.values.get(x)!.shape] });
      before.push(lookupNode(n, x, addTable(n.name || x, py.dtype, requant), y, py));
      inputs.splice(i, 3, y, n.inputs[0], n.inputs[1]);
    }
    return [...before, { ...n, inputs }];
  });

  // lookup chains: a lookup of a lookup reads the first one's input through the composed table
  index();
  for (const n of graph.nodes) {
    const p = producer.get(n.inputs[0]);
    if (!isLookup(n) || !isLookup(p)) continue;
    const first = tableOf(p!), second = tableOf(n);
    const composed = Uint8Array.from(first, (b) => second[b]);
    n.inputs = [p!.inputs[0], addTable(n.name, dtypeOf(n.outputs[0]), composed)];
    // the composed table is no longer the LeakyRelu the lowering recorded
    const q = lutOutput.get(n)?.q;
    if (q) lutOutput.set(n, { q });
  }
}
