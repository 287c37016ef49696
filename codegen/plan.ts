// Static memory plan: graph inputs and outputs get their own buffers; every other activation lives in one
// arena where buffers whose lifetimes do not overlap share bytes. A kernel's scratch memory is planned the same
// way, as a buffer live only at its node. View ops (Reshape, Squeeze...) alias their
// input's buffer. Placement is greedy best-fit by decreasing size, which lands close to the lower bound
// (the largest sum of simultaneously live buffers), reported alongside.

import { byteSize, type Graph } from '../src/ir/graph.js';
import { lookupOp } from '../ops/index.js';
import { isViewOp } from '../ops/types.js';

export const ALIGN = 16;
export const alignUp = (n: number, a = ALIGN) => Math.ceil(n / a) * a;

export interface Buffer {
  id: number;
  bytes: number;
  /** First and last node index (in graph.nodes) where the buffer is live. */
  first: number;
  last: number;
  kind: 'input' | 'output' | 'arena';
  offset: number; // relative to its region until placed, then absolute
  /** Set when an in-place op took this buffer over: its values live in another buffer. */
  merged?: boolean;
}

export interface MemoryPlan {
  /** value name -> its buffer and the byte offset of the value within it (views share a buffer). */
  bufferOf: Map<string, Buffer>;
  buffers: Buffer[];
  /** node index -> its scratch buffer (nodes whose op declares scratch memory). */
  scratchOf: Map<number, Buffer>;
  inputsStart: number;
  outputsStart: number;
  arenaStart: number;
  arenaBytes: number;
  /** The largest sum of buffer sizes live at one step: no plan can use less arena. */
  arenaLowerBound: number;
  end: number;
}

/** Graph output names whose values must be copied in (they alias a graph input, or another output). */
export function isViewNode(graph: Graph, nodeIndex: number): boolean {
  const n = graph.nodes[nodeIndex];
  const def = lookupOp(n.opType, n.domain, graph.opset);
  if (!isViewOp(def, n)) return false;
  const src = n.inputs[0];
  const srcVal = graph.values.get(src);
  // A graph output needs its own buffer, so a view producing one becomes a copy.
  return !!srcVal && !srcVal.const && !graph.outputs.includes(n.outputs[0]);
}

/** nodeScratch[i]: bytes of scratch memory node i's kernel needs (0: none). */
export function planMemory(graph: Graph, base: number, nodeScratch: number[]): MemoryPlan {
  const buffers: Buffer[] = [];
  const bufferOf = new Map<string, Buffer>();
  const scratchOf = new Map<number, Buffer>();
  const newBuffer = (name: string, kind: Buffer['kind'], first: number): Buffer => {
    const v = graph.values.get(name)!;
    const b: Buffer = { id: buffers.length, bytes: alignUp(Math.max(byteSize(v.dtype, v.shape as number[]), 1)), first, last: first, kind, offset: 0 };
    buffers.push(b);
    bufferOf.set(name, b);
    return b;
  };
  const outputSet = new Set(graph.outputs);
  for (const name of graph.inputs) newBuffer(name, 'input', -1).last = Infinity;
  for (const name of graph.outputs) {
    const v = graph.values.get(name);
    // An output that is also an input is read from the input's buffer; a constant output lives with the weights.
    if (!v || v.const || bufferOf.has(name)) continue;
    newBuffer(name, 'output', -1).last = Infinity;
  }
  graph.nodes.forEach((node, idx) => {
    for (const inp of node.inputs) {
      const b = inp ? bufferOf.get(inp) : undefined;
      if (b) b.last = Math.max(b.last, idx);
    }
    if (isViewNode(graph, idx)) {
      const b = bufferOf.get(node.inputs[0])!;
      bufferOf.set(node.outputs[0], b);
      return;
    }
    for (const out of node.outputs) {
      const written = out ? bufferOf.get(out) : undefined;
      if (written) written.last = Math.max(written.last, idx); // written again (an If output, in the else branch)
      if (!out || bufferOf.has(out) || outputSet.has(out)) continue;
      newBuffer(out, 'arena', idx);
    }
    if (nodeScratch[idx] > 0) {
      const b: Buffer = { id: buffers.length, bytes: alignUp(nodeScratch[idx]), first: idx, last: idx, kind: 'arena', offset: 0 };
      buffers.push(b);
      scratchOf.set(idx, b);
    }
  });

  extendOverRegions(graph, buffers, bufferOf);
  mergeInPlace(graph, bufferOf);

  let cursor = alignUp(base);
  const inputsStart = cursor;
  for (const b of buffers.filter((b) => b.kind === 'input')) { b.offset = cursor; cursor += b.bytes; }
  const outputsStart = cursor;
  for (const b of buffers.filter((b) => b.kind === 'output')) { b.offset = cursor; cursor += b.bytes; }
  const arenaStart = cursor;

  const arena = buffers.filter((b) => b.kind === 'arena' && !b.merged);
  const placed: Buffer[] = [];
  let arenaBytes = 0;
  for (const b of [...arena].sort((x, y) => y.bytes - x.bytes || x.first - y.first)) {
    // Free gaps among placed buffers whose lifetimes overlap b's; take the smallest gap that fits.
    const busy = placed.filter((p) => p.first <= b.last && b.first <= p.last).sort((x, y) => x.offset - y.offset);
    let best = -1, bestGap = Infinity, at = 0;
    for (const p of busy) {
      const gap = p.offset - at;
      if (gap >= b.bytes && gap < bestGap) { best = at; bestGap = gap; }
      at = Math.max(at, p.offset + p.bytes);
    }
    if (best < 0) best = at;
    b.offset = best;
    placed.push(b);
    arenaBytes = Math.max(arenaBytes, best + b.bytes);
  }
  for (const b of arena) b.offset += arenaStart;

  let lowerBound = 0;
  for (let step = 0; step < graph.nodes.length; step++) {
    let live = 0;
    for (const b of arena) if (b.first <= step && step <= b.last) live += b.bytes;
    lowerBound = Math.max(lowerBound, live);
  }
  return { bufferOf, buffers, scratchOf, inputsStart, outputsStart, arenaStart, arenaBytes, arenaLowerBound: lowerBound, end: arenaStart + arenaBytes };
}

