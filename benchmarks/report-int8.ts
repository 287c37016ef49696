// The int8 section of the suite (issue 8): QDQ models run by onnx2wasm's int8 module, onnxruntime-web and
// onnxruntime-node on the QDQ file, and onnx2wasm's fp32 module of the fp32 model, on the same inputs. This file
// turns those results into the summary (geometric means), the markdown report and its acceptance lines.

import { diff, geomean, kb, ms, ratio } from './format.js';
import { checkLine, clip, escapeCell, firstProblem, INT8_TOLERANCE, loadText, outputsMatch, problemList, tableOf } from './report.js';
import type { ModelResult, SuiteResult } from './results.js';
import { DYNAMIC_QUANT_NAME } from './models/dynamic-quant.js';

/** The models issue 8's speed targets are stated over. */
export const INT8_KEY_MODELS = ['mobilenet_v2', 'resnet18', 'squeezenet1_1', 'tiny_yolo'];

/** Issue 8's targets. */
export const INT8_TARGETS = {
  int8OverOrtWeb: 0.33,
  int8OverFp32: 0.6,
  /** Linear memory of the int8 mobilenet_v2 module (an ESP32's PSRAM). */
  mobilenetMemoryBytes: 8 * 1024 * 1024,
  resnet18CompileMs: 3000,
};

type RatioKey = 'latency' | 'int8OverFp32';

function means(models: ModelResult[], key: RatioKey) {
  const values = (list: ModelResult[]) => list.flatMap((m) => m.ratios[key] ?? []);
  const keyValues = values(models.filter((m) => INT8_KEY_MODELS.includes(m.name)));
  const allValues = values(models);
  return { key: geomean(keyValues), keyCount: keyValues.length, all: geomean(allValues), allCount: allValues.length };
}

export function int8Summary(models: ModelResult[]): NonNullable<SuiteResult['summary']['int8']> {
  return { keyModels: INT8_KEY_MODELS, int8OverOrtWeb: means(models, 'latency'), int8OverFp32: means(models, 'int8OverFp32') };
}

/** The .wasm against the QDQ file it was compiled from: at most its size + 5% + 64 KB. */
export function withinQdqBudget(m: ModelResult): boolean | undefined {
  if (!m.compile || !m.int8) return undefined;
  return m.compile.sizes.total <= m.int8.qdqFileBytes * 1.05 + 64 * 1024;
}

const HEADER = [
  'model', 'compile ms int8 / fp32', '.wasm KB int8 (code + weights) / QDQ file KB', 'linear memory KB int8 / fp32',
  'ops int8 / stayed float', 'median ms int8 / fp32 / ort-web / ort-node', 'int8 / ort-web', 'int8 / fp32',
  'p90 ms int8 / ort-web', 'cold start ms int8 / ort-web (ratio)', 'diff / range int8 (ort-web)', 'fp32 max diff', 'notes',
];

const diffOverRange = (v: number | undefined) => (v === undefined ? '–' : Number.isFinite(v) ? `${(v * 100).toFixed(2)}%` : 'mismatch');

function row(m: ModelResult): string[] {
  const q = m.engines['onnx2wasm'], f = m.engines['onnx2wasm-fp32'], web = m.engines['ort-web'], native = m.engines['ort-node'];
  const c = m.compile, i8 = m.int8, d = m.check['onnx2wasm'];
  const quantized = i8?.quantization ? Object.values(i8.quantization.int8).reduce((a, b) => a + b, 0) : undefined;
  const budget = withinQdqBudget(m) === false ? ' ✗' : '';
  const fp32Mark = i8?.fp32Check && !outputsMatch(i8.fp32Check) ? ' ✗' : '';
  return [
    m.name,
    `${c ? ms(c.ms) : '✗'} / ${i8?.fp32Compile ? ms(i8.fp32Compile.ms) : '✗'}`,
    c ? `${kb(c.sizes.total)} (${kb(c.sizes.code)} + ${kb(c.sizes.weights)}) / ${kb(i8?.qdqFileBytes)}${budget}` : `– / ${kb(i8?.qdqFileBytes)}`,
    `${kb(i8?.linearMemory.int8)} / ${kb(i8?.linearMemory.fp32)}`,
    i8?.quantization ? `${quantized} / ${i8.quantization.float.length}` : '–',
    `${ms(q.steady?.median)} / ${ms(f?.steady?.median)} / ${ms(web.steady?.median)} / ${ms(native.steady?.median)}`,
    ratio(m.ratios.latency),
    ratio(m.ratios.int8OverFp32),
    `${ms(q.steady?.p90)} / ${ms(web.steady?.p90)}`,
    `${ms(q.cold?.coldMs)} / ${ms(web.cold?.coldMs)} (${ratio(m.ratios.coldStart)})`,
    `${diffOverRange(d?.maxDiffOverRange)}${d && !outputsMatch(d, m.check.reference) ? ' ✗' : ''} (${diffOverRange(m.check['ort-web']?.maxDiffOverRange)})`,
    i8?.fp32Check ? diff(i8.fp32Check.maxAbsDiff) + fp32Mark : '–',
    clip(firstProblem(m) ?? '', 90),
  ].map(escapeCell);
}

