// A Relu, Clip or LeakyRelu between two quantizations after an int8 convolution (QLinearConv -> DQ -> Relu/Clip -> Q, the
// shape quantize_static gives every Conv + activation) is fused into the convolution's requantize epilogue by the
// QDQ lowering. The result must be the spec's: the convolution's own requantization (test/helpers/quant-reference.ts),
// then DequantizeLinear -> Relu/Clip -> QuantizeLinear in float32, on every kernel variant and both targets.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { encodeModel } from '../../src/onnx/encode.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { dequantize, quantize } from '../../ops/qparams.js';
import { expectClose, randomTensor, rng, runOrt, runOurs } from '../helpers/oracle.js';
import { qlinearConv2dRef, type Conv2dAttrs } from '../helpers/quant-reference.js';

const f32 = (values: number[]): Tensor => ({ dtype: 'float32', shape: values.length === 1 ? [] : [values.length], data: Float32Array.from(values) });
const q = (dtype: DType, shape: number[], values: number[]): Tensor => ({ dtype, shape, data: dtype === 'int8' ? Int8Array.from(values) : Uint8Array.from(values) });
const leaky = (x: number, alpha: number) => (x < 0 ? Math.fround(x * alpha) : x);
const range = (dt: DType): [number, number] => (dt === 'int8' ? [-128, 127] : [0, 255]);

interface Case { name: string; x: number[]; cout: number; k: number[]; attrs: Conv2dAttrs; dt: DType; act: 'Relu' | 'Clip6' | 'ClipMin' | 'Relu-same' | 'LeakyRelu'; variant: string }

const CASES: Case[] = [
  { name: 'im2col 3x3, Relu to a narrower scale, int8', x: [1, 12, 7, 9], cout: 20, k: [3, 3], attrs: { pads: [1, 1, 1, 1] }, dt: 'int8', act: 'Relu', variant: 'int8-gather-gemm' },
  { name: 'pointwise, Clip(0, 6), uint8, batch 2', x: [2, 17, 5, 7], cout: 13, k: [1, 1], attrs: {}, dt: 'uint8', act: 'Clip6', variant: 'int8-pointwise-gemm' },
  { name: 'depthwise 3x3 stride 2, Clip(0, 6), int8', x: [1, 9, 15, 21], cout: 9, k: [3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], group: 9 }, dt: 'int8', act: 'Clip6', variant: 'int8-depthwise' },
  { name: 'depthwise 3x3 stride 1, Clip with only a min, uint8', x: [1, 6, 10, 19], cout: 6, k: [3, 3], attrs: { pads: [1, 1, 1, 1], group: 6 }, dt: 'uint8', act: 'ClipMin', variant: 'int8-depthwise' },
  { name: 'im2col 3x3 stride 2, LeakyRelu (alpha 0.1), int8', x: [1, 8, 13, 11], cout: 12, k: [3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] }, dt: 'int8', act: 'LeakyRelu', variant: 'int8-gather-gemm' },
  { name: 'depthwise 3x3, LeakyRelu (alpha 0.1), uint8', x: [1, 6, 9, 20], cout: 6, k: [3, 3], attrs: { pads: [1, 1, 1, 1], group: 6 }, dt: 'uint8', act: 'LeakyRelu', variant: 'int8-depthwise' },
  { name: 'im2col, Relu keeping the scale (a clamp of the output range)', x: [1, 8, 7, 7], cout: 10, k: [3, 3], attrs: {}, dt: 'int8', act: 'Relu-same', variant: 'int8-gather-gemm' },
];

