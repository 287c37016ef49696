// Post-training int8 quantization of the six shared fp32 models (issue 9's acceptance): each model is calibrated
// and quantized once (simd); the scalar target compiles the same emitted QDQ file. The int8 output must be close to
// the fp32 reference (cosine >= 0.999, same arg-max), and onnxruntime-node running the emitted QDQ ONNX at 'basic'
// must agree with the int8 .wasm within 3% of the output range; digits_cnn must classify >= 99.2% of its held-out
// digits with minmax and with entropy calibration.

import { describe, it, expect, afterAll } from 'vitest';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import onnxProto from 'onnx-proto';
import { compile, type CalibrationMethod } from '../src/index.js';
import { main } from '../src/cli.js';
import { load } from '../runtime-min/index.js';
import { readDataSet, sharedPath } from './helpers/shared.js';
import { validateWithWabt } from './helpers/oracle.js';
import { argmax, cosine, relativeToRange, runOrtBasic, seededCalibration } from './helpers/quantize.js';

const models = sharedPath('models', 'the int8 quantization tests on the shared models');
const digits = sharedPath('models/digits_cnn/dataset', 'the int8 quantization accuracy test on digits_cnn');

describe.skipIf(!models)('int8 quantization of the shared fp32 models', () => {
  for (const name of ['mobilenet_v2', 'resnet18', 'squeezenet1_1', 'tiny_yolo', 'tiny_bert']) {
    it(`${name}: cosine >= 0.999 to fp32, same arg-max, agrees with onnxruntime on the emitted QDQ file (both targets)`, async () => {
      const file = join(models!, name, 'model.onnx');
      const { inputs, outputs } = readDataSet(join(models!, name, 'test_data_set_0'));
      const inputName = (await compile(file, { optimize: false })).manifest.inputs[0].name;
      const result = await compile(file, { int8: { calibration: seededCalibration(inputName, inputs[0]) } });
      const { wasm, report, onnx } = result;
      // The matrix ops run in int8 (through the QDQ lowering onto the int8 kernels), none stays float.
      expect(report.quantization.int8.Conv ?? report.quantization.int8.MatMul).toBeGreaterThan(0);
      expect([report.ops.Conv ?? 0, report.ops.MatMul ?? 0, report.ops.Gemm ?? 0]).toEqual([0, 0, 0]);
      expect(report.int8!.layers.length).toBeGreaterThan(0);
      const feed = { [inputName]: inputs[0].data as Float32Array };
      const expected = outputs[0].data as Float32Array;
      const ort = Object.values(await runOrtBasic(onnx!, feed, { [inputName]: inputs[0].shape }))[0];
      const scalar = await compile(onnx!, { target: 'scalar' });
      await validateWithWabt(scalar.wasm, 'scalar');
      for (const [target, module] of [['simd', wasm], ['scalar', scalar.wasm]] as const) {
        const got = Object.values((await load(module)).run(feed))[0].data as Float32Array;
        const cos = cosine(got, expected), rel = relativeToRange(got, ort);
        console.log(`[quantize] ${name} ${target}: cosine to fp32 ${cos.toFixed(6)}, arg-max ${argmax(got) === argmax(expected) ? 'same' : 'differs'}, ` +
          `|int8 wasm - onnxruntime QDQ| / range ${rel.toExponential(2)}, wasm ${module.length} B, linear memory ${report.memory.total} B`);
        expect(cos, `${name} ${target}: cosine to the fp32 reference`).toBeGreaterThanOrEqual(0.999);
        if (name !== 'tiny_yolo') expect(argmax(got), `${name} ${target}: arg-max`).toBe(argmax(expected));
        expect(rel, `${name} ${target}: against onnxruntime on the emitted QDQ model`).toBeLessThanOrEqual(0.03);
      }
    });
  }

  it('the mobilenet_v2 CLI: --int8 --calibrate DIR fits --max-memory 8MB; without --int8 it fails with the budget error', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'onnx2wasm-quantize-'));
    try {
      const file = join(models!, 'mobilenet_v2', 'model.onnx');
      const { inputs } = readDataSet(join(models!, 'mobilenet_v2', 'test_data_set_0'));
      // The calibration folder in the ONNX test layout: test_data_set_N/input_0.pb.
      seededCalibration('input', inputs[0], 2).forEach((feed, k) => {
        mkdirSync(join(dir, 'cal', `test_data_set_${k}`), { recursive: true });
        const data = feed.input as Float32Array;
        const proto = onnxProto.onnx.TensorProto.create({ name: 'input', dims: inputs[0].shape, dataType: 1, rawData: new Uint8Array(data.buffer, data.byteOffset, data.byteLength) });
        writeFileSync(join(dir, 'cal', `test_data_set_${k}`, 'input_0.pb'), onnxProto.onnx.TensorProto.encode(proto).finish());
      });
      let out = '', err = '';
      const io = { out: (t: string) => void (out += t), err: (t: string) => void (err += t), tty: false };
      const ok = await main([file, '-o', join(dir, 'int8.wasm'), '--int8', '--calibrate', join(dir, 'cal'), '--max-memory', '8MB', '--emit-onnx', join(dir, 'int8.onnx')], io);
      expect(ok, err).toBe(0);
      expect(out).toMatch(/calibrate\s+minmax on 3 inputs/);
      expect(readFileSync(join(dir, 'int8.onnx')).length).toBeGreaterThan(1e6);
      err = '';
      const over = await main([file, '-o', join(dir, 'fp32.wasm'), '--max-memory', '8MB'], io);
      expect(over).toBe(1);
      expect(err).toMatch(/^onnx2wasm: error: the module needs [\d.]+ MB of linear memory, over the 8.00 MB budget .*weights .*largest: .*with --int8 .* which fits\n$/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe.skipIf(!digits)('int8 quantization of digits_cnn on its calibration images', () => {
  for (const [method, target] of [['minmax', 'simd'], ['entropy', 'scalar'], ['percentile', 'simd']] as [CalibrationMethod, 'simd' | 'scalar'][]) {
    it(`classifies >= 99.2% of the 497 held-out digits (${method}, ${target})`, async () => {
      const shapes = JSON.parse(readFileSync(join(digits!, 'shapes.json'), 'utf8'));
      const images = new Float32Array(readFileSync(join(digits!, 'test_images.f32')).buffer.slice(0));
      const labels = readFileSync(join(digits!, 'test_labels.u8'));
      const [count, , h, w] = shapes['test_images.f32'];
      const { wasm, report, onnx } = await compile(join(models!, 'digits_cnn', 'model.onnx'), {
        target, int8: { calibration: join(digits!, 'calibration_images.f32'), method },
      });
      expect(report.int8!.calibrationInputs).toBe(200);
      const model = await load(wasm);
      const name = model.inputs[0].name;
      let correct = 0;
      for (let i = 0; i < count; i++) {
        const logits = Object.values(model.run({ [name]: images.subarray(i * h * w, (i + 1) * h * w) }))[0].data as Float32Array;
        if (argmax(logits) === labels[i]) correct++;
      }
      // onnxruntime on the emitted QDQ file agrees on the first held-out image.
      const first = { [name]: images.slice(0, h * w) };
      const ort = Object.values(await runOrtBasic(onnx!, first, { [name]: [1, 1, h, w] }))[0];
      expect(relativeToRange(Object.values(model.run(first))[0].data as Float32Array, ort)).toBeLessThanOrEqual(0.03);
      console.log(`[quantize] digits_cnn ${method} ${target}: int8 accuracy ${(100 * correct / count).toFixed(2)}% (${correct}/${count}), output SQNR ${report.int8!.outputs[0].sqnr.toFixed(1)} dB`);
      expect(correct / count).toBeGreaterThanOrEqual(0.992);
    });
  }
});
