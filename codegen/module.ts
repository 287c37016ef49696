// The module assembler: memory plan -> one kernel call per node in run() -> weights as data segments ->
// C-host exports and the manifest custom section -> validated, optimized binary.

import type { DType } from '../src/ir/dtype.js';
import { byteSize, type Graph, type Node, type Tensor } from '../src/ir/graph.js';
import { CompileError, nodeLabel } from '../src/errors.js';
import { MAX_MEMORY_BYTES } from '../src/ir/limits.js';
import { lookupOp } from '../ops/index.js';
import { isViewOp, PRIME_AREA_BYTES, type EmitCtx, type Operand, type OpDef } from '../ops/types.js';
import { inputInfos, makeInferCtx, parseAttrs, failer } from '../src/passes/context.js';
import { alignUp, isViewNode, planMemory } from './plan.js';
import { appendChecksum } from './sections.js';
import { WasmModule, type Expr, type Target, type WType } from './wasm.js';

export const MANIFEST_SECTION = 'onnx2wasm.manifest';
export const MANIFEST_FORMAT = 1;
/** Bytes at address 0 kept unused so that no buffer sits at the null address. */
const HEADER_BYTES = 64;
/** run() returns this when a kernel found bad data (e.g. a Gather index out of range). */
export const STATUS_GLOBAL = 'status';

export interface IoEntry { name: string; dtype: DType; shape: number[]; offset: number; bytes: number }

export interface Manifest {
  format: number;
  producer: string;
  target: Target;
  opset: number;
  inputs: IoEntry[];
  outputs: IoEntry[];
  memory: { total: number; arena: number; arenaLowerBound: number; weights: number; scratch: number; io: number };
}

export interface BuildStats {
  /** Bytes of data segments (weights and packed constants). */
  weightBytes: number;
  /** Operator types present in the emitted code, with node counts. */
  ops: Record<string, number>;
  /** Distinct kernel functions emitted (nodes with the same configuration share one). */
  kernels: number;
}

export interface BuildOptions { target: Target; optimize?: boolean; producer?: string }

export function buildModule(graph: Graph, opts: BuildOptions): { wasm: Uint8Array; manifest: Manifest; stats: BuildStats } {
  const w = new WasmModule(opts.target);
  try {
    return assemble(graph, w, opts);
  } finally {
    w.dispose();
  }
}

interface Prepared { node: Node; def: OpDef; attrs: unknown }

