// runtime-min: loads a module made by onnx2wasm and runs it. Dependency-free; Node and browsers.
// The module imports nothing; its manifest (a custom section) says where each input and output lives.

import { checksum, CHECKSUM_SECTION } from './checksum.js';

export type DType =
  | 'float32' | 'float64' | 'float16' | 'bfloat16' | 'int8' | 'int16' | 'int32' | 'int64'
  | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'bool';

export type TypedArray =
  | Float32Array | Float64Array | Int8Array | Int16Array | Int32Array | BigInt64Array
  | Uint8Array | Uint16Array | Uint32Array | BigUint64Array;

export interface TensorSpec { name: string; dtype: DType; shape: number[] }
/**
 * Where a graph input or output lives in linear memory. A data-dependent output (NonZero, NonMaxSuppression...)
 * has `dynamic`: its shape holds upper bounds, and run() writes the actual dims as int32s at `dims`.
 */
export interface IoEntry extends TensorSpec {
  offset: number; bytes: number;
  /** An image input (compiled with --image-input): an 8-bit frame [height, width, channels] in this format. */
  image?: 'RGBA' | 'RGB' | 'GRAY';
  dynamic?: { axes: number[]; dims: number };
}
export interface Manifest {
  format: number; producer: string; target: string; opset: number; inputs: IoEntry[]; outputs: IoEntry[];
  memory: { total: number; arena: number; arenaLowerBound: number; weights: number; scratch: number; io: number };
  /** Profiling builds (--profile): the timed nodes; run() leaves node i's milliseconds as an f64 at offset + 8 * i. */
  profile?: { offset: number; nodes: ProfiledNode[] };
}
/** A timed node of a profiling build: op type, kernel variant, first output's shape, FLOPs (GEMM-like ops), bytes moved. */
export interface ProfiledNode { name: string; op: string; variant: string; shape: number[]; flops?: number; bytes: number }

export interface Output { data: TypedArray; shape: number[] }
/** A canvas ImageData, or anything shaped like it: what an image input accepts besides its bytes. */
export interface ImageLike { data: Uint8ClampedArray | Uint8Array; width: number; height: number }
/** A feed: the input's typed array; an image input also takes an ImageLike or a Uint8ClampedArray. */
export type Feed = TypedArray | Uint8ClampedArray | ImageLike;

export interface Model {
  inputs: TensorSpec[];
  outputs: TensorSpec[];
  manifest: Manifest;
  /** The module's linear memory (run() copies inputs in and outputs out; this is for inspection). */
  memory: WebAssembly.Memory;
  /** Runs synchronously; the returned arrays are copies that stay valid after the next run. */
  run(feeds: Record<string, Feed>): Record<string, Output>;
  /** Profiling builds: each timed node of the last run(), with its milliseconds (throws for a normal build). */
  profile(): (ProfiledNode & { ms: number })[];
}

export type Source = Uint8Array | ArrayBuffer | WebAssembly.Module | Response | PromiseLike<Response>;

type ArrayCtor = { new (b: ArrayBuffer, o: number, n: number): TypedArray; name: string; BYTES_PER_ELEMENT: number };
// float16/bfloat16 travel as their raw 16-bit patterns; bool as one byte per element (0 or 1).
const ARRAY: Record<DType, ArrayCtor> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array,
  int8: Int8Array, int16: Int16Array, int32: Int32Array, int64: BigInt64Array,
  uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
} as never;

const SECTION = 'onnx2wasm.manifest';
const WARMUP_MAX_WEIGHTS = 4 << 20;
const WARMUP_MS = 8;

export interface LoadOptions {
  /**
   * Run the model on zeroed inputs while loading, so that the engine has compiled and optimized the kernels
   * before the first real inference (V8 runs new wasm code in a baseline tier and optimizes hot functions in
   * the background). Default: only for models with under 4 MB of weights, where that start-up work dominates
   * the first run; a large model's first run is already close to its steady speed, and a warm-up would add a
   * whole inference to its load time.
   */
  warmup?: boolean;
}

export async function load(source: Source, options: LoadOptions = {}): Promise<Model> {
  let mod = source, split: Split | undefined;
  if (!(source instanceof WebAssembly.Module)) {
    const s = await source;
    const bytes = s instanceof Uint8Array || s instanceof ArrayBuffer ? s
      : typeof (s as Response | null)?.arrayBuffer === 'function' ? await (s as Response).arrayBuffer() : badSource(s);
    split = splitWeights(bytes);
    mod = await WebAssembly.compile((split?.code ?? bytes) as BufferSource).catch(invalid);
  }
  const manifest = readManifest(mod as WebAssembly.Module); // before instantiating: a foreign module may have imports
  return ready(manifest, await WebAssembly.instantiate(mod as WebAssembly.Module, imports(manifest)), split, options);
}

