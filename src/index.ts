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
import type { Graph } from './ir/graph.js';
import { quantize, type Int8Options, type Int8Report } from './quantize/index.js';
import { readAttrTypes } from './quantize/write-onnx.js';
import { checkMemoryBudget, parseBytes } from './passes/memory-budget.js';

export { CompileError } from './errors.js';
export type { ErrorCode } from './errors.js';
export type { Manifest } from '../codegen/module.js';
export { VERSION } from './version.js';
export { cHeader } from './c-header.js';
export type { ImageInputOptions, ImageFormat, ImageLayout } from './passes/image-input.js';
export type { Int8Options, Int8Report, LayerError, Feed, CalibrationMethod } from './quantize/index.js';

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
  /**
   * Build an instrumented module that times each node's kernel (runtime-min: model.profile()). It imports a clock
   * (onnx2wasm.now); its outputs are those of the normal build. Default false: the module imports nothing.
   */
  profile?: boolean;
  /**
   * Post-training int8 quantization (compile() only): calibrates activation ranges on `calibration`, writes a QDQ
   * model (result.onnx) and compiles it onto the int8 kernels; report.int8 holds the error per layer.
   */
  int8?: Int8Options;
  /** Fail with OVER_BUDGET when the module's linear memory would exceed this: bytes, or a size such as '8MB'. */
  maxMemory?: number | string;
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
  /** With the int8 option: calibration method, error per layer (worst first in `worst`) and per output. */
  int8?: Int8Report;
  memory: Manifest['memory'];
  timeMs: { decode: number; passes: number; codegen: number; total: number };
}

export interface CompileResult {
  wasm: Uint8Array;
  manifest: Manifest;
  report: CompileReport;
  /** With the int8 option: the quantized model as a standard QDQ ONNX file. */
  onnx?: Uint8Array;
}

export async function compile(model: Uint8Array | ArrayBuffer | string, options: CompileOptions = {}): Promise<CompileResult> {
  if (!options.int8) return compileSync(model, options);
  const { int8, ...rest } = options;
  if (options.imageInputs && Object.keys(options.imageInputs).length) throw new CompileError('BAD_OPTION', 'int8 and imageInputs cannot be combined yet: quantize the model, then compile its QDQ file with imageInputs');
  if (options.maxMemory !== undefined) parseBytes(options.maxMemory);
  const t0 = performance.now();
  const { bytes, baseDir } = readModel(model, options);
  const decoded = decodeModel(bytes, { baseDir });
  const modelNodes = decoded.nodes.length;
  const graph = prepareGraph(decoded, options);
  const target = options.target ?? 'simd';
  const compileBytes = (onnx: Uint8Array) => compileSync(onnx, { target, optimize: options.optimize }).wasm;
  const quantized = await quantize(graph, readAttrTypes(bytes), int8, compileBytes);
  // The QDQ model has the inputs bound and constants folded already.
  const result = compileSync(quantized.onnx, { ...rest, shapes: undefined, constants: undefined });
  result.report.int8 = quantized.report;
  result.report.nodes.model = modelNodes;
  result.report.timeMs.total = performance.now() - t0;
  return { ...result, onnx: quantized.onnx };
}

function readModel(model: Uint8Array | ArrayBuffer | string, options: CompileOptions): { bytes: Uint8Array; baseDir?: string } {
  if (typeof model === 'string') return { bytes: readModelFile(model), baseDir: options.baseDir ?? dirname(model) };
  return { bytes: model instanceof Uint8Array ? model : new Uint8Array(model), baseDir: options.baseDir };
}

/** Checked, inputs bound and constants folded: the float graph every later stage starts from. */
function prepareGraph(graph: Graph, options: CompileOptions): Graph {
  validateGraph(graph);
  checkSupported(graph);
  const images = options.imageInputs ?? {};
  bindInputs(graph, { ...options.shapes, ...imageTensorShapes(graph, images, options) }, options.constants);
  insertImageInputs(graph, images);
  inferAndFold(graph, { keepDequantizedConstants: true });
  return graph;
}

/** The same as compile(), synchronously (compilation does no I/O beyond reading the model). */
export function compileSync(model: Uint8Array | ArrayBuffer | string, options: CompileOptions = {}): CompileResult {
  const target = options.target ?? 'simd';
  if (target !== 'simd' && target !== 'scalar') throw new CompileError('BAD_OPTION', `unknown target "${target}" (use simd or scalar)`);
  const t0 = performance.now();
  if (options.int8) throw new CompileError('BAD_OPTION', 'int8 calibration runs the model: use compile(), not compileSync()');
  const budget = options.maxMemory === undefined ? undefined : parseBytes(options.maxMemory);
  options.onProgress?.('decode');
  const { bytes, baseDir } = readModel(model, options);
  const graph = decodeModel(bytes, { baseDir });
  const modelNodes = graph.nodes.length;
  const t1 = performance.now();
  options.onProgress?.('passes');
  prepareGraph(graph, options);
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
  const { wasm, manifest, stats } = buildModule(graph, { target, optimize: options.optimize ?? true, profile: options.profile ?? false, producer: `onnx2wasm ${VERSION}` });
  const t3 = performance.now();
  if (budget !== undefined) checkMemoryBudget(graph, manifest.memory, budget, Object.keys(quantization.int8).length > 0);
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