export function int8Table(r: SuiteResult): string {
  return tableOf(HEADER, r.models.map(row));
}

/** Issue 8's acceptance points that the suite measures, checked on this run (one line each). */
export function int8Acceptance(r: SuiteResult): string[] {
  const check = checkLine;
  const s = r.summary.int8 ?? int8Summary(r.models);
  const n = INT8_KEY_MODELS.length;
  const keys = INT8_KEY_MODELS.map((name) => r.models.find((m) => m.name === name));
  const missing = INT8_KEY_MODELS.filter((_, i) => !keys[i]).map((name) => `${name} not in this run`);
  const notMeasured = (key: RatioKey) => INT8_KEY_MODELS.filter((_, i) => keys[i] && keys[i]!.ratios[key] === undefined).map((name) => `${name} not measured`);
  const over = (key: RatioKey, limit: number) => keys.flatMap((m) => (m && (m.ratios[key] ?? 0) > limit ? [`${m.name} ${ratio(m.ratios[key])}`] : []));
  const compiled = r.models.filter((m) => m.compile);
  const unchecked = compiled.filter((m) => !m.check['onnx2wasm']).map((m) => `${m.name} unchecked`);
  const lines = [
    check(compiled.length === r.models.length && r.models.every((m) => m.int8?.fp32Compile),
      `every QDQ model and its fp32 model compile (${compiled.length}/${r.models.length} QDQ, ${r.models.filter((m) => m.int8?.fp32Compile).length}/${r.models.length} fp32)`,
      r.models.filter((m) => !m.compile || !m.int8?.fp32Compile).map((m) => m.name)),
    check(!r.summary.mismatches.length && !unchecked.length,
      `outputs within ${INT8_TOLERANCE * 100}% of each output's range of onnxruntime-node 'basic' (the spec's Q/DQ arithmetic)`,
      [...r.summary.mismatches, ...unchecked]),
    check(s.int8OverOrtWeb.keyCount === n && (s.int8OverOrtWeb.key ?? Infinity) <= INT8_TARGETS.int8OverOrtWeb,
      `geometric-mean latency int8 / onnxruntime-web on the QDQ model <= ${INT8_TARGETS.int8OverOrtWeb} over ${INT8_KEY_MODELS.join(', ')} ` +
      `(${ratio(s.int8OverOrtWeb.key)} over ${s.int8OverOrtWeb.keyCount} of ${n})`, [...missing, ...notMeasured('latency')]),
    check(s.int8OverFp32.keyCount === n && (s.int8OverFp32.key ?? Infinity) <= INT8_TARGETS.int8OverFp32,
      `geometric-mean latency int8 / onnx2wasm fp32 <= ${INT8_TARGETS.int8OverFp32} over the same models ` +
      `(${ratio(s.int8OverFp32.key)} over ${s.int8OverFp32.keyCount} of ${n})`, [...missing, ...notMeasured('int8OverFp32')]),
    check(s.int8OverFp32.keyCount === n && !over('int8OverFp32', INT8_TARGETS.int8OverFp32).length,
      `each of them: int8 latency <= ${INT8_TARGETS.int8OverFp32} x fp32`, [...missing, ...notMeasured('int8OverFp32'), ...over('int8OverFp32', INT8_TARGETS.int8OverFp32)]),
    check(compiled.length > 0 && compiled.every((m) => withinQdqBudget(m)), 'each .wasm <= QDQ file size + 5% + 64 KB',
      compiled.filter((m) => !withinQdqBudget(m)).map((m) => `${m.name} ${kb(m.compile!.sizes.total)} KB for ${kb(m.int8?.qdqFileBytes)} KB`)),
  ];
  const mobilenet = r.models.find((m) => m.name === 'mobilenet_v2');
  if (mobilenet) {
    const bytes = mobilenet.int8?.linearMemory.int8;
    lines.push(check(bytes !== undefined && bytes <= INT8_TARGETS.mobilenetMemoryBytes,
      `mobilenet_v2 int8 linear memory <= 8 MB (${bytes !== undefined ? `${(bytes / 1024 / 1024).toFixed(2)} MB` : 'not loaded'})`));
  }
  const dynamic = r.models.find((m) => m.name === DYNAMIC_QUANT_NAME);
  if (dynamic) {
    lines.push(check((dynamic.ratios.latency ?? Infinity) <= 1,
      `the dynamically quantized conv net (${DYNAMIC_QUANT_NAME}: DynamicQuantizeLinear + ConvInteger) runs no slower than onnxruntime-web ` +
      `(${dynamic.ratios.latency !== undefined ? `${ratio(dynamic.ratios.latency)}` : 'not measured'})`));
  }
  const resnet = r.models.find((m) => m.name === 'resnet18');
  if (resnet) {
    lines.push(check((resnet.compile?.ms ?? Infinity) < INT8_TARGETS.resnet18CompileMs,
      `resnet18 int8 compiles in under 3 s (${resnet.compile ? `${ms(resnet.compile.ms)} ms` : 'not compiled'}, compile() in the suite's warmed-up process)`));
  }
  return lines;
}

