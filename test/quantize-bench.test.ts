// The benchmark suite's quantization section (npm run bench:quantize) end to end on a tiny fp32 model folder and
// one model that cannot compile: rows, quantize.md and quantize.json are well-formed. No timing assertions.

import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { encodeModel } from '../src/onnx/encode.js';
import { quantizeSection } from '../benchmarks/quantize.js';
import { silentProgress } from '../benchmarks/progress.js';
import { randomTensor, rng } from './helpers/oracle.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx2wasm-bench-quantize-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('bench:quantize', () => {
  it('quantizes each model folder and measures int8 against fp32; a broken model gets an error row', async () => {
    const rand = rng(3);
    const t = (shape: number[]) => randomTensor('float32', shape, rand, -0.5, 0.5);
    mkdirSync(join(dir, 'models', 'tiny', 'test_data_set_0'), { recursive: true });
    writeFileSync(join(dir, 'models', 'tiny', 'model.onnx'), encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { name: 'conv', op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { name: 'relu', op: 'Relu', inputs: ['c'], outputs: ['r'] },
        { name: 'gap', op: 'GlobalAveragePool', inputs: ['r'], outputs: ['g'] },
        { name: 'flatten', op: 'Flatten', inputs: ['g'], outputs: ['f'] },
        { name: 'fc', op: 'Gemm', inputs: ['f', 'wf'], outputs: ['y'], attrs: { transB: 1 } },
      ],
      initializers: { w: t([16, 3, 3, 3]), b: t([16]), wf: t([4, 16]) },
    }));
    const x = t([1, 3, 8, 8]).data as Float32Array;
    const proto = onnxProto.onnx.TensorProto.create({ name: 'x', dims: [1, 3, 8, 8], dataType: 1, rawData: new Uint8Array(x.buffer) });
    writeFileSync(join(dir, 'models', 'tiny', 'test_data_set_0', 'input_0.pb'), onnxProto.onnx.TensorProto.encode(proto).finish());
    mkdirSync(join(dir, 'models', 'broken'));
    writeFileSync(join(dir, 'models', 'broken', 'model.onnx'), encodeModel({
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Frobnicate', domain: 'com.example', inputs: ['x'], outputs: ['y'] }],
    }));

    const out = join(dir, 'out');
    const { rows, markdown } = await quantizeSection(join(dir, 'models'), { method: 'minmax', target: 'simd', runs: 2, warmup: 1, out }, silentProgress);
    const [broken, tiny] = rows;
    expect(broken.name).toBe('broken');
    expect(broken.error).toMatch(/Frobnicate/);
    expect(tiny).toMatchObject({ name: 'tiny', method: 'minmax', calibrationInputs: 9, sameArgmax: true, int8Ops: expect.any(Number) });
    expect(tiny.error).toBeUndefined();
    expect(tiny.cosine).toBeGreaterThan(0.99);
    expect(tiny.wasm!.int8).toBeLessThan(tiny.wasm!.fp32);
    expect(tiny.median!.int8).toBeGreaterThan(0);
    expect(tiny.median!.fp32).toBeGreaterThan(0);
    expect(tiny.median!.ortWeb).toBeGreaterThan(0);
    expect(markdown).toMatch(/^\| tiny \| minmax, 9 inputs \| /m);
    expect(markdown).toMatch(/^\| broken \| minmax \| ✗ /m);
    expect(readFileSync(join(out, 'quantize.md'), 'utf8')).toBe(markdown);
    expect(JSON.parse(readFileSync(join(out, 'quantize.json'), 'utf8')).rows).toHaveLength(2);
  });
});
