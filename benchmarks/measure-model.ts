// One model through the whole suite: compile, cold starts in fresh processes, then all engines in this
// process: outputs checked against onnxruntime-node's, interleaved steady-state runs. Every stage catches
// its own failure, so a model that does not compile still gets a row (with the reference engines' numbers).
// A QDQ model of the int8 section (c.fp32Path set) also gets onnx2wasm's fp32 module of its fp32 model as a
// fourth engine, and its outputs are checked against onnxruntime-node at 'basic' (the spec's Q/DQ arithmetic).

import { readFileSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { compile } from '../src/index.js';
import type { BenchCase } from './cases.js';
import { coldStarts, writeFeeds, type ColdTarget } from './cold.js';
import { createOrtNode, createOrtWeb, createOurs, type Engine, type EngineName, type Outputs } from './engines.js';
import { compareOutputs, interleaved, summarize, timeRun } from './measure.js';
import type { Progress } from './progress.js';
import type { CompileResult, Int8Result, ModelResult } from './results.js';

export interface MeasureOptions {
  target: 'simd' | 'scalar';
  runs: number;
  warmup: number;
  coldReps: number;
  /** Where each model's .wasm, .onnx and input files are written for the cold-start children. */
  cacheDir: string;
  /** URL of the bundled runtime-min the onnx2wasm child imports. */
  runtimeModule: string;
  progress: Progress;
}

const message = (e: unknown) => {
  const err = e as { code?: string; message?: string };
  const text = (err?.message ?? String(e)).split('\n')[0];
  return err?.code && !text.startsWith(err.code) ? `${err.code}: ${text}` : text;
};

export async function measureModel(c: BenchCase, o: MeasureOptions): Promise<ModelResult> {
  const result: ModelResult = {
    name: c.name, description: c.description, inputSource: c.inputSource,
    inputs: Object.entries(c.feeds).map(([name, t]) => ({ name, dtype: t.dtype, shape: t.shape })),
    engines: { 'onnx2wasm': {}, 'ort-web': {}, 'ort-node': {} }, check: { reference: 'ort-node' }, ratios: {},
  };
  if (c.error) {
    result.compileError = c.error;
    for (const e of Object.values(result.engines)) e.error = c.error;
    return result;
  }
  const dir = join(o.cacheDir, c.name.replace(/[^\w.-]/g, '_'));
  mkdirSync(dir, { recursive: true });
  const onnxPath = c.path ?? join(dir, 'model.onnx');
  if (!c.path) writeFileSync(onnxPath, c.bytes);
  // a built-in int8 case's fp32 twin goes beside it, so the rest reads every fp32 model from a file
  const fp32Path = c.fp32Path ?? (c.fp32Bytes ? join(dir, 'fp32.onnx') : undefined);
  if (c.fp32Bytes && fp32Path) writeFileSync(fp32Path, c.fp32Bytes);

  o.progress.stage(`${c.name}: compiling`);
  let wasm: Uint8Array | undefined;
  try {
    const compiled = await compileCase(c.path ?? c.bytes, c, o.target);
    wasm = compiled.wasm;
    result.compile = compiled.result;
    writeFileSync(join(dir, 'model.wasm'), wasm);
    if (fp32Path) result.int8 = { ...int8Slot(c, fp32Path), quantization: compiled.quantization };
  } catch (e) {
    result.compileError = message(e);
  }
  let fp32Wasm: Uint8Array | undefined;
  if (fp32Path) {
    const int8 = (result.int8 ??= int8Slot(c, fp32Path));
    result.engines['onnx2wasm-fp32'] = {};
    o.progress.stage(`${c.name}: compiling the fp32 model`);
    try {
      const compiled = await compileCase(fp32Path, c, o.target);
      fp32Wasm = compiled.wasm;
      int8.fp32Compile = compiled.result;
    } catch (e) {
      int8.fp32CompileError = message(e);
    }
  }

  // Fresh processes first: a module that hangs is then killed there (timeout) instead of stalling this process.
  await measureColdStarts(c, o, result, wasm ? join(dir, 'model.wasm') : undefined, onnxPath, writeFeeds(dir, c.feeds));
  const hung = (name: EngineName) => /timeout/.test(result.engines[name]?.coldError ?? '');

  // Load every engine that can be loaded; its first run gives the outputs to compare.
  o.progress.stage(`${c.name}: loading engines`);
  const engines: Engine[] = [];
  const firstOutputs = new Map<EngineName, Outputs>();
  const creators: [EngineName, () => Engine | Promise<Engine>][] = [
    ['onnx2wasm', () => createOurs(wasm!, c.feeds)],
    ...(fp32Path ? [['onnx2wasm-fp32', () => createOurs(fp32Wasm!, c.feeds, 'onnx2wasm-fp32')] as [EngineName, () => Engine]] : []),
    ['ort-web', () => createOrtWeb(c.bytes, c.feeds)],
    ['ort-node', () => createOrtNode(c.bytes, c.feeds)],
  ];
  for (const [name, create] of creators) {
    const slot = result.engines[name]!;
    if ((name === 'onnx2wasm' && !wasm) || (name === 'onnx2wasm-fp32' && !fp32Wasm)) { slot.error = 'not compiled'; continue; }
    if (hung(name)) { slot.error = 'skipped: its cold-start process timed out'; continue; }
    try {
      const t0 = performance.now();
      const engine = await create();
      slot.loadMs = performance.now() - t0;
      const first = await timeRun(engine);
      slot.firstRunMs = first.ms;
      firstOutputs.set(name, first.outputs);
      engines.push(engine);
      if (result.int8 && engine.linearMemoryBytes !== undefined) {
        result.int8.linearMemory[name === 'onnx2wasm' ? 'int8' : 'fp32'] = engine.linearMemoryBytes;
      }
    } catch (e) {
      slot.error = message(e);
    }
  }
  const reference = fp32Path ? await int8References(c, fp32Path, result, firstOutputs, o.progress) : firstOutputs.get('ort-node');
  if (reference) {
    for (const name of ['onnx2wasm', 'ort-web'] as const) {
      const outputs = firstOutputs.get(name);
      if (outputs) result.check[name] = compareOutputs(outputs, reference);
    }
  }

  const { samples, errors } = await interleaved(engines, o.warmup, o.runs, (i) =>
    o.progress.tick(`${c.name}: ${i < o.warmup ? `warm-up ${i + 1}/${o.warmup}` : `run ${i - o.warmup + 1}/${o.runs}`}`));
  for (const [name, s] of samples) if (s.length) result.engines[name]!.steady = summarize(s);
  for (const [name, e] of errors) result.engines[name]!.error = `during steady-state runs: ${message(e)}`;
  for (const engine of engines) await engine.release().catch(() => {});

  computeRatios(result);
  return result;
}

/**
 * The int8 section's references: onnxruntime-node at 'basic' on the QDQ model (returned: what the int8 module and
 * onnxruntime-web are checked against), and onnxruntime-node on the fp32 model for onnx2wasm's fp32 module.
 */
async function int8References(c: BenchCase, fp32Path: string, result: ModelResult, firstOutputs: Map<EngineName, Outputs>, progress: Progress) {
  result.check.reference = 'ort-node basic';
  progress.stage(`${c.name}: reference outputs (onnxruntime-node, 'basic')`);
  let reference: Outputs | undefined;
  try {
    reference = await outputsOnce(() => createOrtNode(c.bytes, c.feeds, 'basic'));
  } catch (e) {
    result.check.referenceError = message(e);
  }
  const fp32Outputs = firstOutputs.get('onnx2wasm-fp32');
  if (fp32Outputs && result.int8) {
    try {
      const fp32Bytes = new Uint8Array(readFileSync(fp32Path));
      result.int8.fp32Check = compareOutputs(fp32Outputs, await outputsOnce(() => createOrtNode(fp32Bytes, c.feeds)));
    } catch (e) {
      result.engines['onnx2wasm-fp32']!.error = `checking against onnxruntime-node: ${message(e)}`;
    }
  }
  return reference;
}

/** compile() timed, with the sizes and memory the suite reports. */
async function compileCase(source: string | Uint8Array, c: BenchCase, target: 'simd' | 'scalar') {
  const t0 = performance.now();
  // The feeds' shapes bind any symbolic dimension (batch size...) to the inputs actually measured.
  const shapes = Object.fromEntries(Object.entries(c.feeds).map(([name, t]) => [name, t.shape]));
  const { wasm, report } = await compile(source, { target, shapes });
  const ms = performance.now() - t0;
  const result: CompileResult = {
    ms, stagesMs: report.timeMs, sizes: { ...report.sizes, gzip: gzipSync(wasm, { level: 9 }).length },
    memory: report.memory, ops: report.ops, kernels: report.kernels,
  };
  return { wasm, result, quantization: report.quantization };
}

function int8Slot(c: BenchCase, fp32Path: string): Int8Result {
  return { qdqFileBytes: c.path ? statSync(c.path).size : c.bytes.length, fp32Path, linearMemory: {} };
}

/** One inference of a freshly created engine, released afterwards (reference outputs). */
async function outputsOnce(create: () => Promise<Engine>): Promise<Outputs> {
  const engine = await create();
  try {
    return (await timeRun(engine)).outputs;
  } finally {
    await engine.release().catch(() => {});
  }
}

async function measureColdStarts(c: BenchCase, o: MeasureOptions, result: ModelResult, wasmPath: string | undefined, onnxPath: string, feeds: string) {
  if (o.coldReps <= 0) return;
  const targets: ColdTarget[] = [{ engine: 'ort-web', module: 'onnxruntime-web', model: onnxPath }];
  if (wasmPath) targets.unshift({ engine: 'onnx2wasm', module: o.runtimeModule, model: wasmPath });
  o.progress.stage(`${c.name}: cold starts (${o.coldReps} x ${targets.length} fresh processes)`);
  const cold = await coldStarts(targets, feeds, o.coldReps);
  for (const [engine, r] of cold) {
    if (r instanceof Error) result.engines[engine].coldError = r.message;
    else result.engines[engine].cold = r;
  }
}

function computeRatios(r: ModelResult): void {
  const ours = r.engines['onnx2wasm'], web = r.engines['ort-web'], native = r.engines['ort-node'];
  const ratio = (a?: number, b?: number) => (a !== undefined && b !== undefined && b > 0 ? a / b : undefined);
  r.ratios = {
    latency: ratio(ours.steady?.median, web.steady?.median),
    coldStart: ratio(ours.cold?.coldMs, web.cold?.coldMs),
    latencyVsOrtNode: ratio(ours.steady?.median, native.steady?.median),
    firstRunOverSteady: ratio(ours.cold?.firstRunMs, ours.steady?.median),
    int8OverFp32: r.int8 ? ratio(ours.steady?.median, r.engines['onnx2wasm-fp32']?.steady?.median) : undefined,
  };
}