function assemble(graph: Graph, w: WasmModule, opts: BuildOptions) {
  const prepared: Prepared[] = graph.nodes.map((node) => {
    const def = lookupOp(node.opType, node.domain, graph.opset)!;
    return { node, def, attrs: parseAttrs(def, node, graph.opset) };
  });
  // Scratch bytes per node: planned in the arena like a tensor that lives for that node only.
  const nodeScratch = prepared.map((p) => {
    if (!p.def.scratch) return 0;
    return p.def.scratch(makeInferCtx(graph, p.node, p.def, p.attrs, inputInfos(graph, p.node)));
  });
  const scratchBytes = Math.max(0, ...nodeScratch);
  const plan = planMemory(graph, HEADER_BYTES, nodeScratch);
  checkMemory(plan.end + constantBytes(graph), 'the planned memory (inputs, outputs, activations and weights)');

  // Weights region: constants get an address the first time a kernel asks for one.
  let dataCursor = alignUp(plan.end);
  const dataStart = dataCursor;
  const constAddr = new Map<Tensor, number>();
  // Identical data is placed once: exporters tie weights through Identity nodes (each fold makes a new
  // tensor object over the same values) and kernels pack the same weights alike.
  const placedByHash = new Map<string, { at: number; bytes: Uint8Array }[]>();
  const placeData = (bytes: Uint8Array, align = 16): number => {
    const key = `${bytes.length}:${contentHash(bytes)}`;
    const same = placedByHash.get(key)?.find((p) => p.at % align === 0 && equalBytes(p.bytes, bytes));
    if (same) return same.at;
    dataCursor = alignUp(dataCursor, align);
    const at = dataCursor;
    w.addData(at, bytes);
    dataCursor += Math.max(bytes.length, 1);
    (placedByHash.get(key) ?? placedByHash.set(key, []).get(key)!).push({ at, bytes });
    return at;
  };
  const placeConst = (t: Tensor): number => {
    let at = constAddr.get(t);
    if (at === undefined) {
      at = placeData(new Uint8Array(t.data.buffer, t.data.byteOffset, t.data.byteLength));
      constAddr.set(t, at);
    }
    return at;
  };
  const addressOf = (name: string): number => {
    const v = graph.values.get(name)!;
    if (v.const) return placeConst(v.const);
    const b = plan.bufferOf.get(name);
    if (!b) throw new Error(`no buffer planned for "${name}"`);
    return b.offset;
  };
  const operand = (name: string): Operand => {
    const v = graph.values.get(name)!;
    return {
      name, dtype: v.dtype, shape: v.shape as number[], const: v.const,
      get ptr() { return addressOf(name); },
    };
  };

  const kernelNames = new Map<string, string>();
  const runBody: Expr[] = [];
  // Calls for the exported prime() function; their dummy operands get addresses once the weights are placed.
  const primers = new Map<string, { args: (zeros: number, out: number) => number[]; times: number }>();
  const ops: Record<string, number> = {};
  const i32 = w.m.i32;

  prepared.forEach(({ node, def, attrs }, idx) => {
    if (isViewNode(graph, idx)) return; // shares its input's buffer: nothing to run
    ops[node.opType] = (ops[node.opType] ?? 0) + 1;
    if (isViewOp(def, node)) {
      // A view whose result must live elsewhere (a graph output): copy the bytes.
      const v = graph.values.get(node.outputs[0])!;
      const bytes = byteSize(v.dtype, v.shape as number[]);
      const fn = w.addFunction(`copy_${bytes}`, ['i32', 'i32'], 'none', (k) => k.copy(k.params[0].get(), k.params[1].get(), bytes));
      runBody.push(w.m.call(fn, [i32.const(addressOf(node.outputs[0])), i32.const(addressOf(node.inputs[0]))], 0));
      return;
    }
    const ctx: EmitCtx<unknown> = {
      node, opset: graph.opset, attrs, target: opts.target,
      fail: failer(node, graph.opset),
      inputs: node.inputs.map((n) => (n ? operand(n) : undefined)),
      // Omitted optional outputs ('') are undefined at run time; ops check ctx.node.outputs[i].
      outputs: node.outputs.map((n) => (n ? operand(n) : (undefined as unknown as Operand))),
      kernel(key: string, params: WType[], build) {
        const fullKey = `${key}|${params.join(',')}`;
        let name = kernelNames.get(fullKey);
        if (!name) {
          name = `${node.opType}_${kernelNames.size}`;
          kernelNames.set(fullKey, name);
          w.addFunction(name, params, 'none', build);
        }
        return name;
      },
      call(fn: string, args: number[]) {
        w.keepOutOfLine(fn);
        runBody.push(w.m.call(fn, args.map((a) => i32.const(a | 0)), 0));
      },
      data: placeData,
      scratch() {
        const b = plan.scratchOf.get(idx);
        if (!b) throw new Error('scratch() used by an op that declares no scratch (or declared 0 bytes)');
        return b.offset;
      },
      prime(fn, args, times = 1) {
        if (!primers.has(fn)) primers.set(fn, { args, times });
      },
    };
    try {
      def.emit(ctx);
    } catch (e) {
      if (e instanceof CompileError) throw e;
      throw new CompileError('INTERNAL', `${nodeLabel(node, graph.opset)}: code generation failed: ${(e as Error).message}`, { node: node.name, op: node.opType });
    }
  });

  w.addGlobal(STATUS_GLOBAL, 'i32', true, 0);
  w.addFunction('run', [], 'i32', (k) => [
    k.globalSet(STATUS_GLOBAL, k.c32(0)),
    ...runBody,
    k.globalGet(STATUS_GLOBAL, 'i32'),
  ]);
  w.exportFunction('run');

  // Before the weights region is closed: a graph output that is a constant is placed there now.
  const io = (name: string): IoEntry => {
    const v = graph.values.get(name)!;
    const shape = v.shape as number[];
    return { name, dtype: v.dtype, shape, offset: addressOf(name), bytes: byteSize(v.dtype, shape) };
  };
  const inputs = graph.inputs.map(io);
  const outputs = graph.outputs.map(io);
  const weightBytes = dataCursor - dataStart;
  let total = dataCursor;
  // Two zeroed areas after the weights (not data: memory starts zeroed) for the primers' dummy operands.
  const primeZeros = alignUp(dataCursor), primeOut = primeZeros + PRIME_AREA_BYTES;
  if (primers.size) {
    total = primeOut + PRIME_AREA_BYTES;
    w.addFunction('prime', [], 'none', (k) => {
      const i = k.local('i32');
      return [...primers].map(([fn, p]) => k.for(i, 0, p.times, 1, () => [k.call(fn, p.args(primeZeros, primeOut).map((a) => k.c32(a)))]));
    });
    w.exportFunction('prime');
  }

  addTableExport(w, 'input_ptr', inputs.map((e) => e.offset));
  addTableExport(w, 'input_bytes', inputs.map((e) => e.bytes));
  addTableExport(w, 'output_ptr', outputs.map((e) => e.offset));
  addTableExport(w, 'output_bytes', outputs.map((e) => e.bytes));
  w.addFunction('input_count', [], 'i32', (k) => k.c32(inputs.length));
  w.addFunction('output_count', [], 'i32', (k) => k.c32(outputs.length));
  w.exportFunction('input_count');
  w.exportFunction('output_count');

  const manifest: Manifest = {
    format: MANIFEST_FORMAT,
    producer: opts.producer ?? 'onnx2wasm',
    target: opts.target,
    opset: graph.opset,
    inputs, outputs,
    memory: {
      total: Math.ceil(total / 65536) * 65536,
      arena: plan.arenaBytes,
      arenaLowerBound: plan.arenaLowerBound,
      weights: weightBytes,
      scratch: scratchBytes,
      io: plan.arenaStart - plan.inputsStart,
    },
  };
  w.addCustomSection(MANIFEST_SECTION, new TextEncoder().encode(JSON.stringify(manifest)));
  checkMemory(manifest.memory.total, 'the module\'s linear memory');
  const wasm = appendChecksum(w.finish(total, opts.optimize ?? true));
  return { wasm, manifest, stats: { weightBytes, ops, kernels: kernelNames.size } };
}