/** Synchronous variant for Node (browsers limit synchronous compilation to small modules). */
export function loadSync(source: Uint8Array | ArrayBuffer | WebAssembly.Module, options: LoadOptions = {}): Model {
  let mod = source, split: Split | undefined;
  if (!(source instanceof WebAssembly.Module)) {
    if (!(source instanceof Uint8Array || source instanceof ArrayBuffer)) badSource(source);
    split = splitWeights(source);
    try {
      mod = new WebAssembly.Module((split?.code ?? source) as BufferSource);
    } catch (e) {
      invalid(e);
    }
  }
  const manifest = readManifest(mod as WebAssembly.Module);
  return ready(manifest, new WebAssembly.Instance(mod as WebAssembly.Module, imports(manifest)), split, options);
}

/** A profiling build imports a clock; every other module imports nothing. */
const imports = (m: Manifest): WebAssembly.Imports => (m.profile ? { onnx2wasm: { now: () => performance.now() } } : {});

function badSource(s: unknown): never {
  const what = s === null ? 'null' : typeof s === 'object' ? (s as object).constructor?.name ?? 'an object' : typeof s;
  throw new Error(`load() takes the module's bytes (Uint8Array, ArrayBuffer), a WebAssembly.Module or a Response, got ${what}` +
    (typeof s === 'string' ? ' (read the file first, or pass fetch(url))' : ''));
}

function invalid(e: unknown): never {
  throw new Error(`not a valid WebAssembly module: ${(e as Error).message}`);
}

/**
 * Checks the exports and the manifest's buffers against the instance, runs the module's optional `prime` export
 * (its hot shared kernels on dummy operands, so that the engine starts optimizing them now, in the background
 * while the weights are copied, rather than during the first inference), places the weights of a split module,
 * and wraps the instance.
 */
function ready(manifest: Manifest, instance: WebAssembly.Instance, split: Split | undefined, options: LoadOptions): Model {
  const exp = instance.exports as { memory: WebAssembly.Memory; run: () => number; prime?: () => void };
  if (!(exp.memory instanceof WebAssembly.Memory) || typeof exp.run !== 'function') throw new Error('not an onnx2wasm module: no memory or run export');
  const memory = new Uint8Array(exp.memory.buffer);
  for (const e of [...manifest.inputs, ...manifest.outputs]) {
    if (e.offset + e.bytes > memory.length) throw new Error(`bad manifest: "${e.name}" lies outside the module's memory`);
  }
  const p = manifest.profile;
  if (p && !(Array.isArray(p.nodes) && p.offset >= 0 && p.offset + 8 * p.nodes.length <= memory.length)) throw new Error('bad manifest: profile slots malformed');
  exp.prime?.();
  if (split) {
    for (const [offset, start, end] of split.segments) {
      if (offset + end - start > memory.length) throw new RangeError('data segment does not fit in memory');
      memory.set(split.bytes.subarray(start, end), offset);
    }
  }
  return wrap(manifest, exp, options);
}

/** The manifest section, checked: names, dtypes, shapes, and byte sizes that agree with them. */
function readManifest(mod: WebAssembly.Module): Manifest {
  const sections = WebAssembly.Module.customSections(mod, SECTION);
  if (!sections.length) throw new Error('not an onnx2wasm module: no manifest section');
  let m: Manifest;
  try {
    m = JSON.parse(new TextDecoder().decode(sections[0]));
  } catch {
    throw new Error('bad manifest: not JSON');
  }
  if (m?.format !== 1) throw new Error(`unsupported manifest format ${m?.format} (this runtime reads format 1)`);
  const entry = (e: IoEntry) => e && typeof e.name === 'string' && ARRAY.hasOwnProperty(e.dtype) && Array.isArray(e.shape) &&
    e.shape.every((d) => Number.isSafeInteger(d) && d >= 0) && Number.isSafeInteger(e.offset) && e.offset >= 0 &&
    e.bytes === count(e.shape) * ARRAY[e.dtype].BYTES_PER_ELEMENT;
  if (!Array.isArray(m.inputs) || !Array.isArray(m.outputs) || !m.inputs.every(entry) || !m.outputs.every(entry) || typeof m.memory !== 'object') {
    throw new Error('bad manifest: inputs, outputs or memory malformed');
  }
  return m;
}

