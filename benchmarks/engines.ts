// The engines measured side by side in one process, behind one interface: onnx2wasm (runtime-min on the
// compiled module), onnxruntime-web (wasm backend, SIMD, 1 thread) and onnxruntime-node (native CPU, 1 thread);
// in the int8 section also onnx2wasm's fp32 module of the same model (onnx2wasm-fp32).

import * as ortNode from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import { loadSync } from '../runtime-min/index.js';
import type { DType, TypedArray } from '../src/ir/dtype.js';
import type { Tensor } from '../src/ir/graph.js';

export type EngineName = 'onnx2wasm' | 'onnx2wasm-fp32' | 'ort-web' | 'ort-node';
export type Outputs = Record<string, { data: TypedArray; shape: number[] }>;

export interface Engine {
  readonly name: EngineName;
  /** One inference on the bound inputs (onnx2wasm runs synchronously; the ORT engines return a promise). */
  run(): Outputs | Promise<Outputs>;
  release(): Promise<void>;
  /** onnx2wasm only: the module's linear memory after loading, bytes. */
  linearMemoryBytes?: number;
}

/** The settings onnxruntime-web is compared under (the issue's: wasm backend, SIMD, one thread). */
export function configureOrtWeb(): void {
  ortWeb.env.wasm.numThreads = 1;
  ortWeb.env.wasm.simd = true;
  ortWeb.env.wasm.proxy = false;
}

export function createOurs(wasm: Uint8Array, feeds: Record<string, Tensor>, name: 'onnx2wasm' | 'onnx2wasm-fp32' = 'onnx2wasm'): Engine {
  const model = loadSync(wasm);
  const arrays = Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.data]));
  return { name, run: () => model.run(arrays), release: async () => {}, linearMemoryBytes: model.memory.buffer.byteLength };
}

export async function createOrtWeb(bytes: Uint8Array, feeds: Record<string, Tensor>): Promise<Engine> {
  configureOrtWeb();
  const session = await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] });
  return ortEngine('ort-web', session, bindOrt(feeds, ortWeb.Tensor));
}

/**
 * `optimization: 'basic'` is the int8 section's reference: at that level onnxruntime executes QuantizeLinear and
 * DequantizeLinear as the ONNX spec defines them; its default level fuses Q/DQ pairs into its own int8 kernels,
 * which round differently.
 */
export async function createOrtNode(bytes: Uint8Array, feeds: Record<string, Tensor>, optimization?: 'basic'): Promise<Engine> {
  const session = await ortNode.InferenceSession.create(bytes, {
    executionProviders: ['cpu'], intraOpNumThreads: 1, interOpNumThreads: 1, executionMode: 'sequential',
    ...(optimization ? { graphOptimizationLevel: optimization } : {}),
  });
  return ortEngine('ort-node', session, bindOrt(feeds, ortNode.Tensor));
}

type OrtSession = ortNode.InferenceSession | ortWeb.InferenceSession;
type OrtTensorCtor = new (type: never, data: never, dims: number[]) => unknown;

function ortEngine(name: EngineName, session: OrtSession, feeds: Record<string, unknown>): Engine {
  return {
    name,
    async run() {
      const res = await session.run(feeds as never);
      const out: Outputs = {};
      for (const k of session.outputNames) out[k] = { data: res[k].data as TypedArray, shape: [...res[k].dims] };
      return out;
    },
    release: () => session.release(),
  };
}

const ORT_TYPE: Partial<Record<DType, string>> = {
  float32: 'float32', float64: 'float64', float16: 'float16', int8: 'int8', int16: 'int16', int32: 'int32',
  int64: 'int64', uint8: 'uint8', uint16: 'uint16', uint32: 'uint32', uint64: 'uint64', bool: 'bool',
};

function bindOrt(feeds: Record<string, Tensor>, TensorCtor: OrtTensorCtor): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const [name, t] of Object.entries(feeds)) {
    const type = ORT_TYPE[t.dtype];
    if (!type) throw new Error(`input "${name}": onnxruntime's JS API has no ${t.dtype} tensors`);
    out[name] = new TensorCtor(type as never, t.data as never, t.shape);
  }
  return out;
}
