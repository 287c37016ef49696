// runtime-min: loads a module made by onnx2wasm and runs it. Dependency-free; Node and browsers.
// The module imports nothing; its manifest (a custom section) says where each input and output lives.

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
}

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
}

export type Source = Uint8Array | ArrayBuffer | WebAssembly.Module | Response | PromiseLike<Response>;

type ArrayCtor = { new (b: ArrayBuffer, o: number, n: number): TypedArray; name: string };
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
  if (source instanceof WebAssembly.Module) return ready(source, await WebAssembly.instantiate(source, {}), undefined, options);
  const s = await source;
  const bytes = s instanceof Uint8Array || s instanceof ArrayBuffer ? s : await (s as Response).arrayBuffer();
  const split = splitWeights(bytes);
  const mod = await WebAssembly.compile((split?.code ?? bytes) as BufferSource);
  return ready(mod, await WebAssembly.instantiate(mod, {}), split, options);
}

/** Synchronous variant for Node (browsers limit synchronous compilation to small modules). */
export function loadSync(source: Uint8Array | ArrayBuffer | WebAssembly.Module, options: LoadOptions = {}): Model {
  if (source instanceof WebAssembly.Module) return ready(source, new WebAssembly.Instance(source, {}), undefined, options);
  const split = splitWeights(source);
  const mod = new WebAssembly.Module((split?.code ?? source) as BufferSource);
  return ready(mod, new WebAssembly.Instance(mod, {}), split, options);
}

/**
 * Runs the module's optional `prime` export (its hot shared kernels on dummy operands, so that the engine starts
 * optimizing them now, in the background while the weights are copied, rather than during the first
 * inference), places the weights of a split module, and wraps the instance.
 */
function ready(mod: WebAssembly.Module, instance: WebAssembly.Instance, split: Split | undefined, options: LoadOptions): Model {
  const exp = instance.exports as { memory: WebAssembly.Memory; prime?: () => void };
  exp.prime?.();
  if (split) {
    const memory = new Uint8Array(exp.memory.buffer);
    for (const [offset, start, end] of split.segments) {
      if (offset + end - start > memory.length) throw new RangeError('data segment does not fit in memory');
      memory.set(split.bytes.subarray(start, end), offset);
    }
  }
  return wrap(mod, instance, options);
}

interface Split { bytes: Uint8Array; code: Uint8Array<ArrayBuffer>; segments: number[][] }

/**
 * The module without its data section, and where each data segment goes ([memory offset, start, end] in the
 * bytes). An engine copies the bytes it compiles and copies the segments again when it instantiates; for a module
 * that is mostly weights, compiling the code alone and copying the weights once, straight from the caller's
 * bytes, halves the load time and leaves no engine-held copy of the weights. Anything but onnx2wasm's own layout
 * (active segments at constant offsets into memory 0) returns undefined, and the module is loaded as it is.
 */
function splitWeights(source: Uint8Array | ArrayBuffer): Split | undefined {
  const bytes = source instanceof Uint8Array ? source : new Uint8Array(source);
  let at = 8;
  const u32 = (): number => {
    let v = 0;
    for (let shift = 0; ; shift += 7) {
      const b = bytes[at++];
      v += (b & 127) * 2 ** shift;
      if (b < 128) return v;
    }
  };
  const keep: Uint8Array[] = [bytes.subarray(0, 8)];
  let segments: number[][] | undefined;
  try {
    if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61) return undefined;
    while (at < bytes.length) {
      const start = at, id = bytes[at++], size = u32(), end = at + size;
      if (id === 11) {
        segments = [];
        for (let n = u32(); n > 0; n--) {
          if (u32() !== 0 || bytes[at++] !== 0x41) return undefined; // active, memory 0, i32.const offset
          let offset = 0, shift = 0, b;
          do { b = bytes[at++]; offset |= (b & 127) << shift; shift += 7; } while (b & 128);
          if (bytes[at++] !== 0x0b) return undefined;
          const len = u32();
          segments.push([offset >>> 0, at, at + len]);
          at += len;
        }
      } else if (id !== 12) keep.push(bytes.subarray(start, end)); // 12: the data count goes with the data
      at = end;
    }
  } catch {
    return undefined;
  }
  if (!segments || at !== bytes.length) return undefined;
  const code = new Uint8Array(keep.reduce((n, k) => n + k.length, 0));
  keep.reduce((o, k) => (code.set(k, o), o + k.length), 0);
  return { bytes, code, segments };
}