interface Split { bytes: Uint8Array; code: Uint8Array<ArrayBuffer>; segments: number[][] }

/**
 * The module without its data section, and where each data segment goes ([memory offset, start, end] in the
 * bytes). An engine copies the bytes it compiles and copies the segments again when it instantiates; for a module
 * that is mostly weights, compiling the code alone and copying the weights once, straight from the caller's
 * bytes, halves the load time and leaves no engine-held copy of the weights. Anything but onnx2wasm's own layout
 * (active segments at constant offsets into memory 0) returns undefined, and the module is loaded as it is.
 * Every read is bounded: a module cut short (a partial download) throws.
 */
function splitWeights(source: Uint8Array | ArrayBuffer): Split | undefined {
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  const n = bytes.length;
  if (n < 8 || bytes[0] | (bytes[1] ^ 0x61) | (bytes[2] ^ 0x73) | (bytes[3] ^ 0x6d)) throw new Error('not a WebAssembly module (no \\0asm header)');
  let at = 8;
  const byte = (): number => {
    if (at >= n) throw new Error(`truncated module: its ${n} bytes end inside a section (an incomplete download?)`);
    return bytes[at++];
  };
  // LEB128 of at most 5 bytes; signed for the i32.const offsets (their 32 bits are the address)
  const leb = (signed?: boolean): number => {
    let v = 0, shift = 0, b;
    do {
      if (shift > 28) throw new Error('malformed module: a number longer than 5 bytes');
      b = byte();
      v += (b & 127) * 2 ** shift;
      shift += 7;
    } while (b > 127);
    return signed && b & 64 ? (v - 2 ** shift) >>> 0 : v;
  };
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let segments: number[][] | undefined, expected: number | undefined, foreign = false;
  while (at < n) {
    const start = at, id = byte(), size = leb(), end = at + size;
    if (end > n) throw new Error(`truncated module: a section needs ${end} bytes, there are ${n} (an incomplete download?)`);
    const name = id ? '' : new TextDecoder().decode(bytes.subarray(at + 1, Math.min(at + 1 + bytes[at], end)));
    if (name === CHECKSUM_SECTION && end - at === 5 + name.length) {
      expected = new DataView(bytes.buffer, bytes.byteOffset + end - 4, 4).getUint32(0, true);
    } else if (id === 11) {
      segments = [];
      for (let k = leb(); k > 0 && !foreign; k--) {
        // active, memory 0, i32.const offset; anything else is not onnx2wasm's layout
        if (leb() !== 0 || byte() !== 0x41) foreign = true;
        else {
          const offset = leb(true);
          if (byte() !== 0x0b) foreign = true;
          const len = leb();
          if (at + len > end) throw new Error('malformed module: a data segment runs past its section');
          segments.push([offset, at, at + len]);
          at += len;
        }
      }
      foreign ||= at !== end;
    } else if (id !== 12) keep.push(bytes.subarray(start, end)); // 12: the data count goes with the data
    at = end;
  }
  if (expected !== undefined && checksum(keep) !== expected) throw new Error('corrupted module: its checksum does not match (a damaged download?)');
  if (!segments || foreign) return undefined;
  const code = new Uint8Array(keep.reduce((s, k) => s + k.length, 0));
  keep.reduce((o, k) => (code.set(k, o), o + k.length), 0);
  return { bytes, code, segments };
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** The typed array's own type name, across realms and for subclasses such as Buffer (-> Uint8Array). */
const arrayType = (x: unknown) => (ArrayBuffer.isView(x) ? (x as unknown as Record<symbol, string>)[Symbol.toStringTag] : typeof x);

function wrap(manifest: Manifest, exp: { memory: WebAssembly.Memory; run: () => number }, options: LoadOptions): Model {
  const spec = (e: IoEntry): TensorSpec => ({ name: e.name, dtype: e.dtype, shape: e.shape.slice() });
  const names = manifest.inputs.map((e) => e.name);

  /** An image input's pixels as bytes (ImageData -> its data, after checking its size). */
  function pixels(e: IoEntry, x: Feed | undefined): Feed | undefined {
    if (!e.image || !x || ArrayBuffer.isView(x)) return x;
    const [h, w] = e.shape;
    if (x.width !== w || x.height !== h) throw new Error(`input "${e.name}" takes a ${w}x${h} image, got ${x.width}x${x.height}`);
    return x.data;
  }

  // Everything run() needs per input and output, worked out once: a run that follows another engine's (as in a
  // benchmark's alternation, or an app that does other work between inferences) finds little of it in the caches,
  // and each object it walks or allocates is a miss. `view` is the buffer's typed view of the module's memory, so
  // that a feed goes in and an output comes out in one same-type copy; views are remade if the memory was grown.
  const io = (e: IoEntry) => ({ e, n: count(e.shape), type: ARRAY[e.dtype].name, view: undefined as unknown as TypedArray });
  const ins = manifest.inputs.map(io), outs = manifest.outputs.map(io);
  let buffer: ArrayBuffer | undefined;
  function views(): void {
    buffer = exp.memory.buffer;
    for (const v of [...ins, ...outs]) v.view = new ARRAY[v.e.dtype](buffer, v.e.offset, v.n);
  }

  function check(feeds: Record<string, Feed>): void {
    if (!feeds || typeof feeds !== 'object') throw new Error('run() takes an object mapping input names to typed arrays');
    for (const name in feeds) {
      if (Object.prototype.hasOwnProperty.call(feeds, name) && !names.includes(name)) throw new Error(`unknown input "${name}" (inputs: ${names.join(', ')})`);
    }
    for (const { e, n, type } of ins) {
      const x = pixels(e, Object.prototype.hasOwnProperty.call(feeds, e.name) ? feeds[e.name] : undefined) as TypedArray;
      if (x === undefined) throw new Error(`missing input "${e.name}" (${e.dtype}, shape [${e.shape}])`);
      if (arrayType(x) !== type && !(e.image && arrayType(x) === 'Uint8ClampedArray')) throw new Error(`input "${e.name}" must be a ${type} (${e.dtype}), got ${arrayType(x)}`);
      if (x.length !== n) throw new Error(`input "${e.name}" has ${x.length} elements, shape [${e.shape}] needs ${n}`);
    }
  }

  function run(feeds: Record<string, Feed>): Record<string, Output> {
    check(feeds); // every feed is checked before any is written
    if (buffer !== exp.memory.buffer) views();
    for (const { e, view } of ins) {
      const x = pixels(e, feeds[e.name]) as TypedArray;
      // An image's Uint8ClampedArray goes in as its bytes (a same-type copy is a plain memory copy)
      view.set((e.image && arrayType(x) === 'Uint8ClampedArray' ? new Uint8Array(x.buffer, x.byteOffset, x.length) : x) as never);
    }
    const status = exp.run();
    if (status !== 0) throw new Error(`model run failed with status ${status} (an index input was out of range)`);
    const out: Record<string, Output> = {};
    for (const { e, view } of outs) {
      if (e.dynamic) {
        // A data-dependent output: its actual dims are in memory, its data packed for them at the start of the buffer.
        const shape = Array.from(new Int32Array(buffer!, e.dynamic.dims, e.shape.length));
        out[e.name] = { data: view.slice(0, count(shape)), shape };
      } else out[e.name] = { data: view.slice(), shape: e.shape.slice() }; // a copy: the next run overwrites memory
    }
    return out;
  }

  // The warm-up goes through run() itself (zeroed feeds) so that its JavaScript is warm too. Every run writes each buffer before reading it, so nothing the
  // warm-up leaves behind matters.
  if (options.warmup ?? manifest.memory.weights < WARMUP_MAX_WEIGHTS) {
    const zeros = Object.fromEntries(manifest.inputs.map((e) => [e.name, new ARRAY[e.dtype](new ArrayBuffer(e.bytes), 0, count(e.shape))]));
    // Keep going for a few milliseconds: the optimized code is compiled in the background and is used by
    // the calls that start after it is ready.
    const start = performance.now();
    for (let i = 0; i < 200 && (i < 1 || performance.now() - start < WARMUP_MS); i++) {
      try {
        run(zeros);
      } catch {
        break; // zeroed feeds may be invalid data for this model (a status error): the kernels are compiled all the same
      }
    }
  }
  function profile() {
    const p = manifest.profile;
    if (!p) throw new Error('not a profiling build: compile with --profile (compile(model, { profile: true }))');
    const ms = new Float64Array(exp.memory.buffer, p.offset, p.nodes.length);
    return p.nodes.map((n, i) => ({ ...n, ms: ms[i] }));
  }
  return { inputs: manifest.inputs.map(spec), outputs: manifest.outputs.map(spec), manifest, memory: exp.memory, run, profile };
}
