// `npm run bench:quantize [-- options]`: the suite's post-training quantization section. Every fp32 model
// DIR/NAME/model.onnx is quantized by onnx2wasm itself (compile() with int8, calibrated on the model's
// test_data_set_0 input plus 8 seeded random inputs, or on NAME/dataset/calibration_images.f32 when present), and
// its int8 module is measured against its fp32 module: sizes, linear memory, interleaved steady-state latency, and
// how close the int8 output is to the fp32 one.

import { existsSync, mkdirSync, realpathSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { compile, type CalibrationMethod, type Feed } from '../src/index.js';
import { folderCases, type BenchCase } from './cases.js';
import { createOrtWeb, createOurs, type EngineName } from './engines.js';
import { interleaved, summarize } from './measure.js';
import { kb, ms, ratio } from './format.js';
import { seededRandom } from './models/builder.js';
import { terminalProgress } from './progress.js';

const USAGE = `usage: npm run bench:quantize -- [--models DIR] [--filter REGEX] [--method minmax|percentile|entropy]
                                   [--runs N] [--warmup N] [--target simd|scalar] [--out DIR]
  --models DIR   the fp32 models, DIR/*/model.onnx (default ../shared/models)`;

export interface Row {
  name: string; method: CalibrationMethod; calibrationInputs: number; error?: string;
  quantizeMs?: number; wasm?: { fp32: number; int8: number }; memory?: { fp32: number; int8: number };
  median?: { fp32: number; int8: number; ortWeb: number }; cosine?: number; sameArgmax?: boolean; worst?: string; int8Ops?: number; floatOps?: number;
}

/** The case's input plus 8 seeded random inputs like it (token ids below the input's largest + 1). */
function calibrationFor(c: BenchCase): Feed[] | string {
  const images = join(c.path!, '..', 'dataset', 'calibration_images.f32');
  if (existsSync(images)) return images;
  const random = seededRandom(9);
  const feeds: Feed[] = [Object.fromEntries(Object.entries(c.feeds).map(([k, t]) => [k, t.data]))];
  for (let k = 0; k < 8; k++) {
    feeds.push(Object.fromEntries(Object.entries(c.feeds).map(([name, t]) => {
      if (t.data instanceof BigInt64Array) {
        const top = Number(t.data.reduce((m, v) => (v > m ? v : m), 0n)) + 1;
        return [name, BigInt64Array.from(t.data, () => BigInt(Math.floor(random() * top)))];
      }
      return [name, Float32Array.from(t.data as Float32Array, () => random() * 2 - 1)];
    })));
  }
  return feeds;
}

function cosineAndArgmax(a: ArrayLike<number>, b: ArrayLike<number>): { cosine: number; same: boolean } {
  let ab = 0, aa = 0, bb = 0, am = 0, bm = 0;
  for (let i = 0; i < a.length; i++) {
    ab += a[i] * b[i]; aa += a[i] * a[i]; bb += b[i] * b[i];
    if (a[i] > a[am]) am = i;
    if (b[i] > b[bm]) bm = i;
  }
  return { cosine: ab / Math.sqrt(aa * bb), same: am === bm };
}

async function measure(c: BenchCase, method: CalibrationMethod, target: 'simd' | 'scalar', runs: number, warmup: number): Promise<Row> {
  const calibration = calibrationFor(c);
  const row: Row = { name: c.name, method, calibrationInputs: typeof calibration === 'string' ? 0 : calibration.length };
  if (c.error) return { ...row, error: c.error };
  try {
    const fp32 = await compile(c.path!, { target });
    const t0 = performance.now();
    const int8 = await compile(c.path!, { target, int8: { calibration, method } });
    row.quantizeMs = performance.now() - t0;
    const r = int8.report.int8!;
    row.calibrationInputs = r.calibrationInputs;
    row.wasm = { fp32: fp32.wasm.length, int8: int8.wasm.length };
    // onnxruntime-web runs the QDQ file the pass emits (result.onnx): the same int8 model, as issue 8 compares.
    const engines = [createOurs(int8.wasm, c.feeds, 'onnx2wasm'), createOurs(fp32.wasm, c.feeds, 'onnx2wasm-fp32'), await createOrtWeb(int8.onnx!, c.feeds)];
    row.memory = { int8: engines[0].linearMemoryBytes!, fp32: engines[1].linearMemoryBytes! };
    const out = (i: number) => Object.values(engines[i].run() as Record<string, { data: Float32Array }>)[0].data;
    const { cosine, same } = cosineAndArgmax(out(0), out(1));
    [row.cosine, row.sameArgmax] = [cosine, same];
    const { samples } = await interleaved(engines, warmup, runs);
    const median = (name: EngineName) => summarize(samples.get(name)!).median;
    row.median = { int8: median('onnx2wasm'), fp32: median('onnx2wasm-fp32'), ortWeb: median('ort-web') };
    await Promise.all(engines.map((e) => e.release()));
    row.worst = r.worst[0] ? `${r.worst[0].node} (+${r.worst[0].addedDb.toFixed(1)} dB)` : '';
    row.int8Ops = Object.values(int8.report.quantization.int8).reduce((a, b) => a + b, 0);
    row.floatOps = r.float.length;
  } catch (e) {
    row.error = (e as Error).message;
  }
  return row;
}

function table(rows: Row[]): string {
  const header = ['model', 'calibration', 'quantize + compile ms', '.wasm KB fp32 / int8', 'linear memory KB fp32 / int8',
    'median ms fp32 / int8 / ort-web int8', 'int8 / fp32', 'int8 / ort-web', 'cosine int8 vs fp32', 'arg-max', 'ops int8 / float', 'layer adding the most error'];
  const lines = [`| ${header.join(' | ')} |`, `|${header.map(() => ' --- ').join('|')}|`];
  for (const r of rows) {
    if (r.error) { lines.push(`| ${r.name} | ${r.method} | ✗ ${r.error.replace(/\|/g, '\\|')} |${' |'.repeat(header.length - 3)}`); continue; }
    lines.push(`| ${[r.name, `${r.method}, ${r.calibrationInputs} inputs`, ms(r.quantizeMs), `${kb(r.wasm!.fp32)} / ${kb(r.wasm!.int8)}`,
      `${kb(r.memory!.fp32)} / ${kb(r.memory!.int8)}`, `${ms(r.median!.fp32)} / ${ms(r.median!.int8)} / ${ms(r.median!.ortWeb)}`, ratio(r.median!.int8 / r.median!.fp32),
      ratio(r.median!.int8 / r.median!.ortWeb),
      r.cosine!.toFixed(5), r.sameArgmax ? 'same' : 'differs', `${r.int8Ops} / ${r.floatOps}`, r.worst!.replace(/\|/g, '\\|')].join(' | ')} |`);
  }
  return lines.join('\n');
}

/** Issue 8's speed line over the four vision models it names, when all four were measured. */
const VISION = ['mobilenet_v2', 'resnet18', 'squeezenet1_1', 'tiny_yolo'];
function visionGeomean(rows: Row[]): string {
  const measured = rows.filter((r) => VISION.includes(r.name) && r.median);
  if (measured.length !== VISION.length) return '';
  const geomean = (f: (r: Row) => number) => Math.exp(measured.reduce((s, r) => s + Math.log(f(r)), 0) / measured.length);
  return `\nGeometric mean over ${VISION.join(', ')}: int8 / fp32 ${ratio(geomean((r) => r.median!.int8 / r.median!.fp32))}` +
    ` (issue 8: <= 0.6), int8 / ort-web ${ratio(geomean((r) => r.median!.int8 / r.median!.ortWeb))} (issue 8: <= 0.33)\n`;
}

export interface QuantizeSectionOptions { method: CalibrationMethod; target: 'simd' | 'scalar'; runs: number; warmup: number; filter?: RegExp; out: string }

/** Quantizes and measures every DIR/NAME/model.onnx; writes quantize.md and quantize.json into `out`. */
export async function quantizeSection(dir: string, o: QuantizeSectionOptions, progress = terminalProgress()): Promise<{ rows: Row[]; markdown: string }> {
  const rows: Row[] = [];
  for (const c of folderCases(dir, o.filter)) {
    progress.stage(`${c.name}: quantizing and timing`);
    const row = await measure(c, o.method, o.target, o.runs, o.warmup);
    rows.push(row);
    progress.line(row.error ? `${c.name}: ✗ ${row.error}` : `${c.name}: int8 ${ms(row.median!.int8)} ms vs fp32 ${ms(row.median!.fp32)} ms vs ort-web ${ms(row.median!.ortWeb)} ms, cosine ${row.cosine!.toFixed(5)}`);
  }
  mkdirSync(o.out, { recursive: true });
  const markdown = `# onnx2wasm post-training int8 vs fp32 (${o.target}, ${o.method})\n\n${table(rows)}\n${visionGeomean(rows)}`;
  writeFileSync(join(o.out, 'quantize.md'), markdown);
  writeFileSync(join(o.out, 'quantize.json'), JSON.stringify({ target: o.target, method: o.method, runs: o.runs, warmup: o.warmup, rows }, null, 2) + '\n');
  return { rows, markdown };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      models: { type: 'string' }, filter: { type: 'string' }, method: { type: 'string' }, runs: { type: 'string' },
      warmup: { type: 'string' }, target: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) { console.log(USAGE); return; }
  const dir = values.models ?? join('..', 'shared', 'models');
  if (!existsSync(dir)) throw new Error(`${dir} not found (give --models DIR)`);
  const method = (values.method ?? 'minmax') as CalibrationMethod;
  if (!['minmax', 'percentile', 'entropy'].includes(method)) throw new Error(`--method must be minmax, percentile or entropy, got "${method}"`);
  const target = (values.target ?? 'simd') as 'simd' | 'scalar';
  if (target !== 'simd' && target !== 'scalar') throw new Error(`--target must be simd or scalar, got "${target}"`);
  const runs = Number(values.runs ?? 20), warmup = Number(values.warmup ?? 5);
  if (!Number.isInteger(runs) || runs < 1 || !Number.isInteger(warmup) || warmup < 0) throw new Error('--runs and --warmup take whole numbers (runs >= 1)');
  const out = values.out ?? join('benchmarks', 'results');
  const { markdown } = await quantizeSection(dir, { method, target, runs, warmup, out, filter: values.filter ? new RegExp(values.filter) : undefined });
  console.log(`\n${markdown}\nwritten to ${join(out, 'quantize.md')} and quantize.json`);
}

// Run when executed (npm run bench:quantize), not when a test imports quantizeSection.
if (process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url))) {
  main().catch((e: Error) => {
    console.error(`bench:quantize: ${e.message}\n\n${USAGE}`);
    process.exit(1);
  });
}
