// The benchmark suite: every case through measureModel(), then results.json, results.md and ratios.svg.
// Three sections: 'float' (models as they are, against onnxruntime-web), 'int8' (QDQ models, with onnx2wasm's
// fp32 build of the same model as a fourth engine) and 'zoo' (the suite's own zoo networks and single-operator
// configurations, issue 10).

import { existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { arch, cpus, loadavg, platform } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';
import { compile } from '../src/index.js';
import { VERSION } from '../src/version.js';
import { builtinCases, folderCases, int8Cases, zooCases, type BenchCase } from './cases.js';
import { ratioChart } from './chart.js';
import { bundleRuntime, nodeBaselineRssMB } from './cold.js';
import { geomean, ms, ratio } from './format.js';
import { measureModel } from './measure-model.js';
import { qdqConvPair } from './models/qdq.js';
import { tinyElementwise } from './models/tiny.js';
import { terminalProgress, type Progress } from './progress.js';
import { markdownReport, outputsMatch } from './report.js';
import { int8MarkdownReport, int8Summary } from './report-int8.js';
import { zooMarkdownReport, zooSummary, ZOO_TARGETS } from './report-zoo.js';
import type { ModelResult, SuiteResult } from './results.js';

export interface SuiteOptions {
  /** A folder of NAME/model.onnx models; without it, the built-in models. */
  models?: string;
  /**
   * The int8 section: QDQ models in int8.dir/NAME/model.onnx, each beside onnx2wasm's module of
   * int8.fp32/NAME/model.onnx (instead of `models`); with `builtin`, also the suite's dynamically quantized conv net
   * (benchmarks/models/dynamic-quant.ts) beside its fp32 twin.
   */
  int8?: { dir: string; fp32: string; builtin?: boolean };
  /** The zoo section: the zoo's networks (zoo) and/or the single-operator configurations (ops). */
  zoo?: { zoo?: boolean; ops?: boolean };
  /** Measure these cases instead (tests; cases with fp32Path make an int8 run). */
  cases?: BenchCase[];
  filter?: RegExp;
  runs?: number;
  warmup?: number;
  /** Fresh processes per engine and model for the cold start (0 skips it). */
  coldReps?: number;
  target?: 'simd' | 'scalar';
  out?: string;
  progress?: Progress;
}

export interface SuiteOutput { result: SuiteResult; files: { json: string; markdown: string; svg: string } }

const require = createRequire(import.meta.url);
/** A dependency's version, from the package.json above its entry file (not every package exports it). */
function packageVersion(name: string): string {
  for (let dir = dirname(require.resolve(name)); dir !== dirname(dir); dir = dirname(dir)) {
    const file = join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; version: string };
      if (pkg.name === name) return pkg.version;
    }
  }
  return 'unknown';
}

/** The .wasm onnxruntime-web loads in Node: what a page using it downloads besides its JS. */
function ortWebWasm(): SuiteResult['ortWebWasm'] {
  const file = join(dirname(require.resolve('onnxruntime-web')), 'ort-wasm-simd-threaded.wasm');
  return { file, bytes: statSync(file).size, gzip: gzipSync(readFileSync(file), { level: 9 }).length };
}

