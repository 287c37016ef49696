// The library API: compile(model, options) -> { wasm, manifest, report }.

import { dirname } from 'node:path';
import { CompileError } from './errors.js';
import { decodeModel, readModelFile } from './onnx/decode.js';
import { checkSupported } from './passes/check.js';
import { validateGraph } from './passes/validate.js';
import { bindInputs, type ConstantBinding } from './passes/bind.js';
import { imageTensorShapes, insertImageInputs, type ImageInputOptions } from './passes/image-input.js';
import { inferAndFold, eliminateDeadCode } from './passes/infer.js';
import { optimizeGraph } from './passes/optimize.js';
import { lowerQdq, type QuantSummary } from './passes/lower-qdq.js';
import { fuseIntegerScale } from './passes/fuse-integer-scale.js';
import { flattenControlFlow } from './passes/control-flow.js';
import { buildModule, type Manifest } from '../codegen/module.js';
import { sectionSizes } from '../codegen/sections.js';
import type { Target } from '../codegen/wasm.js';
import { VERSION } from './version.js';

export { CompileError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Manifest } from '../codegen/module.js';
export { VERSION } from './version.js';
export { cHeader } from './c-header.js';
export type { ImageInputOptions, ImageFormat, ImageLayout } from './passes/image-input.js';

export interface CompileOptions {
  /** Static dims for inputs, binding symbolic dimensions: { input: [1, 3, 224, 224] }. */
  shapes?: Record<string, number[]>;
  /** Inputs folded into the model as constants: { k: { data: BigInt64Array.of(3n), shape: [1] } }. */
  constants?: Record<string, ConstantBinding>;
  /** 'simd' (SIMD128, default) or 'scalar' (no SIMD instructions, for interpreters such as WAMR). */
  target?: Target;
  /** Run binaryen's optimizer (default true). */
  optimize?: boolean;
  /**
   * Image inputs: the named float32 input takes an 8-bit RGBA/RGB/gray frame instead, resized, normalized and laid
   * out inside the module: { input: { format: 'RGBA', height: 480, width: 640, mean: [0.5], std: [0.5] } }.
   */
  imageInputs?: Record<string, ImageInputOptions>;
  /** Folder holding external-data files when the model is given as bytes (default: the model's folder). */
  baseDir?: string;
  /** Called as each stage starts (for progress display). */
  onProgress?: (stage: 'decode' | 'passes' | 'codegen' | 'optimize') => void;
}

export interface CompileReport {
  target: Target;
  /** Bytes of the file: the whole module, its code (all but data and manifest), weights (data section), manifest. */
  sizes: { total: number; code: number; weights: number; manifest: number };
  /** Operator types emitted, with node counts (after folding and fusion). */
  ops: Record<string, number>;
  nodes: { model: number; emitted: number };
  kernels: number;
  /** Nodes per kernel variant, as 'Op:variant' (for example 'Conv:winograd-f2x2-3x3', 'QLinearConv:int8-depthwise'). */
  variants: Record<string, number>;
  /** QDQ models: the float ops that now run in int8 (by op type), and those that stayed float with the reason. */
  quantization: QuantSummary;
  memory: Manifest['memory'];
  timeMs: { decode: number; passes: number; codegen: number; total: number };
}

export interface CompileResult { wasm: Uint8Array; manifest: Manifest; report: CompileReport }

export async function compile(model: Uint8Array | ArrayBuffer | string, options: CompileOptions = {}): Promise<CompileResult> {
  return compileSync(model, options);
}

/** The same as compile(), synchronously (compilation does no I/O beyond reading the model). */
export function compileSync(model: Uint8Array | ArrayBuffer | string, options: CompileOptions = {}): CompileResult {
  const target = options.target ?? 'simd';
  if (target !== 'simd' && target !== 'scalar') throw new CompileError('BAD_OPTION', `unknown target "${target}" (use simd or scalar)`);
  const t0 = performance.now();
  options.onProgress?.('decode');
  let bytes: Uint8Array;
  let baseDir = options.baseDir;
  if (typeof model === 'string') {
    bytes = readModelFile(model);
    baseDir ??= dirname(model);
  } else bytes = model instanceof Uint8Array ? model : new Uint8Array(model);
  const graph = decodeModel(bytes, { baseDir });
  const modelNodes = graph.nodes.length;
  const t1 = performance.now();
  options.onProgress?.('passes');
  validateGraph(graph);
  checkSupported(graph);
  const images = options.imageInputs ?? {};
  bindInputs(graph, { ...options.shapes, ...imageTensorShapes(graph, images, options) }, options.constants);
  insertImageInputs(graph, images);
  inferAndFold(graph, { keepDequantizedConstants: true });
  const quantization = lowerQdq(graph);
  fuseIntegerScale(graph);
  eliminateDeadCode(graph);
  // Fold the DequantizeLinear nodes of constants that no int8 op took (and what depends only on them).
  if (graph.nodes.some((n) => n.opType === 'DequantizeLinear' && n.inputs.every((i) => !i || graph.values.get(i)?.const))) {
    inferAndFold(graph);
    eliminateDeadCode(graph);
  }
  optimizeGraph(graph);
  eliminateDeadCode(graph);
  flattenControlFlow(graph);
  const t2 = performance.now();
  options.onProgress?.('codegen');
  const { wasm, manifest, stats } = buildModule(graph, { target, optimize: options.optimize ?? true, producer: `onnx2wasm ${VERSION}` });
  const t3 = performance.now();
  const report: CompileReport = {
    target,
    sizes: { total: wasm.length, ...sectionSizes(wasm) },
    ops: stats.ops,
    nodes: { model: modelNodes, emitted: graph.nodes.length },
    kernels: stats.kernels,
    variants: stats.variants,
    quantization,
    memory: manifest.memory,
    timeMs: { decode: t1 - t0, passes: t2 - t1, codegen: t3 - t2, total: t3 - t0 },
  };
  return { wasm, manifest, report };
}
