// The benchmark suite's code path end to end on one tiny built-in model plus one model that cannot compile,
// its int8 section on a tiny builder-made QDQ model (with and without its fp32 counterpart), and its zoo section
// on the smallest zoo network and two small single-operator configurations: checks that results.json, results.md
// and ratios.svg are well-formed and that the acceptance lines judge the ratios. No timing assertions.

import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { encodeModel } from '../src/onnx/encode.js';
import onnxProto from 'onnx-proto';
import { builtinCases, folderCases, int8Cases, zooCases, type BenchCase } from '../benchmarks/cases.js';
import { ZOO_MODELS } from '../benchmarks/models/zoo.js';
import { SINGLE_OP_MODELS } from '../benchmarks/models/single-ops.js';
import { zooAcceptance, zooSummary } from '../benchmarks/report-zoo.js';
import { compareOutputs } from '../benchmarks/measure.js';
import { qdqConvPair } from '../benchmarks/models/qdq.js';
import { silentProgress } from '../benchmarks/progress.js';
import { outputsMatch } from '../benchmarks/report.js';
import { INT8_KEY_MODELS, int8Acceptance, int8Summary } from '../benchmarks/report-int8.js';
import type { ModelResult, SuiteResult } from '../benchmarks/results.js';
import { runSuite, type SuiteOutput } from '../benchmarks/suite.js';

const out = mkdtempSync(join(tmpdir(), 'onnx2wasm-bench-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

/** A model no engine can run: an operator from a domain nobody implements. */
function unsupportedCase(): BenchCase {
  const bytes = encodeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'Frobnicate', domain: 'com.example', inputs: ['x'], outputs: ['y'] }],
  });
  return { name: 'unsupported', description: 'custom-domain op', bytes, inputSource: 'builtin', feeds: { x: { dtype: 'float32', shape: [2], data: Float32Array.of(1, 2) } } };
}

/** Tags balance and nest (an XML-ish check without an XML parser). */
function tagsBalance(svg: string): boolean {
  const stack: string[] = [];
  for (const m of svg.matchAll(/<(\/?)([a-zA-Z][\w-]*)[^>]*?(\/?)>/g)) {
    const [, closing, name, selfClosing] = m;
    if (selfClosing) continue;
    if (!closing) stack.push(name);
    else if (stack.pop() !== name) return false;
  }
  return stack.length === 0;
}

describe('benchmark cases from a folder', () => {
  it('reads DIR/*/model.onnx with test_data_set_0 inputs, else seeded random inputs', () => {
    const dir = join(out, 'models');
    const model = builtinCases(/^tiny_elementwise$/)[0];
    for (const name of ['with_data', 'without_data']) {
      mkdirSync(join(dir, name, 'test_data_set_0'), { recursive: true });
      writeFileSync(join(dir, name, 'model.onnx'), model.bytes);
    }
    const x = model.feeds.x;
    const proto = onnxProto.onnx.TensorProto.create({ name: 'x', dims: x.shape, dataType: 1, rawData: new Uint8Array(x.data.buffer) });
    writeFileSync(join(dir, 'with_data', 'test_data_set_0', 'input_0.pb'), onnxProto.onnx.TensorProto.encode(proto).finish());
    const cases = folderCases(dir);
    expect(cases.map((c) => [c.name, c.inputSource, c.error])).toEqual([
      ['with_data', 'test_data_set_0', undefined], ['without_data', 'seeded random', undefined],
    ]);
    expect(cases[0].feeds.x.data).toEqual(x.data);
    expect(cases[1].feeds.x.shape).toEqual(x.shape);
    expect(folderCases(dir, /^without/).map((c) => c.name)).toEqual(['without_data']);
  });
});