export async function runSuite(options: SuiteOptions = {}): Promise<SuiteOutput> {
  const progress = options.progress ?? terminalProgress();
  const out = options.out ?? fileURLToPath(new URL('./results', import.meta.url));
  const zoo = options.zoo && (options.zoo.zoo || options.zoo.ops) ? options.zoo : undefined;
  // The zoo section is about steady-state speed: no fresh-process cold starts unless asked for.
  const runs = options.runs ?? 20, warmup = options.warmup ?? 5, coldReps = options.coldReps ?? (zoo ? 0 : 3);
  const target = options.target ?? 'simd';
  const cacheDir = join(out, '.cache');
  mkdirSync(cacheDir, { recursive: true });

  progress.stage('preparing models and runtimes');
  const folder = options.int8?.dir ?? options.models;
  const cases = options.cases ?? (options.int8 ? int8Cases(options.int8.dir, options.int8.fp32, options.filter, options.int8.builtin)
    : options.models ? folderCases(options.models, options.filter) : zoo ? zooCases(zoo, options.filter) : builtinCases(options.filter));
  const builtIn = zoo ? [zoo.zoo && 'zoo', zoo.ops && 'single-operator'].filter(Boolean).join(' and ') : 'built-in';
  if (!cases.length) throw new Error(`no models to measure${folder ? ` (no ${folder}/*/model.onnx` : ` (${builtIn}`}${options.filter ? ` matching /${options.filter.source}/` : ''})`);
  const section = options.int8 || cases.some((c) => c.fp32Path) ? 'int8' : cases.some((c) => c.group) ? 'zoo' : 'float';
  const runtime = bundleRuntime(cacheDir);
  await warmUpCompiler(section);
  const result: SuiteResult = {
    section,
    date: new Date().toISOString(),
    machine: {
      cpu: cpus()[0]?.model.trim() ?? 'unknown', cores: cpus().length, platform: `${platform()} ${arch()}`, node: process.versions.node,
      loadAverage: { start: loadavg()[0] },
    },
    versions: { onnx2wasm: VERSION, 'onnxruntime-web': packageVersion('onnxruntime-web'), 'onnxruntime-node': packageVersion('onnxruntime-node') },
    options: { models: folder ?? (options.cases ? 'given cases' : builtIn), fp32: options.int8?.fp32, filter: options.filter?.source, runs, warmup, coldReps, target },
    ortWebWasm: ortWebWasm(),
    runtimeMin: { bytes: runtime.bytes, gzip: runtime.gzip },
    nodeBaselineRssMB: coldReps > 0 ? await nodeBaselineRssMB().catch(() => undefined) : undefined,
    models: [],
    summary: { models: 0, compiled: 0, mismatches: [] },
  };

  for (const [i, c] of cases.entries()) {
    progress.line(`[${i + 1}/${cases.length}] ${c.name}`);
    const m = await measureModel(c, { target, runs, warmup, coldReps, cacheDir, runtimeModule: runtime.module, progress });
    if (c.group) m.group = c.group;
    result.models.push(m);
    progress.line(modelLine(m));
  }
  result.summary = summarize(result.models, section);
  result.machine.loadAverage.end = loadavg()[0];

  mkdirSync(out, { recursive: true });
  const files = { json: join(out, 'results.json'), markdown: join(out, 'results.md'), svg: join(out, 'ratios.svg') };
  writeFileSync(files.json, JSON.stringify(result, null, 2) + '\n');
  writeFileSync(files.markdown, section === 'int8' ? int8MarkdownReport(result) : section === 'zoo' ? zooMarkdownReport(result) : markdownReport(result));
  writeFileSync(files.svg, ratioChart(result));
  const s = result.summary;
  const differ = s.mismatches.length ? `; OUTPUTS DIFFER: ${s.mismatches.join(', ')}` : '';
  if (s.zoo) {
    const worst = (g: typeof s.zoo.ops) => (g.worst ? `${ratio(g.worst.ratio)} (${g.worst.name})` : '–');
    if (s.zoo.ops.models) progress.line(`single operators: worst ratio ${worst(s.zoo.ops)} (target <= ${ZOO_TARGETS.singleOp}), geometric mean ${ratio(s.zoo.ops.geomean)}`);
    if (s.zoo.zoo.models) progress.line(`zoo: geometric mean ${ratio(s.zoo.zoo.geomean)} (target <= ${ZOO_TARGETS.zooGeomean}), worst ${worst(s.zoo.zoo)} (target <= ${ZOO_TARGETS.zooEach})${differ}`);
  } else if (s.int8) {
    progress.line(`${s.compiled}/${s.models} QDQ models compiled; geometric mean latency int8 / ort-web ${ratio(s.int8.int8OverOrtWeb.key)} ` +
      `(target <= 0.33), int8 / fp32 ${ratio(s.int8.int8OverFp32.key)} (target <= 0.6) over ${s.int8.keyModels.join(', ')}${differ}`);
  } else {
    progress.line(`${s.compiled}/${s.models} models compiled; geometric mean latency ratio ${ratio(s.geomeanLatencyRatio)} ` +
      `(target <= 0.67), cold start ${ratio(s.geomeanColdStartRatio)}${differ}`);
  }
  progress.line(`wrote ${files.markdown}, ${files.json}, ${files.svg}`);
  return { result, files };
}

/**
 * One throwaway compile, so that loading binaryen and warming the compiler's own JS is not charged to the
 * first model's compile time (in the int8 section, of a QDQ model too: the lowering and int8 kernels).
 */
async function warmUpCompiler(section: SuiteResult['section']): Promise<void> {
  await compile(tinyElementwise().bytes).catch(() => {});
  if (section === 'int8') await compile(qdqConvPair().qdq).catch(() => {});
}

function summarize(models: ModelResult[], section: SuiteResult['section']): SuiteResult['summary'] {
  return {
    ...(section === 'int8' ? { int8: int8Summary(models) } : {}),
    ...(section === 'zoo' ? { zoo: zooSummary(models) } : {}),
    models: models.length,
    compiled: models.filter((m) => m.compile).length,
    geomeanLatencyRatio: geomean(models.flatMap((m) => m.ratios.latency ?? [])),
    geomeanColdStartRatio: geomean(models.flatMap((m) => m.ratios.coldStart ?? [])),
    mismatches: models.filter((m) => m.check['onnx2wasm'] && !outputsMatch(m.check['onnx2wasm'], m.check.reference)).map((m) => m.name),
  };
}

/** One terminal line per finished model. */
function modelLine(m: ModelResult): string {
  const ours = m.engines['onnx2wasm'], web = m.engines['ort-web'];
  const clip = (s: string) => (s.length > 160 ? `${s.slice(0, 159)}…` : s);
  if (m.compileError) return `  ✗ ${m.name}: ${clip(m.compileError)}  (ort-web ${ms(web.steady?.median)} ms)`;
  const err = ours.error ?? ours.coldError ?? m.int8?.fp32CompileError ?? m.engines['onnx2wasm-fp32']?.error;
  if (m.int8) {
    return `  ${err ? '✗' : '✓'} ${m.name}: compile ${ms(m.compile?.ms)} ms, int8 ${ms(ours.steady?.median)} ms vs fp32 ` +
      `${ms(m.engines['onnx2wasm-fp32']?.steady?.median)} ms (${ratio(m.ratios.int8OverFp32)}) vs ort-web ${ms(web.steady?.median)} ms ` +
      `(${ratio(m.ratios.latency)})${err ? `; ${clip(err)}` : ''}`;
  }
  const cold = ours.cold || web.cold ? `, cold ${ms(ours.cold?.coldMs)} vs ${ms(web.cold?.coldMs)} ms (${ratio(m.ratios.coldStart)})` : '';
  return `  ${err ? '✗' : '✓'} ${m.name}: compile ${ms(m.compile?.ms)} ms, ${ms(ours.steady?.median)} ms vs ort-web ${ms(web.steady?.median)} ms ` +
    `(${ratio(m.ratios.latency)})${cold}${err ? `; ${clip(err)}` : ''}`;
}