/**
 * A control-flow region (If, Loop) may run its nodes many times or not at all: a buffer used both inside a
 * region and outside it stays alive across the whole region (a loop reads outer values and its carried state in
 * every iteration), while buffers used only inside keep their own lifetimes within it.
 */
function extendOverRegions(graph: Graph, buffers: Buffer[], bufferOf: Map<string, Buffer>): void {
  const open: number[] = [];
  const regions: [number, number][] = [];
  graph.nodes.forEach((n, idx) => {
    const r = lookupOp(n.opType, n.domain, graph.opset)?.region;
    if (r === 'open') open.push(idx);
    else if (r === 'close') regions.push([open.pop()!, idx]);
  });
  if (!regions.length) return;
  const touched = new Map<Buffer, number[]>();
  graph.nodes.forEach((n, idx) => {
    for (const name of [...n.inputs, ...n.outputs]) {
      const b = name ? bufferOf.get(name) : undefined;
      if (b) (touched.get(b) ?? touched.set(b, []).get(b)!).push(idx);
    }
  });
  for (const b of buffers) {
    const at = touched.get(b);
    if (!at) continue;
    // Outer regions first do not matter: a buffer extended over an inner region is then inside and outside of it.
    for (const [first, last] of regions) {
      const inside = at.some((i) => i > first && i < last);
      const outside = b.first < first || b.last > last || at.some((i) => i < first || i > last);
      if (inside && outside) { b.first = Math.min(b.first, first); b.last = Math.max(b.last, last); }
    }
  }
}

/** Lets in-place ops write their output over an input that dies at that node (same byte size, arena only). */
function mergeInPlace(graph: Graph, bufferOf: Map<string, Buffer>): void {
  graph.nodes.forEach((node, idx) => {
    const def = lookupOp(node.opType, node.domain, graph.opset);
    if (!def?.inPlace || isViewNode(graph, idx)) return;
    const out = bufferOf.get(node.outputs[0]);
    const inp = node.inputs[0] ? bufferOf.get(node.inputs[0]) : undefined;
    if (!out || !inp || out === inp || out.kind !== 'arena' || inp.kind !== 'arena') return;
    // Exact sizes (not the 16-aligned buffer sizes): a broadcast input must never be overwritten.
    const size = (name: string) => { const v = graph.values.get(name)!; return byteSize(v.dtype, v.shape as number[]); };
    if (inp.last !== idx || size(node.inputs[0]) !== size(node.outputs[0]) || inp.bytes !== out.bytes) return;
    // The input must not also feed this node through another operand position with a different layout.
    if (node.inputs.slice(1).some((n) => n && bufferOf.get(n) === inp)) return;
    inp.last = out.last;
    out.merged = true;
    for (const [name, b] of bufferOf) if (b === out) bufferOf.set(name, inp);
  });
}