export function int8MarkdownReport(r: SuiteResult): string {
  const o = r.options, s = r.summary.int8 ?? int8Summary(r.models);
  const mean = (g: typeof s.int8OverOrtWeb) =>
    `${ratio(g.key)} over ${g.keyCount} of the ${INT8_KEY_MODELS.length} (${INT8_KEY_MODELS.join(', ')}); ${ratio(g.all)} over all ${g.allCount}`;
  const out = [
    `# onnx2wasm int8 benchmark, ${r.date}`,
    '',
    `${r.machine.cpu} (${r.machine.cores} cores, load average ${loadText(r)}), Node ${r.machine.node}, ${r.machine.platform}. ` +
      `onnx2wasm ${r.versions.onnx2wasm} (target ${o.target}), onnxruntime-web ${r.versions['onnxruntime-web']} ` +
      `(wasm backend, SIMD, 1 thread, default options), onnxruntime-node ${r.versions['onnxruntime-node']} (native CPU, 1 thread, default options).`,
    '',
    `QDQ models: ${o.models}${o.filter ? ` (filter /${o.filter}/)` : ''}; fp32 models: ${o.fp32 ?? 'given cases'}. ` +
      `For each model four engines run on the same inputs, interleaved in one process (${o.runs} runs after ${o.warmup} warm-up): ` +
      `onnx2wasm's int8 module of the QDQ model, onnx2wasm's module of the fp32 model, onnxruntime-web and onnxruntime-node on the QDQ model. ` +
      `Outputs are checked against onnxruntime-node at graphOptimizationLevel 'basic' (the ONNX spec's Q/DQ arithmetic): ` +
      `max |diff| / (max - min) of each output, ✗ above ${INT8_TOLERANCE * 100}%; in parentheses onnxruntime-web's (which fuses Q/DQ into its ` +
      `own int8 kernels). The fp32 module is checked against onnxruntime-node on the fp32 model. Linear memory: the loaded module's ` +
      `WebAssembly.Memory. Cold start (median of ${o.coldReps}; 0 = not measured): bytes in memory -> first result in a fresh node process.`,
    '',
    int8Table(r),
    '',
    `**Geometric mean of the latency ratio int8 / onnxruntime-web: ${mean(s.int8OverOrtWeb)}** (target <= ${INT8_TARGETS.int8OverOrtWeb}).`,
    '',
    `**Geometric mean of the latency ratio int8 / onnx2wasm fp32: ${mean(s.int8OverFp32)}** (target <= ${INT8_TARGETS.int8OverFp32}).`,
  ];
  if (r.summary.mismatches.length) out.push('', `**Outputs differ from onnxruntime-node 'basic':** ${r.summary.mismatches.join(', ')}.`);
  out.push('', '## Acceptance (issue 8, the points the suite measures)', '', ...int8Acceptance(r));
  const problems = problemList(r);
  if (problems.length) out.push('', '## Problems', '', ...problems);
  return out.join('\n') + '\n';
}
