// The module assembler: memory plan -> one kernel call per node in run() -> weights as data segments ->
// C-host exports and the manifest custom section -> validated, optimized binary.

import type { DType } from '../src/ir/dtype.js';
import { byteSize, type Graph, type Node, type Tensor } from '../src/ir/graph.js';
import { CompileError, nodeLabel } from '../src/errors.js';
import { MAX_MEMORY_BYTES } from '../src/ir/limits.js';
import { lookupOp } from '../ops/index.js';
import { CONTROL_DOMAIN } from '../ops/control-flow.js';
import { chooseVariant, isViewOp, PRIME_AREA_BYTES, targetHas, type EmitCtx, type KernelVariant, type Operand, type OpDef, type VariantCtx } from '../ops/types.js';
import { inputInfos, makeInferCtx, parseAttrs, failer } from '../src/passes/context.js';
import { alignUp, isViewNode, planMemory } from './plan.js';
import { appendChecksum } from './sections.js';
import { Profiler, profileAreaBytes, type ProfileManifest } from './profile.js';
import { WasmModule, type Expr, type Target, type WType } from './wasm.js';

export const MANIFEST_SECTION = 'onnx2wasm.manifest';
export const MANIFEST_FORMAT = 1;
/** Bytes at address 0 kept unused so that no buffer sits at the null address. */
const HEADER_BYTES = 64;
/** run() returns this when a kernel found bad data (e.g. a Gather index out of range). */
export const STATUS_GLOBAL = 'status';

/**
 * A graph input or output in linear memory. A data-dependent output has `dynamic`: `shape` holds upper bounds
 * (the buffer is planned at them), `axes` are the dims known only at run time, and run() writes the actual dims
 * as int32s at byte offset `dims` (also exported as output_dims(i, k)).
 */
export interface IoEntry {
  name: string; dtype: DType; shape: number[]; offset: number; bytes: number;
  /** An image input's pixel format: the input is an 8-bit frame [height, width, channels]. */
  image?: 'RGBA' | 'RGB' | 'GRAY';
  dynamic?: { axes: number[]; dims: number };
}

export interface Manifest {
  format: number;
  producer: string;
  target: Target;
  opset: number;
  inputs: IoEntry[];
  outputs: IoEntry[];
  memory: { total: number; arena: number; arenaLowerBound: number; weights: number; scratch: number; io: number };
  /** Profiling builds only: the timed nodes and where run() leaves their milliseconds. */
  profile?: ProfileManifest;
}

export interface BuildStats {
  /** Bytes of data segments (weights and packed constants). */
  weightBytes: number;
  /** Operator types present in the emitted code, with node counts. */
  ops: Record<string, number>;
  /** Distinct kernel functions emitted (nodes with the same configuration share one). */
  kernels: number;
  /** Nodes per chosen kernel variant, as 'Op:variant' (ops that declare variants). */
  variants: Record<string, number>;
}

export interface BuildOptions {
  target: Target; optimize?: boolean; producer?: string;
  /** Time each node's kernel with an imported clock (codegen/profile.ts); the normal build imports nothing. */
  profile?: boolean;
}

export function buildModule(graph: Graph, opts: BuildOptions): { wasm: Uint8Array; manifest: Manifest; stats: BuildStats } {
  const w = new WasmModule(opts.target);
  try {
    return assemble(graph, w, opts);
  } finally {
    w.dispose();
  }
}

interface Prepared { node: Node; def: OpDef; attrs: unknown; variant?: KernelVariant<unknown>; vctx: VariantCtx<unknown> }

