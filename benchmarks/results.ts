// The shape of results.json: one entry per model, plus the run's settings and summary.

import type { CompileReport } from '../src/index.js';
import type { ColdStats } from './cold.js';
import type { EngineName } from './engines.js';
import type { Difference, Stats } from './measure.js';

export interface EngineResult {
  /** In the suite's process: onnx2wasm instantiation, or ORT session creation, ms. */
  loadMs?: number;
  /** In the suite's process: the first inference after loading, ms. */
  firstRunMs?: number;
  steady?: Stats;
  /** Fresh-process measurements (onnx2wasm and ort-web only). */
  cold?: ColdStats;
  error?: string;
  coldError?: string;
}

export interface CompileResult {
  ms: number;
  stagesMs: CompileReport['timeMs'];
  /** Bytes: whole module, code, weights, manifest; gzip of the whole module (level 9). */
  sizes: CompileReport['sizes'] & { gzip: number };
  memory: CompileReport['memory'];
  ops: Record<string, number>;
  kernels: number;
}

/** int8 section: what the QDQ model is compared with besides the engines' timings. */
export interface Int8Result {
  /** The QDQ model file's size, bytes (the .wasm's budget: this + 5% + 64 KB). */
  qdqFileBytes: number;
  /** The fp32 model the QDQ model was quantized from; onnx2wasm's module of it is the 'onnx2wasm-fp32' engine. */
  fp32Path: string;
  fp32Compile?: CompileResult;
  fp32CompileError?: string;
  /** Which ops the QDQ lowering turned into int8 operations, and which stayed float (report.quantization). */
  quantization?: CompileReport['quantization'];
  /** The modules' linear memory once loaded (WebAssembly.Memory byteLength), bytes. */
  linearMemory: { int8?: number; fp32?: number };
  /** onnx2wasm's fp32 module against onnxruntime-node (default options) on the fp32 model, same feeds. */
  fp32Check?: Difference;
}

export interface ModelResult {
  name: string;
  /** zoo section: a whole network of the zoo, or a single-operator configuration. */
  group?: 'zoo' | 'ops';
  description: string;
  inputSource: string;
  inputs: { name: string; dtype: string; shape: number[] }[];
  compile?: CompileResult;
  /** Why the model did not compile (or its inputs could not be prepared); the reference engines still run. */
  compileError?: string;
  /** onnx2wasm-fp32 is measured in the int8 section only. */
  engines: Record<Exclude<EngineName, 'onnx2wasm-fp32'>, EngineResult> & { 'onnx2wasm-fp32'?: EngineResult };
  /**
   * Output differences against onnxruntime-node's outputs on the same inputs: its timed session (default
   * options) for fp32 models; a separate session at graphOptimizationLevel 'basic' (the spec's Q/DQ
   * arithmetic) for the int8 section's QDQ models.
   */
  check: { reference: 'ort-node' | 'ort-node basic'; referenceError?: string; 'onnx2wasm'?: Difference; 'ort-web'?: Difference };
  int8?: Int8Result;
  ratios: {
    /** Steady-state median latency, onnx2wasm / ort-web (the main number; target <= 0.67). */
    latency?: number;
    /** Fresh-process bytes -> first result, onnx2wasm / ort-web (target <= 0.2). */
    coldStart?: number;
    latencyVsOrtNode?: number;
    /** onnx2wasm's fresh-process first run / its steady median (target <= 3). */
    firstRunOverSteady?: number;
    /** int8 section: steady median of the int8 module / of onnx2wasm's fp32 module (target <= 0.6). */
    int8OverFp32?: number;
  };
}

export interface SuiteResult {
  /**
   * 'float': models measured as they are (issue 4); 'int8': QDQ models, with onnx2wasm's fp32 build beside them
   * (issue 8); 'zoo': the suite's zoo and single-operator configurations (issue 10).
   */
  section: 'float' | 'int8' | 'zoo';
  date: string;
  machine: {
    cpu: string; cores: number; platform: string; node: string;
    /** 1-minute load average when the run started and ended: above the core count, other work shared the CPUs. */
    loadAverage: { start: number; end?: number };
  };
  versions: { onnx2wasm: string; 'onnxruntime-web': string; 'onnxruntime-node': string };
  options: { models: string; fp32?: string; filter?: string; runs: number; warmup: number; coldReps: number; target: 'simd' | 'scalar' };
  /** The .wasm onnxruntime-web loads in Node (what a web page would download), bytes and gzip (level 9). */
  ortWebWasm: { file: string; bytes: number; gzip: number };
  /** runtime-min minified, as shipped with an onnx2wasm module. */
  runtimeMin: { bytes: number; gzip: number };
  nodeBaselineRssMB?: number;
  models: ModelResult[];
  summary: {
    models: number;
    compiled: number;
    geomeanLatencyRatio?: number;
    geomeanColdStartRatio?: number;
    /**
     * Models whose outputs differ from the reference's by more than 1e-3 * max |reference| + 1e-4 (int8 section:
     * by more than 3% of an output's range).
     */
    mismatches: string[];
    /** zoo section: per group, the geometric mean and the worst latency ratio over the measured rows. */
    zoo?: Record<'zoo' | 'ops', { models: number; measured: number; geomean?: number; worst?: { name: string; ratio: number } }>;
    /** int8 section: geometric means over the four models (when all were measured) and over all models. */
    int8?: {
      keyModels: string[];
      int8OverOrtWeb: { key?: number; keyCount: number; all?: number; allCount: number };
      int8OverFp32: { key?: number; keyCount: number; all?: number; allCount: number };
    };
  };
}
