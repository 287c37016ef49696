// Profiling builds (--profile, compile(..., { profile: true })): the normal module imports nothing and the profile
// build only the clock; both give the same output bytes; every emitted node is timed, with non-negative times
// that add up to no more than the whole run; the manifest rates the nodes (FLOPs, bytes); runtime-min exposes the
// times; `npm run profile` prints and writes them.

import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import { main as cliMain } from '../src/cli.js';
import { decodeModel } from '../src/onnx/decode.js';
import { encodeModel, graph, type ModelSpec } from '../src/onnx/encode.js';
import { makeTensor } from '../src/ir/graph.js';
import { load, loadSync, type TypedArray } from '../runtime-min/index.js';
import { EVICT_BYTES, formatProfile, profileModel, syntheticFeeds } from '../src/profile/run.js';
import { smallCnn } from '../benchmarks/models/cnn.js';
import { transformerBlock } from '../benchmarks/models/transformer.js';
import { qdqConvPair } from '../benchmarks/models/qdq.js';
import { sharedPath } from './helpers/shared.js';
import { rng } from './helpers/oracle.js';

const out = mkdtempSync(join(tmpdir(), 'onnx2wasm-profile-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

const importsOf = (wasm: Uint8Array) => WebAssembly.Module.imports(new WebAssembly.Module(wasm as BufferSource));
const bytesOf = (a: TypedArray) => new Uint8Array(a.buffer, a.byteOffset, a.byteLength);

/** Compiles both builds, runs them on the same feeds, and checks imports and output bytes. */
async function compareBuilds(model: Uint8Array | string, target: 'simd' | 'scalar', options: { shapes?: Record<string, number[]> } = {}) {
  const normal = await compile(model, { target, ...options });
  const profiled = await compile(model, { target, ...options, profile: true });
  expect(importsOf(normal.wasm)).toEqual([]);
  expect(normal.manifest.profile).toBeUndefined();
  expect(importsOf(profiled.wasm)).toEqual([{ module: 'onnx2wasm', name: 'now', kind: 'function' }]);
  const a = loadSync(normal.wasm), b = loadSync(profiled.wasm);
  const feeds = syntheticFeeds(a);
  const ra = a.run(feeds), rb = b.run(feeds);
  expect(Object.keys(rb)).toEqual(Object.keys(ra));
  for (const name of Object.keys(ra)) expect(bytesOf(rb[name].data), name).toEqual(bytesOf(ra[name].data));
  return { normal, profiled, model: b, feeds };
}

describe('profiling builds', () => {
  for (const target of ['simd', 'scalar'] as const) {
    it(`import only the clock and give the normal build's output bytes (${target}; a CNN and a transformer block)`, async () => {
      for (const make of [smallCnn, transformerBlock]) {
        const { profiled, model, feeds } = await compareBuilds(make().bytes, target);
        const nodes = model.profile();
        // Every emitted op is timed: the per-op counts are the compile report's.
        const counts: Record<string, number> = {};
        for (const n of nodes) counts[n.op] = (counts[n.op] ?? 0) + 1;
        expect(counts).toEqual(profiled.report.ops);
        const t0 = performance.now();
        model.run(feeds);
        const total = performance.now() - t0;
        const times = model.profile().map((n) => n.ms);
        expect(times.every((t) => t >= 0)).toBe(true);
        expect(times.reduce((s, t) => s + t, 0)).toBeLessThanOrEqual(total);
      }
    });
  }

  it('describe each node: op, variant, output shape, bytes, and the FLOPs of GEMM-like ops', async () => {
    const { manifest } = await compile(smallCnn().bytes, { profile: true });
    const nodes = manifest.profile!.nodes;
    const conv1 = nodes.find((n) => n.op === 'Conv')!;
    // 1x1x16x16 image -> 8 channels, 3x3 kernel, pad 1: 8*16*16 outputs of 9 multiply-adds each.
    expect(conv1).toMatchObject({ shape: [1, 8, 16, 16], flops: 2 * 8 * 16 * 16 * 9 });
    expect(conv1.variant).not.toBe('');
    // Inputs (image, weights, bias) and output, float32.
    expect(conv1.bytes).toBe(4 * (256 + 8 * 9 + 8 + 8 * 256));
    const fc = nodes.filter((n) => n.op === 'Gemm');
    expect(fc.map((n) => n.flops)).toEqual([2 * 256 * 32, 2 * 32 * 10]);
    const pool = nodes.find((n) => n.op === 'MaxPool')!;
    expect(pool.flops).toBeUndefined();
    expect(pool.bytes).toBe(4 * (8 * 16 * 16 + 8 * 8 * 8));
    expect(new Set(nodes.map((n) => n.name)).size).toBe(nodes.length);
  });

  it('add up a node\'s time over the iterations of a run-time loop, and reset it each run', async () => {
    const body = graph({
      name: 'body',
      inputs: [{ name: 'i', dtype: 'int64', shape: [] }, { name: 'cin', dtype: 'bool', shape: [] }, { name: 's', dtype: 'float32', shape: [64, 64] }],
      outputs: [{ name: 'cout', dtype: 'bool', shape: [] }, { name: 's2', dtype: 'float32', shape: [64, 64] }],
      nodes: [
        { op: 'Identity', inputs: ['cin'], outputs: ['cout'] },
        { op: 'MatMul', inputs: ['s', 'w'], outputs: ['s2'] },
      ],
    });
    const r = rng(3);
    const spec: ModelSpec = {
      opset: 17,
      inputs: [{ name: 'trips', dtype: 'int64', shape: [] }, { name: 's0', dtype: 'float32', shape: [64, 64] }],
      outputs: [{ name: 's_final', dtype: 'float32' }],
      initializers: {
        go: makeTensor('bool', [], Uint8Array.of(1)),
        w: makeTensor('float32', [64, 64], Float32Array.from({ length: 4096 }, () => (r() - 0.5) / 16)),
      },
      nodes: [{ op: 'Loop', name: 'repeat', inputs: ['trips', 'go', 's0'], outputs: ['s_final'], attrs: { body } }],
    };
    const { profiled } = await compareBuilds(encodeModel(spec), 'simd');
    const model = loadSync(profiled.wasm);
    const s0 = Float32Array.from({ length: 4096 }, () => r());
    const matmul = (trips: number) => {
      const times: number[] = [];
      for (let k = 0; k < 5; k++) {
        model.run({ trips: BigInt64Array.of(BigInt(trips)), s0 });
        times.push(model.profile().find((n) => n.op === 'MatMul')!.ms);
      }
      return Math.min(...times);
    };
    expect(profiled.manifest.profile!.nodes.map((n) => n.op)).toContain('MatMul');
    const once = matmul(1), many = matmul(200), none = matmul(0);
    expect(none).toBe(0); // reset at the start of each run, and never entered
    expect(many).toBeGreaterThan(once); // 200 iterations add up (each run starts from zero)
  });

  it('runtime-min: load() and loadSync() give a profiling build its clock; profile() on a normal build says how to get one', async () => {
    const { wasm } = await compile(smallCnn().bytes);
    expect(() => loadSync(wasm).profile()).toThrow(/not a profiling build: compile with --profile/);
    const profiled = (await compile(smallCnn().bytes, { profile: true })).wasm;
    for (const model of [await load(profiled), await load(new WebAssembly.Module(profiled as BufferSource)), loadSync(profiled)]) {
      model.run(syntheticFeeds(model));
      const nodes = model.profile();
      expect(nodes.map((n) => n.op)).toEqual(['Conv', 'MaxPool', 'Conv', 'MaxPool', 'Gemm', 'Gemm', 'Softmax']);
      expect(nodes.every((n) => n.ms >= 0 && Number.isFinite(n.ms))).toBe(true);
    }
  });

  const resnet = sharedPath('models/resnet18/model.onnx', 'the resnet18 profile');
  it.skipIf(!resnet)('resnet18: every node is listed, times are non-negative and add up to at most the run', async () => {
    const { profiled } = await compareBuilds(resnet!, 'simd');
    const result = profileModel(profiled.wasm, { runs: 3, warmup: 1 });
    const modelNodes = new Set(decodeModel(new Uint8Array(readFileSync(resnet!))).nodes.map((n) => n.name));
    // 20 Convs (BatchNorm, Relu and the residual Adds fused into them), MaxPool, GlobalAveragePool, Gemm
    expect(result.byOp.map((o) => [o.op, o.nodes]).sort()).toEqual([['Conv', 20], ['Gemm', 1], ['GlobalAveragePool', 1], ['MaxPool', 1]]);
    for (const n of result.nodes) {
      expect(modelNodes.has(n.name), n.name).toBe(true);
      expect(n.ms).toBeGreaterThanOrEqual(0);
      expect(n.share).toBeGreaterThanOrEqual(0);
    }
    expect(result.nodesMs).toBeLessThanOrEqual(result.totalMs);
    expect(result.coverage).toBeGreaterThan(0);
    // Sorted slowest first; the shares are of the whole run.
    expect(result.nodes.map((n) => n.ms)).toEqual([...result.nodes.map((n) => n.ms)].sort((a, b) => b - a));
    expect(result.nodes.reduce((s, n) => s + n.share, 0)).toBeCloseTo(result.coverage, 10);
  });
});

describe('rates against the peaks', () => {
  it('rates an int8 convolution against the integer peak and a float one against the f32 peak', async () => {
    const { qdq, fp32 } = qdqConvPair();
    const peak = { gflops: 2, gops: 8, gbps: 4, how: 'a made-up peak' };
    for (const [bytes, op, peakRate] of [[qdq, 'QLinearConv', peak.gops], [fp32, 'Conv', peak.gflops]] as const) {
      const { wasm } = await compile(bytes, { profile: true });
      const conv = profileModel(wasm, { runs: 2, warmup: 1, peak }).nodes.find((n) => n.op === op)!;
      expect(conv, op).toBeDefined();
      expect(conv.gflops).toBeGreaterThan(0);
      expect(conv.ofPeak).toBeCloseTo(conv.gflops! / peakRate, 10);
    }
  });
});

describe('cold runs', () => {
  it('cold: true evicts the caches before each timed run and says so; by default runs go back to back', async () => {
    const { wasm } = await compile(smallCnn().bytes, { profile: true });
    const warm = profileModel(wasm, { runs: 2, warmup: 1 }), cold = profileModel(wasm, { runs: 2, warmup: 1, cold: true });
    expect([warm.evictBytes, cold.evictBytes]).toEqual([0, EVICT_BYTES]);
    expect(EVICT_BYTES).toBeGreaterThanOrEqual(64 << 20);
    expect(formatProfile(warm)).toMatch(/^run [\d.]+ ms \(mean of 2 after 1 warm-up\); nodes/m);
    expect(formatProfile(cold)).toMatch(/^run [\d.]+ ms \(mean of 2 after 1 warm-up, caches evicted before each \(64 MB read\)\); nodes/m);
    expect(cold.nodes.map((n) => n.name).sort()).toEqual(warm.nodes.map((n) => n.name).sort());
    expect(cold.nodesMs).toBeLessThanOrEqual(cold.totalMs);
  });
});

describe('onnx2wasm --profile', () => {
  it('writes the profiling build (with the clock import); without it, the module imports nothing', async () => {
    const { writeFileSync } = await import('node:fs');
    const model = join(out, 'cli-cnn.onnx');
    writeFileSync(model, smallCnn().bytes);
    let text = '';
    const io = { out: (t: string) => void (text += t), err: () => {}, tty: false };
    expect(await cliMain([model, '-o', join(out, 'profiled.wasm'), '--profile'], io)).toBe(0);
    expect(text).toMatch(/^target +simd · profiling build: times each node, imports a clock/m);
    text = '';
    expect(await cliMain([model, '-o', join(out, 'normal.wasm')], io)).toBe(0);
    expect(text).toMatch(/^target +simd$/m);
    expect(importsOf(readFileSync(join(out, 'profiled.wasm'))).map((i) => `${i.module}.${i.name}`)).toEqual(['onnx2wasm.now']);
    expect(importsOf(readFileSync(join(out, 'normal.wasm')))).toEqual([]);
  });
});

describe('npm run profile', () => {
  const profile = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'scripts/profile.ts', ...args], { encoding: 'utf8' });

  it('prints the nodes by share of time with their rates against the measured peak, and writes the same as JSON', async () => {
    const model = join(out, 'cnn.onnx');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(model, smallCnn().bytes);
    const json = join(out, 'cnn.profile.json');
    const r = profile(model, '--runs', '3', '--warmup', '1', '--json', json);
    expect(r.status, r.stderr).toBe(0);
    const lines = r.stdout.split('\n');
    expect(lines.find((l) => l.includes('share'))).toMatch(/share\s+ms\s+op\s+variant\s+output shape\s+rate\s+of peak\s+node/);
    expect(r.stdout).toMatch(/\d+\.\d% +[\d.]+ +Conv +\S+ +1x8x16x16 +[\d.]+ GFLOP\/s +[\d.]+%/);
    expect(r.stdout).toMatch(/MaxPool +\S+ +1x8x8x8 +[\d.]+ GB\/s/);
    expect(r.stdout).toMatch(/nodes [\d.]+ ms = [\d.]+% of it/);
    expect(r.stdout).toMatch(/peak: [\d.]+ GFLOP\/s f32, [\d.]+ GB\/s, [\d.]+ GOP\/s int8/);
    const written = JSON.parse(readFileSync(json, 'utf8'));
    expect(written).toMatchObject({ model, target: 'simd', runs: 3, warmup: 1 });
    expect(written.peak.gflops).toBeGreaterThan(0);
    expect(written.peak.gbps).toBeGreaterThan(0);
    expect(written.peak.gops).toBeGreaterThan(0);
    expect((written.byOp as { nodes: number }[]).reduce((s, o) => s + o.nodes, 0)).toBe(written.nodes.length);
    const ops = (written.nodes as { op: string }[]).map((n) => n.op).sort();
    expect(ops).toEqual(['Conv', 'Conv', 'Gemm', 'Gemm', 'MaxPool', 'MaxPool', 'Softmax']);
    for (const n of written.nodes) {
      expect(n.ms).toBeGreaterThanOrEqual(0);
      expect(n.ofPeak).toBeGreaterThanOrEqual(0);
      expect(n.gflops !== undefined).toBe(n.op === 'Conv' || n.op === 'Gemm');
    }
    expect(written.nodesMs).toBeLessThanOrEqual(written.totalMs);
    expect(written.evictBytes).toBe(0);
    const cold = profile(model, '--runs', '2', '--warmup', '1', '--cold', '--json', '-');
    expect(cold.status, cold.stderr).toBe(0);
    expect(JSON.parse(cold.stdout)).toMatchObject({ runs: 2, evictBytes: EVICT_BYTES });
  });

  it('refuses a missing model or a bad option with one line and exit 1', () => {
    const missing = profile(join(out, 'nowhere.onnx'));
    expect(missing.status).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/^profile: .*nowhere\.onnx/);
    const bad = profile(join(out, 'cnn.onnx'), '--runs', '0');
    expect(bad.status).toBe(1);
    expect(bad.stderr).toMatch(/^profile: --runs takes a whole number >= 1, got "0"/);
  });
});
