// Profiling builds (compile(..., { profile: true })): run() reads an imported clock around each node's kernel
// calls and adds the elapsed milliseconds to that node's f64 slot in a small area before the arena. Only such a
// build imports anything; the manifest lists the timed nodes with what a profile needs to rate them (op type,
// kernel variant, output shape, FLOPs and bytes moved).

import { byteSize, type Graph, type Node } from '../src/ir/graph.js';
import type { Expr, WasmModule } from './wasm.js';

/** The one import of a profiling build: `now() -> f64`, milliseconds (performance.now()). */
export const CLOCK_IMPORT = { module: 'onnx2wasm', base: 'now' } as const;
const CLOCK = 'profile_now';

export interface ProfiledNode {
  /** The node's name (op type and position when the model left it unnamed). */
  name: string;
  op: string;
  /** The chosen kernel variant (ops that declare variants), else the kernel functions the node calls. */
  variant: string;
  /** The first output's shape. */
  shape: number[];
  /** Floating-point (or integer multiply-add) operations of one run of the node, for the compute-bound ops. */
  flops?: number;
  /** Bytes of the node's inputs (weights included) and outputs: what it reads and writes at least once. */
  bytes: number;
}

/** The manifest's `profile` entry: after run(), node i's milliseconds are the f64 at offset + 8 * i. */
export interface ProfileManifest { offset: number; nodes: ProfiledNode[] }

/** Bytes reserved after the header for the slots: one per node (an upper bound) plus the start time. */
export const profileAreaBytes = (graph: Graph) => 8 * (graph.nodes.length + 1);

export class Profiler {
  readonly nodes: ProfiledNode[] = [];
  private readonly startAt: number;
  private readonly now: () => Expr;

  constructor(private readonly w: WasmModule, private readonly graph: Graph, private readonly offset: number) {
    this.startAt = offset + 8 * graph.nodes.length;
    const clock = w.importFunction(CLOCK, CLOCK_IMPORT.module, CLOCK_IMPORT.base, [], 'f64');
    this.now = () => clock([]);
  }

  /** Statements that wrap one node's emitted statements; the node gets the next slot. */
  wrap(node: Node, idx: number, variant: string | undefined, kernels: string[], body: Expr[]): Expr[] {
    const m = this.w.m, slot = this.offset + 8 * this.nodes.length;
    this.nodes.push(describe(this.graph, node, idx, variant ?? [...new Set(kernels)].join(' ')));
    const elapsed = m.f64.sub(this.now(), m.f64.load(0, 8, m.i32.const(this.startAt)));
    return [
      m.f64.store(0, 8, m.i32.const(this.startAt), this.now()),
      ...body,
      m.f64.store(0, 8, m.i32.const(slot), m.f64.add(m.f64.load(0, 8, m.i32.const(slot)), elapsed)),
    ];
  }

  /** run()'s first statements: every slot back to zero (a node inside a loop adds up its iterations). */
  reset(): Expr[] {
    const m = this.w.m;
    return this.nodes.map((_, i) => m.f64.store(0, 8, m.i32.const(this.offset + 8 * i), m.f64.const(0)));
  }

  manifest(): ProfileManifest { return { offset: this.offset, nodes: this.nodes }; }
}

const count = (shape: readonly number[]) => shape.reduce((a, b) => a * b, 1);

function describe(graph: Graph, node: Node, idx: number, variant: string): ProfiledNode {
  const shapeOf = (name: string | undefined) => (name ? (graph.values.get(name)?.shape as number[] | undefined) : undefined);
  const dtypeOf = (name: string) => graph.values.get(name)!.dtype;
  let bytes = 0;
  for (const name of [...node.inputs, ...node.outputs]) if (name && shapeOf(name)) bytes += byteSize(dtypeOf(name), shapeOf(name)!);
  const flops = nodeFlops(node, shapeOf);
  return {
    name: node.name || `${node.opType}_${idx}`, op: node.opType, variant: variant || 'default',
    shape: shapeOf(node.outputs[0]) ?? [], bytes, ...(flops !== undefined && { flops }),
  };
}

/**
 * Multiply-adds count two operations. Only the ops whose cost is their arithmetic: the GEMM-like ops and the
 * recurrent layers; the rest are rated by bytes moved.
 */
function nodeFlops(node: Node, shapeOf: (name: string | undefined) => number[] | undefined): number | undefined {
  const out = shapeOf(node.outputs[0]);
  const input = (i: number) => shapeOf(node.inputs[i]);
  if (!out) return undefined;
  switch (node.opType) {
    case 'Conv': case 'ConvInteger': case 'QLinearConv': {
      const w = input(node.opType === 'QLinearConv' ? 3 : 1);
      return w ? 2 * count(out) * count(w.slice(1)) : undefined;
    }
    case 'ConvTranspose': {
      const x = input(0), w = input(1);
      return x && w ? 2 * count(x) * count(w.slice(1)) : undefined;
    }
    case 'Gemm': case 'QGemm': {
      const a = input(0);
      if (!a) return undefined;
      const k = node.attrs.transA ? a[0] : a[1];
      return 2 * count(out) * k;
    }
    case 'MatMul': case 'MatMulInteger': case 'QLinearMatMul': {
      const a = input(0);
      return a ? 2 * count(out) * a[a.length - 1] : undefined;
    }
    case 'LSTM': case 'GRU': case 'RNN': {
      // Every step multiplies each direction's W (gates*hidden x input) and R (gates*hidden x hidden).
      const x = input(0), w = input(1), r = input(2);
      return x && w && r ? 2 * (count(x) / x[2]) * (count(w) + count(r)) : undefined;
    }
    default:
      return undefined;
  }
}
