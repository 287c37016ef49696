// results.json -> the markdown report: a header saying what was compared how, one table row per model
// (failures included), the geometric mean of the latency ratio, and the full error messages.

import type { Difference } from './measure.js';
import type { ModelResult, SuiteResult } from './results.js';
import { diff, kb, mb, ms, ratio } from './format.js';

/** The int8 section's tolerance: max |diff| / (max - min) of each output (issue 8). */
export const INT8_TOLERANCE = 0.03;

/**
 * Outputs count as matching onnxruntime-node when max |diff| <= 1e-3 * max |reference| + 1e-4; a QDQ model's (checked
 * against the 'basic' session, the spec's Q/DQ arithmetic) when every output is within 3% of its range.
 */
export function outputsMatch(d: Difference, reference: ModelResult['check']['reference'] = 'ort-node'): boolean {
  return reference === 'ort-node basic' ? d.maxDiffOverRange <= INT8_TOLERANCE : d.maxAbsDiff <= 1e-3 * d.maxAbsRef + 1e-4;
}

const HEADER = [
  'model', 'compile ms', 'wasm KB code / weights / gzip', 'ort-web wasm KB', 'cold start ms ours / ort-web (ratio)',
  'first run ms ours / ort-web (ours x steady)', 'median ms ours / ort-web (ratio)', 'p90 ms ours / ort-web', 'ort-node ms',
  'planned KB arena (lower bound) / total', 'peak RSS MB ours / ort-web', 'max diff', 'notes',
];

export const escapeCell = (s: string) => s.replace(/\|/g, '\\|').replace(/\n/g, ' ');
export const clip = (s: string, n: number) => (s.length > n ? `${s.slice(0, n - 1)}…` : s);

/** The first problem to show in the notes column. */
export function firstProblem(m: ModelResult): string | undefined {
  if (m.compileError) return `compile: ${m.compileError}`;
  if (m.int8?.fp32CompileError) return `compile (fp32 model): ${m.int8.fp32CompileError}`;
  if (m.check.referenceError) return `reference: ${m.check.referenceError}`;
  for (const [name, e] of Object.entries(m.engines)) {
    if (e.error) return `${name}: ${e.error}`;
    if (e.coldError) return `${name} cold start: ${e.coldError}`;
  }
  const d = m.check['onnx2wasm'];
  if (d?.problem) return d.problem;
  if (d && !outputsMatch(d, m.check.reference)) {
    return m.check.reference === 'ort-node basic'
      ? `outputs differ from onnxruntime-node 'basic' by more than ${INT8_TOLERANCE * 100}% of their range`
      : `outputs differ from onnxruntime-node (max |ref| ${d.maxAbsRef.toPrecision(3)})`;
  }
  return undefined;
}

function row(m: ModelResult, r: SuiteResult): string[] {
  const ours = m.engines['onnx2wasm'], web = m.engines['ort-web'], native = m.engines['ort-node'];
  const c = m.compile;
  const d = m.check['onnx2wasm'];
  const firstRun = `${ms(ours.cold?.firstRunMs)} / ${ms(web.cold?.firstRunMs)}` +
    (m.ratios.firstRunOverSteady !== undefined ? ` (${ratio(m.ratios.firstRunOverSteady)}x)` : '');
  const mark = d && !outputsMatch(d) ? ' ✗' : '';
  return [
    m.name,
    c ? ms(c.ms) : '✗',
    c ? `${kb(c.sizes.code)} / ${kb(c.sizes.weights)} / ${kb(c.sizes.gzip)}` : '–',
    kb(r.ortWebWasm.bytes),
    `${ms(ours.cold?.coldMs)} / ${ms(web.cold?.coldMs)} (${ratio(m.ratios.coldStart)})`,
    firstRun,
    `${ms(ours.steady?.median)} / ${ms(web.steady?.median)} (${ratio(m.ratios.latency)})`,
    `${ms(ours.steady?.p90)} / ${ms(web.steady?.p90)}`,
    ms(native.steady?.median),
    c ? `${kb(c.memory.arena)} (${kb(c.memory.arenaLowerBound)}) / ${kb(c.memory.total)}` : '–',
    `${mb(ours.cold?.peakRssMB)} / ${mb(web.cold?.peakRssMB)}`,
    d ? diff(d.maxAbsDiff) + mark : '–',
    clip(firstProblem(m) ?? '', 90),
  ].map(escapeCell);
}

/** A markdown table: the header, the separator, one line per row (cells already escaped). */
export function tableOf(header: string[], rows: string[][]): string {
  return [header, header.map(() => '---'), ...rows].map((cells) => `| ${cells.join(' | ')} |`).join('\n');
}

/** One acceptance line: ✓ or ✗, the criterion, and what fails it. */
export const checkLine = (ok: boolean, text: string, bad: string[] = []) => `- ${ok ? '✓' : '✗'} ${text}${bad.length ? ` (not: ${bad.join(', ')})` : ''}`;

export function markdownTable(r: SuiteResult): string {
  return tableOf(HEADER, r.models.map((m) => row(m, r)));
}

