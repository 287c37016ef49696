// Post-training int8 quantization on small built models: the emitted QDQ file (what onnxruntime's quantize_static
// writes: per-channel int8 weights, int32 bias at x_scale * w_scale, int8 activations) run by onnxruntime-node at
// 'basic' agrees with the int8 .wasm on both targets; the options (method, perChannel, exclude, autoFloat), the
// calibration data checks, the memory budget, and the CLI (--int8 --calibrate, --emit-onnx, --max-memory).

import { afterAll, describe, expect, it } from 'vitest';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, compileSync, CompileError, type Feed } from '../src/index.js';
import { main, type CliIO } from '../src/cli.js';
import { encodeModel } from '../src/onnx/encode.js';
import { decodeModel } from '../src/onnx/decode.js';
import { TensorStats, activationParams } from '../src/quantize/calibrate.js';
import { quantizeWeights } from '../src/quantize/qdq.js';
import { parseBytes } from '../src/passes/memory-budget.js';
import { load } from '../runtime-min/index.js';
import onnxProto from 'onnx-proto';
import { randomTensor, rng, validateWithWabt } from './helpers/oracle.js';
import { cosine, relativeToRange, runOrtBasic } from './helpers/quantize.js';

const rand = rng(42);
const X_SHAPE = [1, 3, 12, 12];
const t = (shape: number[], scale = 0.5) => randomTensor('float32', shape, rand, -scale, scale);

/** Conv -> Relu -> Conv -> residual Add -> Sigmoid * x (SiLU) -> MaxPool -> GlobalAveragePool -> Flatten -> Gemm. */
const convNet = encodeModel({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: X_SHAPE }],
  outputs: [{ name: 'y' }],
  nodes: [
    { name: 'conv1', op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
    { name: 'relu1', op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
    { name: 'conv2', op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1], kernel_shape: [3, 3] } },
    { name: 'add', op: 'Add', inputs: ['c2', 'r1'], outputs: ['s'] },
    { name: 'sigmoid', op: 'Sigmoid', inputs: ['s'], outputs: ['g'] },
    { name: 'silu', op: 'Mul', inputs: ['s', 'g'], outputs: ['m'] },
    { name: 'pool', op: 'MaxPool', inputs: ['m'], outputs: ['p'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
    { name: 'gap', op: 'GlobalAveragePool', inputs: ['p'], outputs: ['gp'] },
    { name: 'flatten', op: 'Flatten', inputs: ['gp'], outputs: ['f'] },
    { name: 'fc', op: 'Gemm', inputs: ['f', 'wf', 'bf'], outputs: ['y'], attrs: { transB: 1 } },
  ],
  initializers: { w1: t([8, 3, 3, 3]), b1: t([8], 0.2), w2: t([8, 8, 3, 3], 0.2), b2: t([8], 0.2), wf: t([5, 8], 1), bf: t([5], 0.2) },
});
const calibration: Feed[] = Array.from({ length: 6 }, () => ({ x: t(X_SHAPE, 1).data as Float32Array }));
const probe = { x: t(X_SHAPE, 1).data as Float32Array };