const count = (shape: number[]) => shape.reduce((a, b) => a * b, 1);
/** The typed array's own type name, across realms and for subclasses such as Buffer (-> Uint8Array). */
const arrayType = (x: unknown) => (ArrayBuffer.isView(x) ? (x as unknown as Record<symbol, string>)[Symbol.toStringTag] : typeof x);

function wrap(mod: WebAssembly.Module, instance: WebAssembly.Instance, options: LoadOptions): Model {
  const sections = WebAssembly.Module.customSections(mod, SECTION);
  if (!sections.length) throw new Error('not an onnx2wasm module: no manifest section');
  const manifest = JSON.parse(new TextDecoder().decode(sections[0])) as Manifest;
  if (manifest.format !== 1) throw new Error(`unsupported manifest format ${manifest.format}`);
  const exp = instance.exports as { memory: WebAssembly.Memory; run: () => number };
  const spec = (e: IoEntry): TensorSpec => ({ name: e.name, dtype: e.dtype, shape: e.shape.slice() });
  const names = manifest.inputs.map((e) => e.name);

  /** An image input's pixels as bytes (ImageData -> its data, after checking its size). */
  function pixels(e: IoEntry, x: Feed | undefined): Feed | undefined {
    if (!e.image || !x || ArrayBuffer.isView(x)) return x;
    const [h, w] = e.shape;
    if (x.width !== w || x.height !== h) throw new Error(`input "${e.name}" takes a ${w}x${h} image, got ${x.width}x${x.height}`);
    return x.data;
  }

  function check(feeds: Record<string, Feed>): void {
    if (!feeds || typeof feeds !== 'object') throw new Error('run() takes an object mapping input names to typed arrays');
    for (const name of Object.keys(feeds)) {
      if (!names.includes(name)) throw new Error(`unknown input "${name}" (inputs: ${names.join(', ')})`);
    }
    for (const e of manifest.inputs) {
      const x = pixels(e, Object.prototype.hasOwnProperty.call(feeds, e.name) ? feeds[e.name] : undefined) as TypedArray;
      const want = ARRAY[e.dtype].name;
      if (x === undefined) throw new Error(`missing input "${e.name}" (${e.dtype}, shape [${e.shape}])`);
      if (arrayType(x) !== want && !(e.image && arrayType(x) === 'Uint8ClampedArray')) throw new Error(`input "${e.name}" must be a ${want} (${e.dtype}), got ${arrayType(x)}`);
      if (x.length !== count(e.shape)) throw new Error(`input "${e.name}" has ${x.length} elements, shape [${e.shape}] needs ${count(e.shape)}`);
    }
  }

  function run(feeds: Record<string, Feed>): Record<string, Output> {
    check(feeds); // every feed is checked before any is written
    for (const e of manifest.inputs) {
      const x = pixels(e, feeds[e.name]) as TypedArray;
      new Uint8Array(exp.memory.buffer, e.offset, e.bytes).set(new Uint8Array(x.buffer, x.byteOffset, e.bytes));
    }
    const status = exp.run();
    if (status !== 0) throw new Error(`model run failed with status ${status} (an index input was out of range)`);
    const out: Record<string, Output> = {};
    for (const e of manifest.outputs) {
      if (e.dynamic) {
        // A data-dependent output: its actual dims are in memory, its data packed for them at the start of the buffer.
        const shape = Array.from(new Int32Array(exp.memory.buffer, e.dynamic.dims, e.shape.length));
        out[e.name] = { data: new ARRAY[e.dtype](exp.memory.buffer, e.offset, count(shape)).slice(), shape };
        continue;
      }
      const bytes = new Uint8Array(exp.memory.buffer, e.offset, e.bytes).slice(); // a copy: the next run overwrites memory
      out[e.name] = { data: new ARRAY[e.dtype](bytes.buffer, 0, count(e.shape)), shape: e.shape.slice() };
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
  return { inputs: manifest.inputs.map(spec), outputs: manifest.outputs.map(spec), manifest, memory: exp.memory, run };
}