/** The issue's acceptance criteria, checked on the compiled models of this run (one line each). */
export function acceptance(r: SuiteResult): string[] {
  const compiled = r.models.filter((m) => m.compile);
  const check = checkLine;
  const failing = (f: (m: ModelResult) => boolean | undefined) => r.models.filter((m) => f(m) === false).map((m) => m.name);
  const g = r.summary.geomeanLatencyRatio;
  const withLatency = r.models.filter((m) => m.ratios.latency !== undefined).length;
  const lines = [
    check(r.summary.compiled === r.models.length, `every model compiles (${r.summary.compiled}/${r.models.length})`, r.models.filter((m) => !m.compile).map((m) => m.name)),
    check(!r.summary.mismatches.length && compiled.every((m) => m.check['onnx2wasm']), 'outputs match onnxruntime-node', [...r.summary.mismatches, ...compiled.filter((m) => !m.check['onnx2wasm']).map((m) => `${m.name} unchecked`)]),
    check(g !== undefined && g <= 0.67 && withLatency === r.models.length,
      `geometric-mean latency ratio <= 0.67 (${ratio(g)} over ${withLatency} of ${r.models.length} models)`),
    check(compiled.every((m) => m.ratios.latency !== undefined && m.ratios.latency <= 1), 'no model slower than onnxruntime-web',
      failing((m) => (m.ratios.latency === undefined ? undefined : m.ratios.latency <= 1))),
    check(compiled.every((m) => m.ratios.firstRunOverSteady !== undefined && m.ratios.firstRunOverSteady <= 3), 'first inference <= 3x steady state',
      failing((m) => (m.ratios.firstRunOverSteady === undefined ? undefined : m.ratios.firstRunOverSteady <= 3))),
    check(compiled.every((m) => m.ratios.coldStart !== undefined && m.ratios.coldStart <= 0.2), 'cold start <= 1/5 of onnxruntime-web\'s',
      failing((m) => (m.ratios.coldStart === undefined ? undefined : m.ratios.coldStart <= 0.2))),
    check(compiled.every((m) => withinSizeBudget(m)), '.wasm <= weights + 5% + 64 KB', failing((m) => (m.compile ? withinSizeBudget(m) : undefined))),
  ];
  const mobilenet = r.models.find((m) => m.name === 'mobilenet_v2');
  if (mobilenet) lines.push(check((mobilenet.compile?.ms ?? Infinity) < 5000, `mobilenet_v2 compiles in under 5 s (${mobilenet.compile ? `${ms(mobilenet.compile.ms)} ms` : 'not compiled'})`));
  return lines;
}

function withinSizeBudget(m: ModelResult): boolean {
  const s = m.compile!.sizes;
  return s.total <= s.weights * 1.05 + 64 * 1024;
}

export const loadText = (r: SuiteResult) => {
  const { start, end } = r.machine.loadAverage;
  return `${start.toFixed(1)}${end !== undefined ? ` -> ${end.toFixed(1)}` : ''}`;
};

export function markdownReport(r: SuiteResult): string {
  const o = r.options, s = r.summary;
  const out = [
    `# onnx2wasm benchmark, ${r.date}`,
    '',
    `${r.machine.cpu} (${r.machine.cores} cores, load average ${loadText(r)}), Node ${r.machine.node}, ${r.machine.platform}. ` +
      `onnx2wasm ${r.versions.onnx2wasm} (target ${o.target}) against onnxruntime-web ${r.versions['onnxruntime-web']} ` +
      `(wasm backend, SIMD, 1 thread) and onnxruntime-node ${r.versions['onnxruntime-node']} (native CPU, 1 thread).`,
    '',
    `Models: ${o.models}${o.filter ? ` (filter /${o.filter}/)` : ''}. Latency: ${o.runs} runs after ${o.warmup} warm-up, ` +
      `the engines interleaved in one process. Cold start: bytes in memory -> first result (import the engine, ` +
      `load, first run) in a fresh node process, median of ${o.coldReps}; peak RSS from those processes` +
      `${r.nodeBaselineRssMB !== undefined ? ` (an empty node process: ${mb(r.nodeBaselineRssMB)} MB)` : ''}. ` +
      `Ratios are onnx2wasm / onnxruntime-web: below 1 is better. Max diff: largest |onnx2wasm - onnxruntime-node| over the outputs.`,
    '',
    `Shipped runtime: onnxruntime-web's .wasm ${kb(r.ortWebWasm.bytes)} KB (${kb(r.ortWebWasm.gzip)} KB gzip); ` +
      `onnx2wasm's runtime-min ${kb(r.runtimeMin.bytes)} KB (${kb(r.runtimeMin.gzip)} KB gzip) plus the model's .wasm.`,
    '',
    markdownTable(r),
    '',
    `**Geometric mean of the latency ratio onnx2wasm / onnxruntime-web: ${ratio(s.geomeanLatencyRatio)}** ` +
      `over ${r.models.filter((m) => m.ratios.latency !== undefined).length} of ${s.models} models (target <= 0.67); ` +
      `cold start: ${ratio(s.geomeanColdStartRatio)} (target <= 0.2). ${s.compiled} of ${s.models} models compiled.`,
  ];
  if (s.mismatches.length) out.push('', `**Outputs differ from onnxruntime-node:** ${s.mismatches.join(', ')}.`);
  out.push('', '## Acceptance (issue 4)', '', ...acceptance(r));
  const problems = problemList(r);
  if (problems.length) out.push('', '## Problems', '', ...problems);
  return out.join('\n') + '\n';
}

/** Every error of the run in full, one line per model and engine. */
export function problemList(r: SuiteResult): string[] {
  return r.models.flatMap((m) => {
    const list: string[] = [];
    if (m.compileError) list.push(`compile: ${m.compileError}`);
    if (m.int8?.fp32CompileError) list.push(`compile (fp32 model): ${m.int8.fp32CompileError}`);
    if (m.check.referenceError) list.push(`reference (onnxruntime-node 'basic'): ${m.check.referenceError}`);
    for (const [name, e] of Object.entries(m.engines)) {
      const notCompiled = (name === 'onnx2wasm' && m.compileError) || (name === 'onnx2wasm-fp32' && m.int8?.fp32CompileError);
      if (e.error && !notCompiled) list.push(`${name}: ${e.error}`);
      if (e.coldError) list.push(`${name} cold start: ${e.coldError}`);
    }
    return list.map((p) => `- ${m.name}: ${p}`);
  });
}
