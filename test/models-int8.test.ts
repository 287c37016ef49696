// The six int8 QDQ models of ../shared/models-int8 end to end on both targets: compiled through the QDQ lowering
// onto the int8 kernels, they match their reference outputs (onnxruntime-node at 'basic', i.e. the spec's Q/DQ
// arithmetic) within 3% of each output's range with the same arg-max; the .wasm holds the weights as int8 (at most
// the QDQ file's size + 5% + 64 KB); every Conv/MatMul/Gemm runs in int8; and the int8 digits model classifies the
// held-out digits as well as the spec's arithmetic does.

import { describe, it, expect } from 'vitest';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../src/index.js';
import { load } from '../runtime-min/index.js';
import { readDataSet, sharedPath } from './helpers/shared.js';
import { validateWithWabt } from './helpers/oracle.js';

const MODELS = ['digits_cnn', 'mobilenet_v2', 'resnet18', 'squeezenet1_1', 'tiny_yolo', 'tiny_bert'];
const root = sharedPath('models-int8', 'the int8 QDQ model tests');
const digits = sharedPath('models/digits_cnn/dataset', 'the int8 digits accuracy test');

/** max |a - e| / (max(e) - min(e)), and whether the arg-max agrees. */
function compare(a: ArrayLike<number>, e: ArrayLike<number>): { rel: number; argmax: boolean } {
  let lo = Infinity, hi = -Infinity, diff = 0, am = 0, em = 0;
  for (let i = 0; i < e.length; i++) {
    lo = Math.min(lo, e[i]); hi = Math.max(hi, e[i]);
    diff = Math.max(diff, Math.abs(a[i] - e[i]));
    if (a[i] > a[am]) am = i;
    if (e[i] > e[em]) em = i;
  }
  return { rel: diff / (hi - lo), argmax: am === em };
}

describe.skipIf(!root)('int8 QDQ models end to end', () => {
  for (const name of MODELS) {
    for (const target of ['simd', 'scalar'] as const) {
      it(`${name} (${target})`, async () => {
        const file = join(root!, name, 'model.onnx');
        const { wasm, manifest, report } = await compile(file, { target });
        await validateWithWabt(wasm, target);
        expect(WebAssembly.Module.imports(new WebAssembly.Module(wasm))).toEqual([]);
        expect(wasm.length, 'module size against the QDQ file').toBeLessThanOrEqual(statSync(file).size * 1.05 + 64 * 1024);
        // Every matrix op with quantized weights runs in int8. (tiny_bert's second layer reads tied float weights, and
        // its LayerNorm/Softmax/GELU chains stay float between their Q and DQ.)
        if (name !== 'tiny_bert') expect([report.ops.Conv ?? 0, report.ops.Gemm ?? 0, report.ops.MatMul ?? 0]).toEqual([0, 0, 0]);
        expect(report.quantization.float.filter((f) => ['Conv', 'Gemm', 'MatMul'].includes(f.op) && !f.reason.includes('not a constant int8'))).toEqual([]);
        const model = await load(wasm);
        const { inputs, outputs } = readDataSet(join(root!, name, 'test_data_set_0'));
        const result = model.run(Object.fromEntries(manifest.inputs.map((e, i) => [e.name, inputs[i].data])));
        manifest.outputs.forEach((e, i) => {
          expect(result[e.name].shape).toEqual(outputs[i].shape);
          const { rel, argmax } = compare(result[e.name].data as Float32Array, outputs[i].data as Float32Array);
          expect(rel, `${name} ${e.name}: max difference / range`).toBeLessThanOrEqual(0.03);
          if (name !== 'tiny_yolo') expect(argmax, `${name} ${e.name}: arg-max`).toBe(true);
        });
        console.log(`[models-int8] ${name} ${target}: wasm ${report.sizes.total} B (file ${statSync(file).size} B), ` +
          `linear memory ${manifest.memory.total} B, int8 ${JSON.stringify(report.quantization.int8)}, float ${report.quantization.float.length}`);
      });
    }
  }

  it.skipIf(!digits)('digits_cnn int8 classifies the 497 held-out digits (>= 99.0%)', async () => {
    const shapes = JSON.parse(readFileSync(join(digits!, 'shapes.json'), 'utf8'));
    const images = new Float32Array(readFileSync(join(digits!, 'test_images.f32')).buffer.slice(0));
    const labels = readFileSync(join(digits!, 'test_labels.u8'));
    const [count, , h, w] = shapes['test_images.f32'];
    const { wasm } = await compile(join(root!, 'digits_cnn', 'model.onnx'));
    const model = await load(wasm);
    const input = model.inputs[0];
    const size = h * w;
    let correct = 0;
    for (let i = 0; i < count; i++) {
      const out = model.run({ [input.name]: images.subarray(i * size, (i + 1) * size) });
      const logits = Object.values(out)[0].data as Float32Array;
      let best = 0;
      for (let c = 1; c < logits.length; c++) if (logits[c] > logits[best]) best = c;
      if (best === labels[i]) correct++;
    }
    const accuracy = correct / count;
    console.log(`[models-int8] digits_cnn int8 accuracy ${(accuracy * 100).toFixed(2)}% (${correct}/${count})`);
    expect(accuracy).toBeGreaterThanOrEqual(0.99);
  });
});