const dir = mkdtempSync(join(tmpdir(), 'onnx2wasm-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const floatOutput = async () => (await load((await compile(convNet)).wasm)).run(probe).y.data as Float32Array;
const int8Output = async (wasm: Uint8Array) => (await load(wasm)).run(probe).y.data as Float32Array;

describe('int8 quantization: the emitted QDQ model and the int8 module', () => {
  it('agrees with onnxruntime on the emitted QDQ file on both targets, close to float; the matrix ops run in int8', async () => {
    const float = await floatOutput();
    const ort = (await runOrtBasic((await compile(convNet, { int8: { calibration } })).onnx!, probe, { x: X_SHAPE })).y;
    for (const target of ['simd', 'scalar'] as const) {
      const { wasm, report } = await compile(convNet, { target, int8: { calibration } });
      await validateWithWabt(wasm, target);
      const got = await int8Output(wasm);
      expect(relativeToRange(got, ort), target).toBeLessThanOrEqual(0.03);
      expect(cosine(got, float), target).toBeGreaterThan(0.99);
      expect(report.quantization.int8).toMatchObject({ Conv: 2, Add: 1, Mul: 1, Sigmoid: 1, MaxPool: 1, GlobalAveragePool: 1, Gemm: 1 });
      expect([report.ops.Conv, report.ops.Gemm]).toEqual([undefined, undefined]);
      const int8 = report.int8!;
      expect(int8.layers.map((l) => l.node)).toEqual(['conv1', 'conv2', 'add', 'sigmoid', 'silu', 'gap', 'fc']);
      expect(int8.layers[0].op).toBe('Conv+Relu'); // the Relu is the Q's clamp of conv1's output
      expect(int8.worst.length).toBe(5);
      for (const l of int8.layers) expect(l.sqnr).toBeGreaterThan(15);
      expect(int8.outputs).toEqual([{ name: 'y', sqnr: expect.any(Number), cosine: expect.any(Number) }]);
      expect(int8.outputs[0].cosine).toBeGreaterThan(0.99);
    }
  });

  it('writes per-channel symmetric int8 weights and an int32 bias with scale = x_scale * w_scale', async () => {
    const { onnx } = await compile(convNet, { int8: { calibration } });
    const g = decodeModel(onnx!);
    expect(g.opset).toBe(13);
    const conv2 = g.nodes.find((n) => n.name === 'conv2')!;
    const dqOf = (name: string) => g.nodes.find((n) => n.outputs[0] === name && n.opType === 'DequantizeLinear')!;
    const value = (name: string) => g.values.get(name)!.const!;
    const w = dqOf(conv2.inputs[1]), b = dqOf(conv2.inputs[2]), x = dqOf(conv2.inputs[0]);
    expect(value(w.inputs[0]).dtype).toBe('int8');
    expect(w.attrs.axis).toBe(0);
    const wScale = value(w.inputs[1]).data as Float32Array;
    expect(wScale.length).toBe(8);
    expect(Array.from(value(w.inputs[2]).data)).toEqual(new Array(8).fill(0));
    const q = value(w.inputs[0]).data as Int8Array;
    expect(Math.max(...Array.from(q, Math.abs))).toBe(127);
    expect(value(b.inputs[0]).dtype).toBe('int32');
    const xScale = (value(x.inputs[1]).data as Float32Array)[0];
    expect(value(x.inputs[2]).dtype).toBe('int8');
    Array.from(value(b.inputs[1]).data as Float32Array).forEach((s, c) => expect(s).toBe(Math.fround(xScale * wScale[c])));
    // The Relu is gone: conv1 writes r1, whose Q clamps at its zero point -128 (= 0.0).
    expect(g.nodes.some((n) => n.opType === 'Relu')).toBe(false);
    const r1 = g.nodes.find((n) => n.opType === 'QuantizeLinear' && n.inputs[0] === 'r1')!;
    expect(Array.from(value(r1.inputs[2]).data)).toEqual([-128]);
  });

  it('perChannel: false writes one weight scale per tensor', async () => {
    const { onnx, report } = await compile(convNet, { int8: { calibration, perChannel: false } });
    const g = decodeModel(onnx!);
    const conv2 = g.nodes.find((n) => n.name === 'conv2')!;
    const w = g.nodes.find((n) => n.outputs[0] === conv2.inputs[1])!;
    expect(g.values.get(w.inputs[1])!.const!.shape).toEqual([]);
    expect(w.attrs.axis).toBeUndefined();
    expect(report.int8!.perChannel).toBe(false);
    expect(report.quantization.int8.Conv).toBe(2);
  });

  it('exclude keeps a node float; autoFloat keeps the layer that adds the most error float', async () => {
    const excluded = await compile(convNet, { int8: { calibration, exclude: ['conv2'] } });
    expect(excluded.report.int8!.float).toContainEqual({ node: 'conv2', op: 'Conv', reason: 'excluded' });
    expect(excluded.report.ops.Conv).toBe(1);
    const conv2 = decodeModel(excluded.onnx!).nodes.find((n) => n.name === 'conv2')!;
    expect(conv2.inputs[1]).toBe('w2'); // its float weights
    expect(cosine(await int8Output(excluded.wasm), await floatOutput())).toBeGreaterThan(0.99);

    const auto = await compile(convNet, { int8: { calibration, autoFloat: 1 } });
    const first = await compile(convNet, { int8: { calibration } });
    const worst = first.report.int8!.worst[0].node;
    expect(auto.report.int8!.float).toContainEqual(expect.objectContaining({ node: worst, reason: expect.stringContaining('automatically') }));
    expect(auto.report.int8!.layers.map((l) => l.node)).not.toContain(worst);

    // A threshold in dB: exactly the layers above it stay float.
    const [w0, w1] = first.report.int8!.worst;
    const addedDb = (w0.addedDb + w1.addedDb) / 2;
    const above = first.report.int8!.layers.filter((l) => l.addedDb > addedDb).map((l) => l.node);
    expect(above.length).toBeGreaterThan(0);
    const byDb = await compile(convNet, { int8: { calibration, autoFloat: { addedDb } } });
    expect(byDb.report.int8!.float.filter((f) => f.reason.includes('automatically')).map((f) => f.node).sort()).toEqual(above.sort());
  });

  it('is deterministic: the same model, data and options give the same module and QDQ file', async () => {
    const [a, b] = [await compile(convNet, { int8: { calibration } }), await compile(convNet, { int8: { calibration } })];
    expect(Buffer.from(a.wasm).equals(Buffer.from(b.wasm))).toBe(true);
    expect(Buffer.from(a.onnx!).equals(Buffer.from(b.onnx!))).toBe(true);
  });

  it('reads calibration paths: a folder of input_K.pb, a batched .npy file', async () => {
    const pbDir = join(dir, 'pb');
    mkdirSync(pbDir);
    const x = calibration[0].x as Float32Array;
    const proto = onnxProto.onnx.TensorProto.create({ name: 'x', dims: X_SHAPE, dataType: 1, rawData: new Uint8Array(x.buffer, x.byteOffset, x.byteLength) });
    writeFileSync(join(pbDir, 'input_0.pb'), onnxProto.onnx.TensorProto.encode(proto).finish());
    expect((await compile(convNet, { int8: { calibration: pbDir } })).report.int8!.calibrationInputs).toBe(1);
    const batch = new Float32Array(3 * 432);
    calibration.slice(0, 3).forEach((f, k) => batch.set(f.x as Float32Array, k * 432));
    writeFileSync(join(dir, 'batch.npy'), npy(batch, [3, ...X_SHAPE.slice(1)]));
    const fromNpy = await compile(convNet, { int8: { calibration: join(dir, 'batch.npy') } });
    const fromFeeds = await compile(convNet, { int8: { calibration: calibration.slice(0, 3) } });
    expect(fromNpy.report.int8!.calibrationInputs).toBe(3);
    expect(Buffer.from(fromNpy.onnx!).equals(Buffer.from(fromFeeds.onnx!))).toBe(true);
  });

  it('a two-input model (MatMul of two activations) calibrates from folders of <input>.npy', async () => {
    const twoInputs = encodeModel({
      opset: 13,
      inputs: [{ name: 'a', dtype: 'float32', shape: [4, 8] }, { name: 'b', dtype: 'float32', shape: [8, 4] }],
      outputs: [{ name: 'y' }],
      nodes: [{ name: 'mm', op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] }, { name: 'neg', op: 'Neg', inputs: ['m'], outputs: ['y'] }],
    });
    const root = join(dir, 'two');
    for (let k = 0; k < 3; k++) {
      mkdirSync(join(root, `s${k}`), { recursive: true });
      writeFileSync(join(root, `s${k}`, 'a.npy'), npy(t([4, 8], 1).data as Float32Array, [4, 8]));
      writeFileSync(join(root, `s${k}`, 'b.npy'), npy(t([8, 4], 1).data as Float32Array, [8, 4]));
    }
    const { wasm, onnx, report } = await compile(twoInputs, { int8: { calibration: root } });
    expect(report.int8!.calibrationInputs).toBe(3);
    expect(report.quantization.int8).toEqual({ MatMul: 1 });
    const feed = { a: t([4, 8], 1).data as Float32Array, b: t([8, 4], 1).data as Float32Array };
    const ort = (await runOrtBasic(onnx!, feed, { a: [4, 8], b: [8, 4] })).y;
    expect(relativeToRange((await load(wasm)).run(feed).y.data as Float32Array, ort)).toBeLessThanOrEqual(0.03);
    rmSync(join(root, 's1', 'b.npy'));
    await expect(compile(twoInputs, { int8: { calibration: root } })).rejects.toThrow(/s1 has no b\.npy for the model input "b"/);
  });

  it('every calibration method gives a working module; an async iterable of feeds is accepted', async () => {
    async function* feeds() { for (const f of calibration) yield f; }
    for (const method of ['minmax', 'percentile', 'entropy'] as const) {
      const { wasm, report } = await compile(convNet, { int8: { calibration: feeds(), method } });
      expect(report.int8!.method).toBe(method);
      expect(cosine(await int8Output(wasm), await floatOutput())).toBeGreaterThan(0.98);
    }
  });
});

describe('int8 weights', () => {
  it('one symmetric scale per slice along the axis, values round(w / scale) in [-127, 127]', () => {
    const w = t([3, 4, 5], 2);
    for (const axis of [-1, 0, 1, 2]) {
      const { q, scales } = quantizeWeights(w, axis);
      const data = w.data as Float32Array;
      const channelOf = (i: number) => (axis < 0 ? 0 : Math.floor(i / [20, 5, 1][axis]) % w.shape[axis]);
      const absMax = new Array(scales.length).fill(0);
      data.forEach((v, i) => { absMax[channelOf(i)] = Math.max(absMax[channelOf(i)], Math.abs(v)); });
      expect(Array.from(scales), `axis ${axis}`).toEqual(absMax.map((m) => Math.fround(m / 127)));
      data.forEach((v, i) => expect(q[i]).toBe(Math.max(-127, Math.min(127, Math.round(v / scales[channelOf(i)])))));
    }
    expect(Array.from(quantizeWeights({ dtype: 'float32', shape: [2, 2], data: Float32Array.of(0, 0, 1, -2) }, 0).scales)).toEqual([1, Math.fround(2 / 127)]);
  });
});

describe('int8 calibration ranges', () => {
  it('minmax holds 0 and every value; percentile and entropy clip rare outliers', () => {
    const r = rng(7);
    const data = Float32Array.from({ length: 300000 }, () => Math.sqrt(-2 * Math.log(1 - r())) * Math.cos(2 * Math.PI * r()));
    data[0] = 40; // one outlier (fewer than the 0.001% percentile drops)
    const s = new TensorStats();
    s.observe(data);
    s.histogram(data);
    const [lo, hi] = s.range('minmax');
    expect([lo, hi]).toEqual([data.reduce((m, v) => Math.min(m, v), 0), 40]);
    for (const method of ['percentile', 'entropy'] as const) {
      const [a, b] = s.range(method);
      expect(b, method).toBeLessThan(20);
      expect(b, method).toBeGreaterThan(2);
      expect(a, method).toBeLessThan(-2);
    }
    const positive = new TensorStats();
    positive.observe(Float32Array.of(1, 2, 3));
    expect(positive.range('minmax')).toEqual([0, 3]);
  });

  it('asymmetric int8 parameters make 0 exact and cover the range', () => {
    const { scale, zeroPoint } = activationParams([-1, 3]);
    expect(scale).toBeCloseTo(4 / 255, 7);
    expect(zeroPoint).toBe(Math.round(-128 + 1 / scale));
    expect(activationParams([0, 6]).zeroPoint).toBe(-128);
    expect(activationParams([0, 0])).toEqual({ scale: 1, zeroPoint: 0 });
  });
});

describe('int8 and memory-budget errors', () => {
  const expectError = async (p: Promise<unknown>, code: string, message: RegExp) => {
    const e = await p.then(() => undefined, (err) => err);
    expect(e).toBeInstanceOf(CompileError);
    expect(e.code).toBe(code);
    expect(e.message).toMatch(message);
    expect(e.message).not.toContain('\n');
  };
  it('bad calibration data: empty, missing input, wrong dtype, wrong length, unknown input', async () => {
    await expectError(compile(convNet, { int8: { calibration: [] } }), 'BAD_CALIBRATION', /calibration data is empty/);
    await expectError(compile(convNet, { int8: { calibration: [{}] } }), 'BAD_CALIBRATION', /input 0 has no value for the model input "x"/);
    await expectError(compile(convNet, { int8: { calibration: [{ x: new Float64Array(432) }] } }), 'BAD_CALIBRATION', /"x" must be a Float32Array \(float32\), got Float64Array/);
    await expectError(compile(convNet, { int8: { calibration: [calibration[0], { x: new Float32Array(5) }] } }), 'BAD_CALIBRATION', /input 1: "x" has 5 elements, its shape 1x3x12x12 needs 432/);
    await expectError(compile(convNet, { int8: { calibration: [{ ...calibration[0], z: new Float32Array(1) }] } }), 'BAD_CALIBRATION', /names "z", which is not an input/);
    await expectError(compile(convNet, { int8: { calibration: join(dir, 'nowhere') } }), 'BAD_CALIBRATION', /no such file or folder/);
  });

  it('bad options: unknown node to exclude, unknown method, int8 in compileSync', async () => {
    await expectError(compile(convNet, { int8: { calibration, exclude: ['conv9'] } }), 'BAD_OPTION', /no node named "conv9"/);
    await expectError(compile(convNet, { int8: { calibration, method: 'median' as 'minmax' } }), 'BAD_OPTION', /unknown calibration method "median"/);
    await expectError(compile(convNet, { int8: { calibration, autoFloat: -1 } }), 'BAD_OPTION', /autoFloat takes a number of layers or \{ addedDb/);
    expect(() => compileSync(convNet, { int8: { calibration } })).toThrow(/use compile\(\)/);
    await expectError(compile(convNet, { int8: { calibration }, imageInputs: { x: { format: 'RGB', height: 12, width: 12 } } }), 'BAD_OPTION', /int8 and imageInputs cannot be combined/);
  });

  it('a model with nothing to quantize', async () => {
    const reluOnly = encodeModel({ opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [4] }], outputs: [{ name: 'y' }], nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }] });
    await expectError(compile(reluOnly, { int8: { calibration: [{ x: new Float32Array(4) }] } }), 'NOTHING_TO_QUANTIZE', /no Conv, MatMul or Gemm that can run in int8/);
  });

  it('maxMemory: a clear error naming the largest parts and suggesting --int8; sizes parse with units', async () => {
    const { manifest } = await compile(convNet);
    expect((await compile(convNet, { maxMemory: manifest.memory.total })).manifest.memory.total).toBe(manifest.memory.total);
    await expectError(compile(convNet, { maxMemory: manifest.memory.total - 1 }), 'OVER_BUDGET', /linear memory, over the .* budget \(--max-memory\): weights .*largest: w2 .*activation arena .*inputs\/outputs .*--int8/);
    await expectError(compile(convNet, { maxMemory: '8 parsecs' }), 'BAD_OPTION', /maxMemory takes a size such as 8MB/);
    expect([parseBytes('8MB'), parseBytes('512KB'), parseBytes('1.5kib'), parseBytes(100)]).toEqual([8 * 2 ** 20, 512 * 1024, 1536, 100]);
  });
});