describe('QLinearConv -> DQ -> Relu / Clip / LeakyRelu -> Q fused into the int8 epilogue', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = rng(c.name.length * 17 + c.cout);
      const [lo, hi] = range(c.dt);
      const group = c.attrs.group ?? 1;
      const x = randomTensor(c.dt, c.x, r, lo, hi);
      const w = randomTensor('int8', [c.cout, c.x[1] / group, ...c.k], r, -127, 127);
      const ws = f32(Array.from({ length: c.cout }, () => 0.001 + 0.004 * r()));
      const wz = q('int8', [c.cout], new Array(c.cout).fill(0));
      const xs = f32([0.02]), xz = q(c.dt, [], [c.dt === 'int8' ? -3 : 117]);
      const s1 = 0.03 * Math.sqrt(c.k[0] * c.k[1] * c.x[1] / group), z1 = c.dt === 'int8' ? 4 : 131;
      const ys = f32([s1]), yz = q(c.dt, [], [z1]);
      const bias = randomTensor('int32', [c.cout], r, -3000, 3000);
      // the activation's output quantization: a narrower range than the convolution's (or the same one)
      const same = c.act === 'Relu-same';
      // a LeakyRelu's output keeps room below its zero point for the negative side
      const leakyCase = c.act === 'LeakyRelu';
      const s2 = same ? s1 : Math.fround(s1 * (leakyCase ? 0.6 : 0.43)), z2 = same ? z1 : leakyCase ? (c.dt === 'int8' ? -90 : 40) : lo;
      const os = f32([s2]), oz = q(c.dt, [], [z2]);
      const [fmin, fmax] = c.act === 'Clip6' ? [0, 6] : c.act === 'ClipMin' ? [-0.5, Infinity] : [0, Infinity];
      const alpha = Math.fround(0.1);
      const actNode = c.act === 'LeakyRelu' ? { op: 'LeakyRelu', inputs: ['yf'], outputs: ['af'], attrs: { alpha: 0.1 } }
        : c.act.startsWith('Relu') ? { op: 'Relu', inputs: ['yf'], outputs: ['af'] }
        : { op: 'Clip', inputs: ['yf', 'cmin', ...(c.act === 'Clip6' ? ['cmax'] : [])], outputs: ['af'] };
      const model = encodeModel({
        opset: 13,
        inputs: [{ name: 'x', dtype: c.dt, shape: c.x }],
        outputs: [{ name: 'y' }],
        initializers: { xs, xz, w, ws, wz, ys, yz, bias, os, oz, ...(c.act.startsWith('Clip') ? { cmin: f32([fmin]) } : {}), ...(c.act === 'Clip6' ? { cmax: f32([fmax]) } : {}) },
        nodes: [
          { op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'bias'], outputs: ['yq'], attrs: c.attrs as Record<string, number | number[]> },
          { op: 'DequantizeLinear', inputs: ['yq', 'ys', 'yz'], outputs: ['yf'] },
          actNode,
          { op: 'QuantizeLinear', inputs: ['af', 'os', 'oz'], outputs: ['y'] },
        ],
      });
      // the spec: the convolution's requantization, then DQ -> activation -> Q in float32
      const conv = qlinearConv2dRef(x, xs, xz, w, ws, wz, ys, yz, bias, c.attrs);
      const p1 = { scale: s1, zp: z1, dtype: c.dt }, p2 = { scale: s2, zp: z2, dtype: c.dt };
      const expected = q(c.dt, conv.shape, Array.from(conv.data as ArrayLike<number>, (v) =>
        quantize(c.act === 'LeakyRelu' ? leaky(dequantize(v, p1), alpha) : Math.fround(Math.min(Math.max(dequantize(v, p1), fmin), fmax)), p2)));
      const reference = { y: { data: expected.data, shape: expected.shape } };
      // onnxruntime's QLinearConv may differ from the spec's rounding by one unit, which the activation's
      // requantization scales by s1 / s2
      const ortTolerance = Math.ceil(s1 / s2) + 1;
      expectClose(await runOrt(model, { x }), reference, 0, ortTolerance);
      for (const target of ['scalar', 'simd'] as const) {
        const { report } = await compile(model, { target });
        expect(report.ops.QLinearLookup, 'the activation is fused').toBeUndefined();
        expect(report.variants[`QLinearConv:${c.variant}`]).toBe(1);
        expectClose(await runOurs(model, { x }, { target }), reference, 0, 0);
      }
    });
  }
});

describe('a QLinearConv whose parameters are run-time inputs keeps its lookup', () => {
  it('x_scale fed at run time: not fused, the same result as the spec', async () => {
    const r = rng(77);
    const x = randomTensor('int8', [1, 3, 6, 7], r, -128, 127);
    const w = randomTensor('int8', [4, 3, 3, 3], r, -127, 127);
    const xs = f32([0.02]), xz = q('int8', [], [-3]), ws = f32([0.003]), wz = q('int8', [], [0]), ys = f32([0.05]), yz = q('int8', [], [2]);
    const os = f32([0.03]), oz = q('int8', [], [-128]);
    const model = encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'int8', shape: [1, 3, 6, 7] }, { name: 'xs', dtype: 'float32', shape: [] }],
      outputs: [{ name: 'y' }],
      initializers: { xz, w, ws, wz, ys, yz, os, oz },
      nodes: [
        { op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz'], outputs: ['yq'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'DequantizeLinear', inputs: ['yq', 'ys', 'yz'], outputs: ['yf'] },
        { op: 'Relu', inputs: ['yf'], outputs: ['af'] },
        { op: 'QuantizeLinear', inputs: ['af', 'os', 'oz'], outputs: ['y'] },
      ],
    });
    const conv = qlinearConv2dRef(x, xs, xz, w, ws, wz, ys, yz, undefined, { pads: [1, 1, 1, 1] });
    const p1 = { scale: 0.05, zp: 2, dtype: 'int8' as const }, p2 = { scale: 0.03, zp: -128, dtype: 'int8' as const };
    const expected = q('int8', conv.shape, Array.from(conv.data as ArrayLike<number>, (v) => quantize(Math.max(dequantize(v, p1), 0), p2)));
    for (const target of ['simd', 'scalar'] as const) {
      const { report } = await compile(model, { target });
      expect(report.ops.QLinearLookup).toBe(1);
      expectClose(await runOurs(model, { x, xs }, { target }), { y: { data: expected.data, shape: expected.shape } }, 0, 0);
    }
  });
});
