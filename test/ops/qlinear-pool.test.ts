// com.microsoft QLinearGlobalAveragePool / QLinearAveragePool against onnxruntime-node's contrib kernels and
// against the spec arithmetic (onnxruntime running DequantizeLinear -> float pool -> QuantizeLinear with
// optimizations disabled: float32 throughout), both targets, int8 and uint8.

import { describe, expect, it } from 'vitest';
import type { AttrSpec, ModelSpec } from '../../src/onnx/encode.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { rng, runOrt } from '../helpers/oracle.js';
import { checkInt8, int8Tensor, scalarF32, scalarQ, type Q } from '../helpers/quant-ref.js';

const TYPES = ['int8', 'uint8'] as const;

function qparams(dt: 'int8' | 'uint8', seed: number): [Q, Q] {
  return [
    { scale: 0.037 + seed * 0.004, zp: dt === 'int8' ? -3 + seed : 121 + seed, dtype: dt },
    { scale: 0.021 + seed * 0.003, zp: dt === 'int8' ? 5 - seed : 130 - seed, dtype: dt },
  ];
}

/** Runs the contrib op and compares with the DQ -> float op -> Q graph. */
async function checkPool(op: string, floatOp: string, dt: 'int8' | 'uint8', shape: number[], attrs: Record<string, AttrSpec>, seed: number, floatAttrs = attrs) {
  const [qx, qy] = qparams(dt, seed);
  const x = int8Tensor(dt, shape, rng(seed * 31 + shape.length));
  const inits = { x_s: scalarF32(qx.scale), x_z: scalarQ(dt, qx.zp), y_s: scalarF32(qy.scale), y_z: scalarQ(dt, qy.zp) };
  const spec: ModelSpec = {
    inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }], initializers: inits,
    nodes: [{ op, domain: 'com.microsoft', inputs: ['x', 'x_s', 'x_z', 'y_s', 'y_z'], outputs: ['y'], attrs }],
  };
  const floatSpec: ModelSpec = {
    opset: 19, inputs: spec.inputs, outputs: [{ name: 'y' }], initializers: inits,
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'x_s', 'x_z'], outputs: ['f'] },
      { op: floatOp, inputs: ['f'], outputs: ['g'], attrs: floatAttrs },
      { op: 'QuantizeLinear', inputs: ['g', 'y_s', 'y_z'], outputs: ['y'] },
    ],
  };
  const reference = await runOrt(encodeModel(floatSpec), { x });
  return checkInt8(spec, { x }, reference);
}

describe('com.microsoft QLinearGlobalAveragePool', () => {
  for (const dt of TYPES) {
    it(`${dt}: NCHW planes of odd sizes (simd body and tail), 1-D and 3-D`, async () => {
      let total = 0, offSpec = 0;
      for (const [i, shape] of [[1, 3, 7, 9], [2, 5, 4, 4], [1, 2, 33], [1, 3, 2, 3, 5], [1, 4, 1, 1]].entries()) {
        const s = await checkPool('QLinearGlobalAveragePool', 'GlobalAveragePool', dt, shape, {}, i);
        total += s.elements; offSpec += s.offFromSpec;
      }
      expect(offSpec / total).toBeLessThan(0.05);
    });

    it(`${dt}: channels_last=1 (16 channels per simd step and a tail)`, async () => {
      // the float graph gets the channels moved first: Transpose NHWC -> NCHW, pool, Transpose back
      for (const [i, shape] of [[1, 5, 7, 3], [2, 3, 3, 17], [1, 4, 5, 40]].entries()) {
        const [qx, qy] = qparams(dt, i);
        const x = int8Tensor(dt, shape, rng(100 + i));
        const inits = { x_s: scalarF32(qx.scale), x_z: scalarQ(dt, qx.zp), y_s: scalarF32(qy.scale), y_z: scalarQ(dt, qy.zp) };
        const floatSpec: ModelSpec = {
          opset: 19, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }], initializers: inits,
          nodes: [
            { op: 'DequantizeLinear', inputs: ['x', 'x_s', 'x_z'], outputs: ['f'] },
            { op: 'Transpose', inputs: ['f'], outputs: ['t'], attrs: { perm: [0, 3, 1, 2] } },
            { op: 'GlobalAveragePool', inputs: ['t'], outputs: ['g'] },
            { op: 'Transpose', inputs: ['g'], outputs: ['h'], attrs: { perm: [0, 2, 3, 1] } },
            { op: 'QuantizeLinear', inputs: ['h', 'y_s', 'y_z'], outputs: ['y'] },
          ],
        };
        const reference = await runOrt(encodeModel(floatSpec), { x });
        await checkInt8({
          inputs: floatSpec.inputs, outputs: [{ name: 'y' }], initializers: inits,
          nodes: [{ op: 'QLinearGlobalAveragePool', domain: 'com.microsoft', inputs: ['x', 'x_s', 'x_z', 'y_s', 'y_z'], outputs: ['y'], attrs: { channels_last: 1 } }],
        }, { x }, reference);
      }
    });
  }
});