// --- the CLI ---

async function cli(argv: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: CliIO = { out: (s) => void (out += s), err: (s) => void (err += s), tty };
  return { code: await main(argv, io), out, err };
}

/** A .npy file (format 1.0) of float32 values. */
function npy(data: Float32Array, shape: number[]): Uint8Array {
  let header = `{'descr': '<f4', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  header += ' '.repeat(63 - ((header.length + 10) % 64)) + '\n';
  const bytes = new Uint8Array(10 + header.length + data.byteLength);
  bytes.set([0x93, ...Buffer.from('NUMPY'), 1, 0, header.length & 0xff, header.length >> 8]);
  bytes.set(Buffer.from(header, 'latin1'), 10);
  bytes.set(new Uint8Array(data.buffer, data.byteOffset, data.byteLength), 10 + header.length);
  return bytes;
}

let caseCounter = 0;
function caseDir(): string {
  const d = join(dir, `cli${caseCounter++}`);
  mkdirSync(d);
  writeFileSync(join(d, 'model.onnx'), convNet);
  return d;
}

describe('onnx2wasm --int8 CLI', () => {
  it('--calibrate a folder of .npy files, --emit-onnx: writes both, prints the calibration report and a progress line', async () => {
    const d = caseDir();
    mkdirSync(join(d, 'cal'));
    calibration.forEach((f, k) => writeFileSync(join(d, 'cal', `sample${k}.npy`), npy(f.x as Float32Array, X_SHAPE)));
    const r = await cli([join(d, 'model.onnx'), '--int8', '--calibrate', join(d, 'cal'), '--calibration-method', 'entropy', '--emit-onnx', join(d, 'q.onnx')], true);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/\r\x1b\[Kcalibrating .*model\.onnx: ranges 6\/6 inputs/);
    expect(r.out).toMatch(/\r\x1b\[Kcalibrating .*model\.onnx: histograms 6\/6 inputs/);
    expect(r.out).toMatch(/^calibrate {2}entropy on 6 inputs, weights per channel; against float: y SQNR [\d.]+ dB, cosine 0\.9\d+$/m);
    expect(r.out).toMatch(/^ {11}worst layers \(SQNR at the layer · dB it adds\): \S+ \(\S+\) [\d.]+ dB · \+[\d.]+ dB/m);
    expect(r.out).toMatch(/^int8 {7}Conv ×2/m);
    expect(readdirSync(d).sort()).toEqual(['cal', 'model.onnx', 'model.wasm', 'q.onnx']);
    const ort = (await runOrtBasic(readFileSync(join(d, 'q.onnx')), probe, { x: X_SHAPE })).y;
    expect(relativeToRange(await int8Output(readFileSync(join(d, 'model.wasm'))), ort)).toBeLessThanOrEqual(0.03);
  });

  it('--calibrate a raw .f32 file split by the input shape, --max-memory that fits', async () => {
    const d = caseDir();
    const all = new Float32Array(calibration.length * 432);
    calibration.forEach((f, k) => all.set(f.x as Float32Array, k * 432));
    writeFileSync(join(d, 'cal.f32'), new Uint8Array(all.buffer));
    const r = await cli([join(d, 'model.onnx'), '--int8', '--calibrate', join(d, 'cal.f32'), '--max-memory', '1MB', '--per-tensor', '--exclude', 'fc', '--auto-float', '40dB']);
    expect(r.code, r.err).toBe(0);
    expect(r.out).toMatch(/calibrate {2}minmax on 6 inputs, weights per tensor/);
    expect(r.out).toMatch(/float by choice: fc \(Gemm: excluded\)/);
  });

  it('user errors: one line, exit 1, nothing written', async () => {
    const d = caseDir();
    mkdirSync(join(d, 'empty'));
    writeFileSync(join(d, 'bad.f32'), new Uint8Array(400));
    const model = join(d, 'model.onnx');
    const cases: [string[], RegExp][] = [
      [['--int8', '--calibrate', join(d, 'empty'), '--emit-onnx', join(d, 'q.onnx')], /no calibration inputs in .*empty \(expected input_K\.pb/],
      [['--int8', '--calibrate', join(d, 'bad.f32')], /bad\.f32 holds 100 values, not a whole number of inputs of shape 1x3x12x12/],
      [['--int8'], /--int8 needs calibration inputs: --calibrate PATH/],
      [['--calibrate', join(d, 'empty')], /--calibrate goes with --int8/],
      [['--emit-onnx', join(d, 'q.onnx')], /--emit-onnx goes with --int8/],
      [['--int8', '--calibrate', join(d, 'bad.f32'), '--calibration-method', 'mode'], /--calibration-method must be minmax, percentile or entropy/],
      [['--max-memory', '1KB'], /over the 0\.00 MB budget/],
      [['--int8', '--calibrate', join(d, 'bad.f32'), '--auto-float', 'many'], /--auto-float takes a number of layers \(2\) or a loss in dB \(6dB\)/],
    ];
    for (const [args, message] of cases) {
      const r = await cli([model, ...args]);
      expect(r.code, args.join(' ')).toBe(1);
      expect(r.err).toMatch(/^onnx2wasm: error: [^\n]+\n$/);
      expect(r.err).toMatch(message);
      expect(existsSync(join(d, 'model.wasm')) || existsSync(join(d, 'q.onnx'))).toBe(false);
    }
    expect(readdirSync(d).sort()).toEqual(['bad.f32', 'empty', 'model.onnx']);
  });
});