describe('benchmark suite', () => {
  let run: SuiteOutput;

  it('runs a tiny model and a failing one to the end', async () => {
    const cases = [...builtinCases(/^tiny_elementwise$/), unsupportedCase()];
    expect(cases.map((c) => c.name)).toEqual(['tiny_elementwise', 'unsupported']);
    run = await runSuite({ cases, runs: 2, warmup: 1, coldReps: 1, out, progress: silentProgress });
    expect(run.result.models).toHaveLength(2);
  });

  it('writes results.json with every measurement of a compiled model', () => {
    const json = JSON.parse(readFileSync(run.files.json, 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(run.result)));
    expect(json.ortWebWasm.bytes).toBeGreaterThan(1e6);
    expect(json.runtimeMin.bytes).toBeGreaterThan(0);
    const tiny = json.models[0];
    expect(tiny.compileError).toBeUndefined();
    for (const k of ['total', 'code', 'weights', 'gzip']) expect(tiny.compile.sizes[k]).toBeGreaterThan(0);
    expect(tiny.compile.ms).toBeGreaterThan(0);
    expect(tiny.compile.memory.total).toBeGreaterThan(0);
    for (const engine of ['onnx2wasm', 'ort-web', 'ort-node']) {
      expect(tiny.engines[engine].error).toBeUndefined();
      expect(tiny.engines[engine].steady.runs).toBe(2);
      expect(tiny.engines[engine].steady.median).toBeGreaterThan(0);
      expect(tiny.engines[engine].steady.p90).toBeGreaterThanOrEqual(tiny.engines[engine].steady.median);
    }
    for (const engine of ['onnx2wasm', 'ort-web']) {
      const cold = tiny.engines[engine].cold;
      expect(tiny.engines[engine].coldError).toBeUndefined();
      expect(cold.reps).toBe(1);
      expect(cold.coldMs).toBeGreaterThan(0);
      expect(cold.peakRssMB).toBeGreaterThan(0);
    }
    expect(tiny.check.onnx2wasm.maxAbsDiff).toBeLessThan(1e-4);
    expect(tiny.ratios.latency).toBeGreaterThan(0);
    expect(tiny.ratios.coldStart).toBeGreaterThan(0);
    expect(json.summary.geomeanLatencyRatio).toBeCloseTo(tiny.ratios.latency, 10);
  });

  it('reports a model that does not compile as a row with the error', () => {
    const bad = run.result.models[1];
    expect(bad.compileError).toMatch(/com\.example|Frobnicate/);
    expect(bad.compile).toBeUndefined();
    expect(bad.engines['ort-web'].error).toBeDefined();
    expect(run.result.summary).toMatchObject({ models: 2, compiled: 1, mismatches: [] });
  });

  it('writes a markdown table with one row per model and the geometric mean', () => {
    const md = readFileSync(run.files.markdown, 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    expect(rows).toHaveLength(4); // header, separator, two models
    expect(rows[0]).toContain('median ms ours / ort-web');
    expect(rows[1]).toMatch(/^\| --- \|/);
    expect(rows[2]).toMatch(/^\| tiny_elementwise \| [\d.]+ \|/);
    expect(rows[3]).toMatch(/^\| unsupported \| ✗ \|.*compile: /);
    const cells = (l: string) => l.split(/(?<!\\)\|/).length;
    expect(new Set(rows.map(cells)).size).toBe(1);
    expect(md).toMatch(/Geometric mean of the latency ratio onnx2wasm \/ onnxruntime-web: [\d.]+/);
  });

  it('writes an SVG chart with the bars and the reference lines', () => {
    const svg = readFileSync(run.files.svg, 'utf8');
    expect(svg.trimStart().startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(tagsBalance(svg)).toBe(true);
    const bars = [...svg.matchAll(/<rect class="bar" data-model="([^"]+)" data-series="(\w+)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(bars).toEqual(['tiny_elementwise:latency', 'tiny_elementwise:coldStart']);
    expect(svg).toContain('0.67');
    expect(svg).toContain('n/a');
  });
});

describe('int8 output check', () => {
  const out = (data: number[]) => ({ y: { data: Float32Array.from(data), shape: [data.length] } });
  it('measures max |diff| against each output\'s range, and the int8 reference uses the 3% tolerance', () => {
    const d = compareOutputs(out([0.25, 10, 5]), out([0, 10, 5]));
    expect(d.maxAbsDiff).toBeCloseTo(0.25, 6);
    expect(d.maxDiffOverRange).toBeCloseTo(0.025, 6);
    expect(outputsMatch(d, 'ort-node basic')).toBe(true);
    expect(outputsMatch(d, 'ort-node')).toBe(false);
    expect(outputsMatch(compareOutputs(out([0.4, 10, 5]), out([0, 10, 5])), 'ort-node basic')).toBe(false);
    // A constant reference output: any difference is infinitely far off its (zero) range.
    expect(compareOutputs(out([1, 1.5]), out([1, 1])).maxDiffOverRange).toBe(Infinity);
    expect(compareOutputs(out([1, 1]), out([1, 1])).maxDiffOverRange).toBe(0);
  });
});

describe('benchmark suite, int8 section', () => {
  let run: SuiteOutput;
  const int8Dir = join(out, 'int8'), fp32Dir = join(out, 'fp32');

  it('runs a QDQ model beside its fp32 model, and one whose fp32 model is missing, to the end', async () => {
    const { qdq, fp32 } = qdqConvPair();
    for (const name of ['qdq_conv', 'qdq_conv_alone']) {
      mkdirSync(join(int8Dir, name), { recursive: true });
      writeFileSync(join(int8Dir, name, 'model.onnx'), qdq);
    }
    mkdirSync(join(fp32Dir, 'qdq_conv'), { recursive: true });
    writeFileSync(join(fp32Dir, 'qdq_conv', 'model.onnx'), fp32);
    const cases = int8Cases(int8Dir, fp32Dir);
    expect(cases.map((c) => [c.name, c.fp32Path])).toEqual([
      ['qdq_conv', join(fp32Dir, 'qdq_conv', 'model.onnx')], ['qdq_conv_alone', join(fp32Dir, 'qdq_conv_alone', 'model.onnx')],
    ]);
    run = await runSuite({ int8: { dir: int8Dir, fp32: fp32Dir }, runs: 2, warmup: 1, coldReps: 0, out: join(out, 'int8-results'), progress: silentProgress });
    expect(run.result.section).toBe('int8');
    expect(run.result.models.map((m) => m.name)).toEqual(['qdq_conv', 'qdq_conv_alone']);
  });

  it('measures the four engines on the QDQ model and checks it against onnxruntime-node at \'basic\'', () => {
    const json = JSON.parse(readFileSync(run.files.json, 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(run.result)));
    expect(json.options).toMatchObject({ models: int8Dir, fp32: fp32Dir });
    const m = json.models[0];
    for (const engine of ['onnx2wasm', 'onnx2wasm-fp32', 'ort-web', 'ort-node']) {
      expect(m.engines[engine].error, engine).toBeUndefined();
      expect(m.engines[engine].steady.runs, engine).toBe(2);
      expect(m.engines[engine].steady.median, engine).toBeGreaterThan(0);
    }
    expect(m.check.reference).toBe('ort-node basic');
    expect(m.check.onnx2wasm.problem).toBeUndefined();
    expect(m.check.onnx2wasm.maxDiffOverRange).toBeLessThanOrEqual(0.03);
    expect(m.check['ort-web'].maxDiffOverRange).toBeLessThan(Infinity);
    // The QDQ Conv ran as an int8 operation; the fp32 module computes the fp32 model like onnxruntime does.
    expect(m.int8.quantization.int8.Conv).toBe(1);
    expect(m.compile.ops.Conv ?? 0).toBe(0);
    expect(m.int8.fp32Compile.ops.Conv).toBe(1);
    expect(m.int8.fp32Check.maxAbsDiff).toBeLessThan(1e-4);
    expect(m.int8.qdqFileBytes).toBe(statSync(join(int8Dir, 'qdq_conv', 'model.onnx')).size);
    for (const bytes of [m.int8.linearMemory.int8, m.int8.linearMemory.fp32]) {
      expect(bytes).toBeGreaterThan(0);
      expect(bytes % 65536).toBe(0);
    }
    expect(m.ratios.latency).toBeCloseTo(m.engines.onnx2wasm.steady.median / m.engines['ort-web'].steady.median, 10);
    expect(m.ratios.int8OverFp32).toBeCloseTo(m.engines.onnx2wasm.steady.median / m.engines['onnx2wasm-fp32'].steady.median, 10);
    expect(json.summary.mismatches).toEqual([]);
  });

  it('reports a missing fp32 model in its row and still measures the int8 module', () => {
    const m = run.result.models[1];
    expect(m.int8?.fp32CompileError).toBeDefined();
    expect(m.engines['onnx2wasm-fp32']?.error).toBe('not compiled');
    expect(m.engines['onnx2wasm'].steady?.runs).toBe(2);
    expect(m.ratios.int8OverFp32).toBeUndefined();
    const s = run.result.summary.int8!;
    expect(s.int8OverFp32.allCount).toBe(1);
    expect(s.int8OverOrtWeb.allCount).toBe(2);
    // Neither is one of the four models: the geometric mean over them is not claimed.
    expect(s.int8OverOrtWeb).toMatchObject({ keyCount: 0, key: undefined });
  });

  it('writes the int8 table, both geometric means and the acceptance lines', () => {
    const md = readFileSync(run.files.markdown, 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    expect(rows).toHaveLength(4);
    expect(rows[0]).toContain('median ms int8 / fp32 / ort-web / ort-node');
    expect(rows[2]).toMatch(/^\| qdq_conv \| [\d.]+ \/ [\d.]+ \|/);
    expect(rows[3]).toMatch(/^\| qdq_conv_alone \| [\d.]+ \/ ✗ \|.*compile \(fp32 model\)/);
    const cells = (l: string) => l.split(/(?<!\\)\|/).length;
    expect(new Set(rows.map(cells)).size).toBe(1);
    expect(md).toMatch(/Geometric mean of the latency ratio int8 \/ onnxruntime-web: – over 0 of the 4 .*; [\d.]+ over all 2/);
    expect(md).toMatch(/Geometric mean of the latency ratio int8 \/ onnx2wasm fp32: – over 0 of the 4 .*; [\d.]+ over all 1/);
    expect(md).toContain('## Acceptance (issue 8');
    expect(md).toContain('- ✗ every QDQ model and its fp32 model compile (2/2 QDQ, 1/2 fp32) (not: qdq_conv_alone)');
    expect(md).toContain('- ✓ outputs within 3% of each output\'s range');
    expect(md).toMatch(/- ✗ geometric-mean latency int8 \/ onnxruntime-web .* \(not: mobilenet_v2 not in this run/);
    expect(md).toContain('- ✓ each .wasm <= QDQ file size + 5% + 64 KB');
  });

  it('judges the acceptance lines on the four models from their ratios', () => {
    const base = run.result.models[0];
    const withRatios = (latency: number, int8OverFp32: number): SuiteResult => {
      const models = INT8_KEY_MODELS.map((name) => ({ ...base, name, ratios: { ...base.ratios, latency, int8OverFp32 } }));
      return { ...run.result, models, summary: { ...run.result.summary, mismatches: [], int8: int8Summary(models) } };
    };
    const line = (r: SuiteResult, prefix: string) => int8Acceptance(r).find((l) => l.slice(4).startsWith(prefix))!;
    const good = withRatios(0.3, 0.5), slow = withRatios(0.4, 0.7);
    expect(line(good, 'geometric-mean latency int8 / onnxruntime-web')).toMatch(/^- ✓ .*\(0\.30 over 4 of 4\)$/);
    expect(line(good, 'geometric-mean latency int8 / onnx2wasm fp32')).toMatch(/^- ✓ .*\(0\.50 over 4 of 4\)$/);
    expect(line(slow, 'geometric-mean latency int8 / onnxruntime-web')).toMatch(/^- ✗ .*\(0\.40 over 4 of 4\)$/);
    expect(line(slow, 'each of them')).toMatch(/^- ✗ .*not: mobilenet_v2 0\.70, resnet18 0\.70/);
    // The memory and compile-time lines read the mobilenet_v2 and resnet18 rows.
    expect(line(good, 'mobilenet_v2 int8 linear memory')).toMatch(/^- ✓ .*MB\)$/);
    expect(line(good, 'resnet18 int8 compiles in under 3 s')).toMatch(/^- ✓ /);
  });

  it('writes an SVG chart with both int8 ratios per model and the two targets', () => {
    const svg = readFileSync(run.files.svg, 'utf8');
    expect(tagsBalance(svg)).toBe(true);
    const bars = [...svg.matchAll(/<rect class="bar" data-model="([^"]+)" data-series="(\w+)"/g)].map((m) => `${m[1]}:${m[2]}`);
    expect(bars).toEqual(['qdq_conv:latency', 'qdq_conv:int8OverFp32', 'qdq_conv_alone:latency']);
    expect(svg).toContain('0.33 = target vs ort-web');
    expect(svg).toContain('0.6 = target vs fp32');
  });
});

describe('benchmark suite, zoo and single-operator section', () => {
  let run: SuiteOutput;
  const small = /^(zoo_kws|matmul_1x512x2048|globalaveragepool_512_7)$/;

  it('lists the six zoo networks and the issue\'s single-operator configurations, and builds only what the filter keeps', () => {
    expect(Object.keys(ZOO_MODELS)).toEqual(['zoo_unet', 'zoo_alexnet', 'zoo_kws', 'zoo_lstm', 'zoo_neck', 'zoo_decoder_step']);
    const ops = Object.keys(SINGLE_OP_MODELS);
    for (const name of ['convtranspose_2x2s2_64to32_64x64', 'convtranspose_4x4s2p1_32to16_80x80', 'convtranspose_3x3s1_64to64_32x32',
      'lstm_h128_50steps', 'gru_h128_50steps', 'gemm_1x9216x4096', 'matmul_1x512x2048', 'conv1d_depthwise_k7_c128_l500',
      'conv_7x7s2_3to64_224', 'conv_11x11s4_3to64_224', 'conv_3x3_g8_128to128_28', 'conv_3x3_d2_64to64_56', 'conv_depthwise_5x5_c128_28']) {
      expect(ops).toContain(name);
    }
    for (const kind of ['resize_', 'pool_', 'batchnorm_', 'instancenorm_', 'layernorm_', 'softmax_']) expect(ops.some((n) => n.includes(kind)), kind).toBe(true);
    const cases = zooCases({ zoo: true, ops: true }, small);
    expect(cases.map((c) => [c.group, c.name])).toEqual([['zoo', 'zoo_kws'], ['ops', 'matmul_1x512x2048'], ['ops', 'globalaveragepool_512_7']]);
    expect(zooCases({ ops: true }, /^zoo_/)).toEqual([]);
    // Seeded: the same bytes every time.
    expect(zooCases({ zoo: true }, /^zoo_kws$/)[0].bytes).toEqual(cases[0].bytes);
  });

  it('runs a zoo network and two single operators against both references, without cold starts by default', async () => {
    run = await runSuite({ zoo: { zoo: true, ops: true }, filter: small, runs: 2, warmup: 1, out: join(out, 'zoo-results'), progress: silentProgress });
    const json = JSON.parse(readFileSync(run.files.json, 'utf8'));
    expect(json).toEqual(JSON.parse(JSON.stringify(run.result)));
    expect(json.section).toBe('zoo');
    expect(json.options).toMatchObject({ models: 'zoo and single-operator', coldReps: 0 });
    expect(json.models.map((m: ModelResult) => [m.group, m.name])).toEqual([['zoo', 'zoo_kws'], ['ops', 'matmul_1x512x2048'], ['ops', 'globalaveragepool_512_7']]);
    for (const m of json.models as ModelResult[]) {
      for (const engine of ['onnx2wasm', 'ort-web', 'ort-node'] as const) {
        expect(m.engines[engine].error, `${m.name} ${engine}`).toBeUndefined();
        expect(m.engines[engine].steady?.runs).toBe(2);
        expect(m.engines[engine].cold).toBeUndefined();
      }
      expect(outputsMatch(m.check.onnx2wasm!), m.name).toBe(true);
      expect(m.ratios.latency).toBeCloseTo(m.engines.onnx2wasm.steady!.median / m.engines['ort-web'].steady!.median, 10);
    }
    const s = json.summary.zoo;
    expect(s.zoo).toMatchObject({ models: 1, measured: 1, worst: { name: 'zoo_kws' } });
    expect(s.ops.models).toBe(2);
    expect(s.ops.worst.ratio).toBe(Math.max(...json.models.slice(1).map((m: ModelResult) => m.ratios.latency!)));
  });

  it('writes one table row per model, the summary lines and issue 10\'s acceptance lines', () => {
    const md = readFileSync(run.files.markdown, 'utf8');
    const rows = md.split('\n').filter((l) => l.startsWith('| '));
    expect(rows).toHaveLength(5);
    expect(rows[0]).toContain('median ms ours / ort-web');
    expect(rows[2]).toMatch(/^\| zoo \| zoo_kws \| keyword spotting.* \| [\d.]+ \| [\d.]+ \/ [\d.]+ \| [\d.]+/);
    expect(rows[3]).toMatch(/^\| single op \| matmul_1x512x2048 \| MatMul 1x512 by 512x2048/);
    const cells = (l: string) => l.split(/(?<!\\)\|/).length;
    expect(new Set(rows.map(cells)).size).toBe(1);
    expect(md).toMatch(/\*\*Single operators: worst ratio [\d.]+ \((matmul|globalaverage)\w+\), geometric mean [\d.]+\*\* over 2 of 2/);
    expect(md).toMatch(/\*\*Zoo: geometric mean [\d.]+, worst [\d.]+ \(zoo_kws\)\*\* over 1 of 1/);
    expect(md).toContain('## Acceptance (issue 10');
    expect(md).toContain('- ✓ every model compiles (3/3)');
    expect(md).toContain('- ✓ outputs match onnxruntime-node');
    expect(md).toMatch(/- [✓✗] single-operator section: every configuration <= 0.8 of onnxruntime-web's time \(worst: /);
    expect(md).toMatch(/- [✓✗] zoo: no model slower than onnxruntime-web/);
    expect(md).toMatch(/- [✓✗] zoo: geometric mean of the ratios <= 0.5 \([\d.]+ over 1 of 1\)/);
    const svg = readFileSync(run.files.svg, 'utf8');
    expect(tagsBalance(svg)).toBe(true);
    expect(svg).toContain('0.8 = single-op target');
  });

  it('judges the acceptance lines from the ratios', () => {
    const base = run.result.models[0];
    const make = (ratios: [string, 'zoo' | 'ops', number | undefined][]): SuiteResult => {
      const models = ratios.map(([name, group, latency]) => ({ ...base, name, group, ratios: { ...base.ratios, latency } }));
      return { ...run.result, models, summary: { ...run.result.summary, mismatches: [], zoo: zooSummary(models) } };
    };
    const line = (r: SuiteResult, prefix: string) => zooAcceptance(r).find((l) => l.slice(4).startsWith(prefix))!;
    const good = make([['a', 'zoo', 0.4], ['b', 'zoo', 0.6], ['c', 'ops', 0.8], ['d', 'ops', 0.3]]);
    expect(line(good, 'single-operator section')).toMatch(/^- ✓ .*\(worst: c 0\.80; geometric mean 0\.49 over 2 of 2\)$/);
    expect(line(good, 'zoo: no model slower')).toMatch(/^- ✓ .*\(worst: b 0\.60\)$/);
    expect(line(good, 'zoo: geometric mean')).toMatch(/^- ✓ .*\(0\.49 over 2 of 2\)$/);
    const bad = make([['a', 'zoo', 0.3], ['b', 'zoo', 1.2], ['c', 'ops', 0.81], ['d', 'ops', undefined]]);
    expect(line(bad, 'single-operator section')).toMatch(/^- ✗ .*\(not: d not measured, c 0\.81\)$/);
    expect(line(bad, 'zoo: no model slower')).toMatch(/^- ✗ .*\(not: b 1\.20\)$/);
    expect(line(bad, 'zoo: geometric mean')).toMatch(/^- ✗ .*\(0\.60 over 2 of 2\)$/);
    // Only the groups in the run get their lines.
    expect(zooAcceptance(make([['c', 'ops', 0.5]])).some((l) => l.includes('zoo:'))).toBe(false);
  });
});

describe('npm run bench options', () => {
  const bench = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'benchmarks/run.ts', ...args], { encoding: 'utf8' });
  it('refuses an int8 run without its fp32 folder, or mixed with --models, and --zoo with --models, with a usage error before measuring anything', () => {
    for (const [args, message] of [
      [['--int8', out], '--int8 and --fp32 go together'],
      [['--int8', out, '--fp32', out, '--models', out], '--models and --int8 are separate runs'],
      [['--int8', join(out, 'nowhere'), '--fp32', out], `--int8: ${join(out, 'nowhere')} is not a folder`],
      [['--zoo', '--models', out], '--zoo and --ops measure the suite\'s own models'],
    ] as const) {
      const r = bench(...args);
      expect(r.status, args.join(' ')).toBe(1);
      expect(r.stderr.split('\n')[0].startsWith(`bench: ${message}`), r.stderr).toBe(true);
      expect(r.stderr).toContain('usage: npm run bench');
    }
  });
});