describe('com.microsoft QLinearAveragePool', () => {
  const cases: { shape: number[]; attrs: Record<string, AttrSpec>; why: string }[] = [
    { shape: [1, 3, 9, 11], attrs: { kernel_shape: [3, 3] }, why: '3x3 valid' },
    { shape: [2, 2, 9, 10], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }, why: 'strided, padded' },
    { shape: [1, 3, 8, 7], attrs: { kernel_shape: [3, 2], strides: [2, 1], pads: [1, 0, 1, 1], count_include_pad: 1 }, why: 'count_include_pad' },
    { shape: [1, 2, 10, 9], attrs: { kernel_shape: [3, 3], strides: [2, 2], ceil_mode: 1 }, why: 'ceil_mode' },
    { shape: [1, 2, 7, 9], attrs: { kernel_shape: [2, 3], strides: [2, 2], auto_pad: 'SAME_UPPER' }, why: 'SAME_UPPER' },
    { shape: [1, 2, 6, 40], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] }, why: 'stride 1, 16-column simd body' },
    { shape: [1, 2, 5, 37], attrs: { kernel_shape: [2, 5], pads: [1, 2, 0, 2], count_include_pad: 1 }, why: 'simd body with count_include_pad' },
    { shape: [1, 1, 17, 50], attrs: { kernel_shape: [15, 15] }, why: '225 taps in i16 lanes' },
    { shape: [1, 3, 13], attrs: { kernel_shape: [4], strides: [3], pads: [2, 1] }, why: '1-D' },
    { shape: [1, 2, 4, 5, 6], attrs: { kernel_shape: [2, 3, 2], strides: [1, 2, 2], pads: [0, 1, 1, 1, 0, 0] }, why: '3-D' },
  ];
  for (const dt of TYPES) {
    it(`${dt}: ${cases.map((c) => c.why).join(', ')}`, async () => {
      let total = 0, offSpec = 0;
      for (const [i, c] of cases.entries()) {
        const s = await checkPool('QLinearAveragePool', 'AveragePool', dt, c.shape, c.attrs, i);
        total += s.elements; offSpec += s.offFromSpec;
      }
      expect(offSpec / total).toBeLessThan(0.05);
    });
  }

  it('a non-constant scale is a DATA_DEPENDENT error naming the input', async () => {
    const { compile } = await import('../../src/index.js');
    const spec: ModelSpec = {
      inputs: [{ name: 'x', dtype: 'int8', shape: [1, 1, 4, 4] }, { name: 's', dtype: 'float32', shape: [] }], outputs: [{ name: 'y' }],
      initializers: { z: scalarQ('int8', 0) },
      nodes: [{ op: 'QLinearAveragePool', domain: 'com.microsoft', inputs: ['x', 's', 'z', 's', 'z'], outputs: ['y'], attrs: { kernel_shape: [2, 2] } }],
    };
    await expect(compile(encodeModel(spec))).rejects.toMatchObject({ code: 'DATA_DEPENDENT', message: expect.stringMatching(/X_scale/) });
  });
});