function assemble(graph: Graph, w: WasmModule, opts: BuildOptions) {
  // Each node's kernel variant is chosen here, once, with the target known: its scratch and emit go together.
  const prepared: Prepared[] = graph.nodes.map((node) => {
    const def = lookupOp(node.opType, node.domain, graph.opset)!;
    const attrs = parseAttrs(def, node, graph.opset);
    const vctx: VariantCtx<unknown> = {
      ...makeInferCtx(graph, node, def, attrs, inputInfos(graph, node)),
      target: opts.target, has: (c) => targetHas(opts.target, c),
    };
    const variant = def.variants ? chooseVariant(def, vctx) : undefined;
    if (def.variants && !variant) throw new CompileError('INTERNAL', `${nodeLabel(node, graph.opset)}: no kernel variant applies`, { node: node.name, op: node.opType });
    return { node, def, attrs, variant, vctx };
  });
  // Scratch bytes per node: planned in the arena like a tensor that lives for that node only.
  const nodeScratch = prepared.map((p) => (p.variant ? p.variant.scratch?.(p.vctx) ?? 0 : p.def.scratch?.(p.vctx) ?? 0));
  const variants: Record<string, number> = {};
  for (const p of prepared) if (p.variant) variants[`${p.node.opType}:${p.variant.name}`] = (variants[`${p.node.opType}:${p.variant.name}`] ?? 0) + 1;
  const scratchBytes = Math.max(0, ...nodeScratch);
  // A profiling build keeps its time slots between the header and the buffers.
  const plan = planMemory(graph, HEADER_BYTES + (opts.profile ? profileAreaBytes(graph) : 0), nodeScratch);
  const profiler = opts.profile ? new Profiler(w, graph, HEADER_BYTES) : undefined;
  checkMemory(plan.end + constantBytes(graph), 'the planned memory (inputs, outputs, activations and weights)');

  // Weights region: constants get an address the first time a kernel asks for one.
  let dataCursor = alignUp(plan.end);
  // Actual dims of data-dependent values (int32 each, written by their kernels): between the arena and the weights.
  const dimsAt = new Map<string, number>();
  for (const [name, v] of graph.values) {
    if (!v.bounded || v.const) continue;
    dimsAt.set(name, dataCursor);
    dataCursor += 4 * v.shape.length;
  }
  dataCursor = alignUp(dataCursor);
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
  // A value computed row by row from a data-dependent one (src/passes/bounded.ts) has its count: copied after its node runs.
  const copyRunTimeCounts = (node: Node) => {
    for (const name of node.outputs) {
      const b = name ? graph.values.get(name)?.bounded : undefined;
      if (!b || b.root === name || !dimsAt.has(name)) continue;
      const shape = graph.values.get(name)!.shape as number[];
      const fn = `dims_${shape.join('x')}`;
      w.addFunction(fn, ['i32', 'i32'], 'none', (k) => [
        k.i32.store(0, 4, k.params[1].get(), k.i32.load(0, 4, k.params[0].get())),
        ...shape.slice(1).map((d, a) => k.i32.store(4 * (a + 1), 4, k.params[1].get(), k.c32(d))),
      ]);
      runBody.push(w.m.call(fn, [i32.const(dimsAt.get(b.root)!), i32.const(dimsAt.get(name)!)], 0));
    }
  };
  // run()'s statements; control-flow regions (If, Loop) push a body and pop it into a wasm if or loop.
  const bodies: Expr[][] = [[]];
  const runBody = { push: (e: Expr) => bodies[bodies.length - 1].push(e) };
  // Calls for the exported prime() function; their dummy operands get addresses once the weights are placed.
  const primers = new Map<string, { args: (zeros: number, out: number) => number[] | number[][]; times: number }>();
  const ops: Record<string, number> = {};
  const i32 = w.m.i32;

  let nodeCalls: string[] = [];
  prepared.forEach((p, idx) => {
    const body = bodies[bodies.length - 1], depth = bodies.length, start = body.length;
    nodeCalls = [];
    emitNode(p, idx);
    // A node that opens or closes a control-flow region is not timed itself (its start and end lie in different bodies).
    if (profiler && bodies.length === depth && bodies[depth - 1] === body && body.length > start) {
      body.push(...profiler.wrap(p.node, idx, p.variant?.name, nodeCalls, body.splice(start)));
    }
  });
  function emitNode({ node, def, attrs, variant }: Prepared, idx: number) {
    if (isViewNode(graph, idx)) return; // shares its input's buffer: nothing to run
    // Control-flow helpers are not operators of the model; a region's opening node counts as its If, Loop or Scan.
    const reported = node.domain !== CONTROL_DOMAIN ? node.opType : def.region === 'open' ? String(node.attrs.of) : undefined;
    if (reported) ops[reported] = (ops[reported] ?? 0) + 1;
    if (isViewOp(def, node)) {
      // A view whose result must live elsewhere (a graph output): copy the bytes.
      const v = graph.values.get(node.outputs[0])!;
      const bytes = byteSize(v.dtype, v.shape as number[]);
      const fn = w.addFunction(`copy_${bytes}`, ['i32', 'i32'], 'none', (k) => k.copy(k.params[0].get(), k.params[1].get(), bytes));
      runBody.push(w.m.call(fn, [i32.const(addressOf(node.outputs[0])), i32.const(addressOf(node.inputs[0]))], 0));
      nodeCalls.push(fn);
      return;
    }
    const ctx: EmitCtx<unknown> = {
      node, opset: graph.opset, attrs, target: opts.target, variant: variant?.name,
      fail: failer(node, graph.opset),
      inputs: node.inputs.map((n) => (n ? operand(n) : undefined)),
      // Omitted optional outputs ('') are undefined at run time; ops check ctx.node.outputs[i].
      outputs: node.outputs.map((n) => (n ? operand(n) : (undefined as unknown as Operand))),
      kernel(key: string, params: WType[], build) {
        const fullKey = `${key}|${params.join(',')}`;
        let name = kernelNames.get(fullKey);
        if (!name) {
          // The variant is in the name, so that a profile says which implementation ran.
          name = `${node.opType}${variant ? `_${variant.name.replace(/[^A-Za-z0-9]/g, '_')}` : ''}_${kernelNames.size}`;
          kernelNames.set(fullKey, name);
          w.addFunction(name, params, 'none', build);
        }
        return name;
      },
      call(fn: string, args: number[]) {
        w.keepOutOfLine(fn);
        nodeCalls.push(fn);
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
      dims(i) {
        const at = dimsAt.get(node.outputs[i]);
        if (at === undefined) throw new Error(`output ${i} is not data-dependent`);
        return at;
      },
      openBody() { bodies.push([]); },
      closeIf(condPtr) {
        const otherwise = bodies.pop()!, then = bodies.pop()!;
        const test = w.m.i32.load8_u(0, 1, i32.const(condPtr));
        runBody.push(w.m.if(test, w.m.block(null, then), w.m.block(null, otherwise)));
      },
      closeLoop(goPtr) {
        const body = bodies.pop()!;
        const label = w.nextLabel('loop');
        const again = w.m.br(label, w.m.i32.load8_u(0, 1, i32.const(goPtr)));
        runBody.push(w.m.if(w.m.i32.load8_u(0, 1, i32.const(goPtr)), w.m.loop(label, w.m.block(null, [...body, again]))));
      },
    };
    try {
      if (variant) variant.emit(ctx);
      else def.emit!(ctx);
      copyRunTimeCounts(node);
    } catch (e) {
      if (e instanceof CompileError) throw e;
      throw new CompileError('INTERNAL', `${nodeLabel(node, graph.opset)}: code generation failed: ${(e as Error).message}`, { node: node.name, op: node.opType });
    }
  }

  w.addGlobal(STATUS_GLOBAL, 'i32', true, 0);
  w.addFunction('run', [], 'i32', (k) => [
    k.globalSet(STATUS_GLOBAL, k.c32(0)),
    ...(profiler?.reset() ?? []),
    ...bodies[0],
    k.globalGet(STATUS_GLOBAL, 'i32'),
  ]);
  w.exportFunction('run');

  // Before the weights region is closed: a graph output that is a constant is placed there now.
  const io = (name: string): IoEntry => {
    const v = graph.values.get(name)!;
    const shape = v.shape as number[];
    const image = graph.imageInputs?.[name];
    const entry: IoEntry = { name, dtype: v.dtype, shape, offset: addressOf(name), bytes: byteSize(v.dtype, shape), ...(image && { image }) };
    if (dimsAt.has(name)) entry.dynamic = { axes: [v.bounded!.axis], dims: dimsAt.get(name)! };
    return entry;
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
      return [...primers].map(([fn, p]) => {
        const args = p.args(primeZeros, primeOut);
        const lists = (Array.isArray(args[0]) ? args : [args]) as number[][];
        return k.for(i, 0, p.times, 1, () => lists.map((l) => k.call(fn, l.map((a) => k.c32(a)))));
      });
    });
    w.exportFunction('prime');
  }

  addTableExport(w, 'input_ptr', inputs.map((e) => e.offset));
  addTableExport(w, 'input_bytes', inputs.map((e) => e.bytes));
  addTableExport(w, 'output_ptr', outputs.map((e) => e.offset));
  addTableExport(w, 'output_bytes', outputs.map((e) => e.bytes));
  addDimsExport(w, outputs);
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
    ...(profiler && { profile: profiler.manifest() }),
  };
  w.addCustomSection(MANIFEST_SECTION, new TextEncoder().encode(JSON.stringify(manifest)));
  checkMemory(manifest.memory.total, 'the module\'s linear memory');
  const wasm = appendChecksum(w.finish(total, opts.optimize ?? true));
  return { wasm, manifest, stats: { weightBytes, ops, kernels: kernelNames.size, variants } };
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


/**
 * output_dims(i, k) -> dim k of output i as of the last run(): the static dim, or for a data-dependent output the
 * actual one its kernel wrote (0 when out of range).
 */
function addDimsExport(w: WasmModule, outputs: IoEntry[]): void {
  w.addFunction('output_dims', ['i32', 'i32'], 'i32', (k) => {
    const [i, d] = k.params;
    let e: Expr = k.c32(0);
    for (let o = outputs.length - 1; o >= 0; o--) {
      const { shape, dynamic } = outputs[o];
      let dim: Expr = k.c32(0);
      for (let a = shape.length - 1; a >= 0; a--) {
        const value = dynamic ? k.i32.load(4 * a, 4, k.c32(dynamic.dims)) : k.c32(shape[a]);
        dim = k.if(k.i32.eq(d.get(), k.c32(a)), value, dim);
      }
      e = k.if(k.i32.eq(i.get(), k.c32(o)), dim, e);
    }
    return e;
  });
  w.exportFunction('output_dims');
}