/** wasm32 addresses 4 GiB: a model needing more is refused before binaryen is asked to build it. */
function checkMemory(bytes: number, what: string): void {
  if (bytes > MAX_MEMORY_BYTES) {
    throw new CompileError('TOO_LARGE', `${what} comes to ${(bytes / 2 ** 30).toFixed(2)} GiB, more than the 4 GiB WebAssembly (wasm32) memory can hold`);
  }
}

const constantBytes = (graph: Graph) => [...graph.values.values()].reduce((n, v) => n + (v.const?.data.byteLength ?? 0), 0);

/** FNV-1a over the bytes, 32 bits at a time where aligned (weights are large: keep it cheap). */
function contentHash(bytes: Uint8Array): number {
  let h = 0x811c9dc5;
  const words = bytes.byteOffset % 4 === 0 ? new Uint32Array(bytes.buffer, bytes.byteOffset, bytes.length >> 2) : undefined;
  const tail = words ? words.length * 4 : 0;
  if (words) for (let i = 0; i < words.length; i++) h = Math.imul(h ^ words[i], 0x01000193);
  for (let i = tail; i < bytes.length; i++) h = Math.imul(h ^ bytes[i], 0x01000193);
  return h >>> 0;
}

function equalBytes(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Exports fn(i) -> table[i] (0 when out of range): how a C host finds buffers without parsing JSON. */
function addTableExport(w: WasmModule, name: string, table: number[]): void {
  w.addFunction(name, ['i32'], 'i32', (k) => {
    let e: Expr = k.c32(0);
    for (let i = table.length - 1; i >= 0; i--) e = k.select(k.i32.eq(k.params[0].get(), k.c32(i)), k.c32(table[i]), e);
    return e;
  });
  w.exportFunction(name);
}

