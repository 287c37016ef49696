// The int8 Winograd F(2x2, 3x3) kernel (ops/conv-int8-winograd.ts) must give the direct convolution's integers
// exactly. Each case is checked on 'simd' (where the Winograd variant is chosen, asserted from the report) and on
// 'scalar' (where the same graph runs on im2col + GEMM): both equal the specification's arithmetic computed in JS
// (test/helpers/quant-reference.ts) bit for bit, so the two variants agree with each other, and onnxruntime-node
// within one unit (int8 outputs) or exactly (ConvInteger's i32 accumulators).

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { encodeModel, type ModelSpec, type NodeSpec } from '../../src/onnx/encode.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { dequantize, quantize } from '../../ops/qparams.js';
import { dynamicConvLayer } from '../../benchmarks/models/dynamic-quant.js';
import { qwinogradPlan } from '../../ops/conv-int8-winograd.js';
import { expectClose, randomTensor, rng, runOrt, runOurs, type Outputs } from '../helpers/oracle.js';
import { qlinearConv2dRef, type Conv2dAttrs } from '../helpers/quant-reference.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const q = (dtype: DType, shape: number[], values: number[]): Tensor => ({ dtype, shape, data: dtype === 'int8' ? Int8Array.from(values) : Uint8Array.from(values) });
const range = (dt: DType): [number, number] => (dt === 'int8' ? [-128, 127] : [0, 255]);
const WINOGRAD = 'int8-winograd-f2x2-3x3';

/** Compiles for both targets, checks which variant each one chose, and returns both targets' outputs. */
async function runBoth(model: Uint8Array, feeds: Record<string, Tensor>, op: string, nodes = 1): Promise<Outputs[]> {
  const outs: Outputs[] = [];
  for (const target of ['simd', 'scalar'] as const) {
    const { report } = await compile(model, { target });
    if (target === 'simd') expect(report.variants[`${op}:${WINOGRAD}`], 'the Winograd variant runs on simd').toBe(nodes);
    else expect(report.variants[`${op}:${WINOGRAD}`], 'no Winograd on scalar').toBeUndefined();
    outs.push(await runOurs(model, feeds, { target }));
  }
  return outs;
}

interface Case {
  name: string; x: number[]; cout: number; attrs: Conv2dAttrs; xdt: DType; wdt: DType;
  perChannel: boolean; wzp?: number; xz?: number; bias: boolean;
  act?: 'Relu' | 'Clip6' | 'LeakyRelu';
}

const CASES: Case[] = [
  { name: 'int8, per-channel, bias, odd channels and size (13 -> 19, 17x23)', x: [1, 13, 17, 23], cout: 19, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'uint8 activations and weights, per-tensor zero point 121, asymmetric pads, no bias', x: [1, 10, 14, 15], cout: 12, attrs: { pads: [0, 1, 2, 1] }, xdt: 'uint8', wdt: 'uint8', perChannel: false, wzp: 121, bias: false },
  { name: 'uint8 activations, int8 weights, no padding, batch 2', x: [2, 9, 16, 19], cout: 8, attrs: {}, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'extreme zero points (x_zp 127, int8 weights -128 .. 127 with zp -128)', x: [1, 8, 12, 12], cout: 9, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: false, wzp: -128, xz: 127, bias: true },
  { name: 'wide pads (top 2, left 3, bottom 0, right 1)', x: [1, 8, 11, 14], cout: 8, attrs: { pads: [2, 3, 0, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'a one-row output (3 x 101 input, no padding)', x: [1, 10, 3, 101], cout: 11, attrs: {}, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'a one-column output (100 x 1 input, pads 1): groups of 4 tiles span tile rows', x: [1, 9, 100, 1], cout: 10, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: false, wzp: 3, bias: true },
  { name: 'several bands of tile rows (32 -> 24 channels, 70x66)', x: [1, 32, 70, 66], cout: 24, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'several blocks of output channels, odd input channels (255 -> 140, 12x13)', x: [1, 255, 12, 13], cout: 140, attrs: { pads: [1, 1, 1, 1] }, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'fused Relu (QLinearConv -> DQ -> Relu -> Q), int8', x: [1, 16, 15, 18], cout: 20, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true, act: 'Relu' },
  { name: 'fused Clip(0, 6), uint8', x: [1, 11, 13, 16], cout: 14, attrs: { pads: [1, 1, 1, 1] }, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true, act: 'Clip6' },
  { name: 'fused LeakyRelu (alpha 0.1), int8', x: [1, 12, 16, 13], cout: 10, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true, act: 'LeakyRelu' },
  // no dummy tile in the GEMM (the plan's TXg = TX): groups of 4 tiles start at any column, some across two panels
  { name: 'squeezenet1_1\'s 27x27 expand3x3 shape (32 -> 36, 14 tiles a row), fused Relu', x: [1, 32, 27, 27], cout: 36, attrs: { pads: [1, 1, 1, 1] }, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true, act: 'Relu' },
  { name: 'an odd number of tiles a row without the dummy (9 tiles, 18x18)', x: [1, 12, 18, 18], cout: 13, attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: false, wzp: -4, bias: true },
];

/** Seeded random layers: channel counts, sizes, pads, dtypes and parameters, kept where the Winograd variant applies. */
function randomCases(count: number): Case[] {
  const r = rng(2026);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const out: Case[] = [];
  while (out.length < count) {
    const x = [int(1, 2), int(8, 40), int(6, 31), int(6, 31)], cout = int(8, 40);
    const pads = [int(0, 2), int(0, 2), int(0, 2), int(0, 2)];
    const oh = x[2] + pads[0] + pads[2] - 2, ow = x[3] + pads[1] + pads[3] - 2;
    const geo = { inSize: [x[2], x[3]], kernel: [3, 3], outSize: [oh, ow], strides: [1, 1], dilations: [1, 1], padBegin: [pads[0], pads[1]], padEnd: [pads[2], pads[3]] };
    if (oh < 1 || ow < 1 || !qwinogradPlan(geo, x[0], x[1], cout, 1)) continue;
    const xdt: DType = r() < 0.5 ? 'int8' : 'uint8', wdt: DType = r() < 0.7 ? 'int8' : 'uint8';
    const act = ([undefined, undefined, 'Relu', 'Clip6', 'LeakyRelu'] as const)[int(0, 4)];
    out.push({
      name: `random ${out.length}: ${x[1]} -> ${cout}, ${x[0]}x${x[2]}x${x[3]}, pads [${pads}], ${xdt} x ${wdt}${act ? `, ${act}` : ''}`,
      x, cout, attrs: { pads }, xdt, wdt, perChannel: r() < 0.6, wzp: wdt === 'int8' ? int(-20, 20) : int(100, 150), xz: xdt === 'int8' ? int(-128, 127) : int(0, 255), bias: r() < 0.7, act,
    });
  }
  return out;
}

describe('int8 Winograd F(2x2, 3x3): QLinearConv equal to the spec on both targets, onnxruntime within one unit', () => {
  for (const c of [...CASES, ...randomCases(8)]) {
    it(c.name, async () => {
      const r = rng(c.name.length * 13 + c.cout);
      const [xlo, xhi] = range(c.xdt), [wlo, whi] = range(c.wdt);
      const x = randomTensor(c.xdt, c.x, r, xlo, xhi);
      const w = randomTensor(c.wdt, [c.cout, c.x[1], 3, 3], r, wlo, whi);
      const ws = c.perChannel ? f32([c.cout], Array.from({ length: c.cout }, () => 0.001 + 0.004 * r())) : f32([], [0.003]);
      const wz = c.perChannel ? q(c.wdt, [c.cout], Array.from({ length: c.cout }, (_, i) => (c.wdt === 'int8' ? (i % 5) - 2 : 120 + (i % 9))))
        : q(c.wdt, [], [c.wzp ?? 0]);
      const xs = f32([], [0.02]), xz = q(c.xdt, [], [c.xz ?? (c.xdt === 'int8' ? -3 : 117)]);
      const s1 = 0.04 * Math.sqrt(9 * c.x[1]) / 3, z1 = c.xdt === 'int8' ? 5 : 128;
      const ys = f32([], [s1]), yz = q(c.xdt, [], [z1]);
      const bias = c.bias ? randomTensor('int32', [c.cout], r, -3000, 3000) : undefined;
      const convInputs = ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', ...(bias ? ['bias'] : [])];
      const conv = qlinearConv2dRef(x, xs, xz, w, ws, wz, ys, yz, bias, c.attrs);
      const attrs = c.attrs as Record<string, number | number[]>;
      const spec: ModelSpec = {
        opset: 13, inputs: [{ name: 'x', dtype: c.xdt, shape: c.x }], outputs: [{ name: 'y' }],
        initializers: { xs, xz, w, ws, wz, ys, yz, ...(bias ? { bias } : {}) },
        nodes: [{ op: 'QLinearConv', inputs: convInputs, outputs: ['y'], attrs }],
      };
      let expected = conv, ortUnits = 1;
      if (c.act) {
        // the spec: the convolution's requantization, then DQ -> activation -> Q in float32 (fused by the QDQ lowering)
        const [lo] = range(c.xdt);
        const s2 = Math.fround(s1 * (c.act === 'LeakyRelu' ? 0.6 : 0.43)), z2 = c.act === 'LeakyRelu' ? (c.xdt === 'int8' ? -90 : 40) : lo;
        const alpha = Math.fround(0.1);
        const act = (v: number) => (c.act === 'LeakyRelu' ? (v < 0 ? Math.fround(v * alpha) : v) : c.act === 'Clip6' ? Math.min(Math.max(v, 0), 6) : Math.max(v, 0));
        const p1 = { scale: s1, zp: z1, dtype: c.xdt }, p2 = { scale: s2, zp: z2, dtype: c.xdt };
        expected = q(c.xdt, conv.shape, Array.from(conv.data as ArrayLike<number>, (v) => quantize(act(dequantize(v, p1)), p2)));
        ortUnits = Math.ceil(s1 / s2) + 1;
        spec.initializers = { ...spec.initializers, os: f32([], [s2]), oz: q(c.xdt, [], [z2]), ...(c.act === 'Clip6' ? { cmin: f32([], [0]), cmax: f32([], [6]) } : {}) };
        const actNode: NodeSpec = c.act === 'LeakyRelu' ? { op: 'LeakyRelu', inputs: ['yf'], outputs: ['af'], attrs: { alpha: 0.1 } }
          : c.act === 'Relu' ? { op: 'Relu', inputs: ['yf'], outputs: ['af'] } : { op: 'Clip', inputs: ['yf', 'cmin', 'cmax'], outputs: ['af'] };
        spec.nodes = [
          { op: 'QLinearConv', inputs: convInputs, outputs: ['yq'], attrs },
          { op: 'DequantizeLinear', inputs: ['yq', 'ys', 'yz'], outputs: ['yf'] },
          actNode,
          { op: 'QuantizeLinear', inputs: ['af', 'os', 'oz'], outputs: ['y'] },
        ];
      }
      const model = encodeModel(spec);
      const reference = { y: { data: expected.data, shape: expected.shape } };
      expectClose(await runOrt(model, { x }), reference, 0, ortUnits);
      const [simd, scalar] = await runBoth(model, { x }, 'QLinearConv');
      expectClose(simd, reference, 0, 0);
      expectClose(scalar, reference, 0, 0);
    });
  }
});

describe('int8 Winograd F(2x2, 3x3) on the other integer convolutions', () => {
  it('QDQ Conv (DequantizeLinear -> Conv -> QuantizeLinear, what quantize_static writes): the lowered QLinearConv', async () => {
    const r = rng(91);
    const w = randomTensor('int8', [16, 12, 3, 3], r, -127, 127);
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 12, 19, 21] }], outputs: [{ name: 'y' }],
      initializers: {
        xs: f32([], [0.03]), xz: q('uint8', [], [120]), w, ws: f32([16], Array.from({ length: 16 }, () => 0.002 + 0.003 * r())), wz: q('int8', [16], new Array(16).fill(0)),
        b: randomTensor('float32', [16], r, -0.5, 0.5), ys: f32([], [0.08]), yz: q('uint8', [], [131]),
      },
      nodes: [
        { op: 'QuantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xq'] },
        { op: 'DequantizeLinear', inputs: ['xq', 'xs', 'xz'], outputs: ['xf'] },
        { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['wf'], attrs: { axis: 0 } },
        { op: 'Conv', inputs: ['xf', 'wf', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'QuantizeLinear', inputs: ['c', 'ys', 'yz'], outputs: ['yq'] },
        { op: 'DequantizeLinear', inputs: ['yq', 'ys', 'yz'], outputs: ['y'] },
      ],
    });
    const x = randomTensor('float32', [1, 12, 19, 21], r, -2, 3);
    const ort = await runOrt(model, { x });
    const [simd, scalar] = await runBoth(model, { x }, 'QLinearConv');
    // the two variants give the same integers; onnxruntime computes the float Conv, one unit apart at most
    expectClose(simd, scalar, 0, 0);
    expectClose(simd, ort, 0, 0.08 * 1.0001);
  });

  it('ConvInteger (i32 accumulators): exact against the spec and onnxruntime, uint8 with zero points', async () => {
    const r = rng(92);
    const shape = [2, 11, 15, 17];
    const x = randomTensor('uint8', shape, r, 0, 255);
    const w = randomTensor('uint8', [13, 11, 3, 3], r, 0, 255);
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'uint8', shape }], outputs: [{ name: 'y' }],
      initializers: { w, xz: q('uint8', [], [131]), wz: q('uint8', [], [97]) },
      nodes: [{ op: 'ConvInteger', inputs: ['x', 'w', 'xz', 'wz'], outputs: ['y'], attrs: { pads: [1, 0, 1, 2] } }],
    });
    const expected = convIntegerRef(x, w, 131, 97, [1, 0, 1, 2]);
    expectClose(await runOrt(model, { x }), { y: expected }, 0, 0);
    const [simd, scalar] = await runBoth(model, { x }, 'ConvInteger');
    expectClose(simd, { y: expected }, 0, 0);
    expectClose(scalar, { y: expected }, 0, 0);
  });

  it('at the exactness bound (917 input channels, every |x - zp| = |w - zp| = 255): 4 * acc fills int32, still exact', async () => {
    const shape = [1, 917, 8, 12];
    for (const [dt, xv, wv, zp] of [['uint8', 255, 255, 0], ['int8', -128, 127, 127]] as const) {
      const n = shape.reduce((a, b) => a * b, 1), wn = 8 * 917 * 9;
      const x: Tensor = { dtype: dt, shape, data: dt === 'int8' ? new Int8Array(n).fill(xv) : new Uint8Array(n).fill(xv) };
      const w: Tensor = { dtype: dt, shape: [8, 917, 3, 3], data: dt === 'int8' ? new Int8Array(wn).fill(wv) : new Uint8Array(wn).fill(wv) };
      // the int8 case's weights are 127 with zero point -128 (w - zp = 255), its inputs -128 with zero point 127 (-255)
      const wz = dt === 'int8' ? -128 : zp;
      const model = encodeModel({
        opset: 13, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }],
        initializers: { w, xz: q(dt, [], [zp]), wz: q(dt, [], [wz]) },
        nodes: [{ op: 'ConvInteger', inputs: ['x', 'w', 'xz', 'wz'], outputs: ['y'], attrs: { pads: [1, 1, 1, 1] } }],
      });
      const expected = convIntegerRef(x, w, zp, wz, [1, 1, 1, 1]);
      // an interior output: 9 * 917 * 255 * 255 in magnitude, whose fourfold is within 0.1% of 2^31
      expect(Math.abs(expected.data[12 + 1])).toBe(9 * 917 * 255 * 255);
      if (dt === 'uint8') expectClose(await runOrt(model, { x }), { y: expected }, 0, 0);
      const [simd, scalar] = await runBoth(model, { x }, 'ConvInteger');
      expectClose(simd, { y: expected }, 0, 0);
      expectClose(scalar, { y: expected }, 0, 0);
    }
  });

  it('DynamicQuantizeLinear + ConvInteger + float epilogue (quantize_dynamic): run-time zero point and scale', async () => {
    const r = rng(93);
    const net = { nodes: [] as NodeSpec[], initializers: {} as Record<string, Tensor> };
    let h = dynamicConvLayer(net, r, 'a', 'x', 9, 16, 3, { pads: [1, 1, 1, 1] });
    h = dynamicConvLayer(net, r, 'b', h, 16, 10, 3, { pads: [0, 1, 1, 0] });
    const model = encodeModel({ opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 9, 18, 21] }], outputs: [{ name: h }], ...net });
    const x = randomTensor('float32', [1, 9, 18, 21], r, -1, 2);
    const ort = await runOrt(model, { x });
    const [simd, scalar] = await runBoth(model, { x }, 'ConvIntegerScaled', 2);
    expectClose(simd, scalar, 0, 0);
    expectClose(simd, ort, 1e-4, 1e-5);
  });
});

describe('the int8 Winograd plan', () => {
  const geo = (h: number, w: number, pads = 1) => ({ inSize: [h, w], kernel: [3, 3], outSize: [h + 2 * pads - 2, w + 2 * pads - 2], strides: [1, 1], dilations: [1, 1], padBegin: [pads, pads], padEnd: [pads, pads] });
  it('applies to 3x3 stride-1 layers with enough channels and tiles, within the exactness bound', () => {
    expect(qwinogradPlan(geo(56, 56), 1, 64, 64, 1)).toBeDefined();
    expect(qwinogradPlan(geo(56, 56), 1, 64, 64, 2), 'grouped').toBeUndefined();
    expect(qwinogradPlan(geo(56, 56), 1, 4, 64, 1), 'few channels').toBeUndefined();
    expect(qwinogradPlan(geo(7, 7), 1, 512, 512, 1), 'few tiles').toBeUndefined();
    expect(qwinogradPlan(geo(10, 10), 1, 256, 256, 1), '25 tiles').toBeDefined();
    // 4 * 9 * Cin * 255 * 255 must fit in i32: Cin 917 is the largest
    expect(qwinogradPlan(geo(30, 30), 1, 917, 16, 1)).toBeDefined();
    expect(qwinogradPlan(geo(30, 30), 1, 918, 16, 1), 'i32 bound').toBeUndefined();
    // the dummy tile stays in the GEMM only where dropping it saves no GEMM columns (whole panels of 8, a last one
    // of up to 4 columns as a half tile)
    const cols = (h: number, cin: number, cout: number) => { const p = qwinogradPlan(geo(h, h), 1, cin, cout, 1)!; return [p.TX, p.TXv, p.TXg]; };
    expect(cols(27, 32, 128), '27x27: 14 tiles a row').toEqual([14, 15, 14]);
    expect(cols(18, 12, 13), '18x18: 9 tiles a row').toEqual([9, 10, 9]);
    expect(cols(13, 48, 192), '13x13: 49 columns (6 panels and a half tile) instead of 56').toEqual([7, 8, 7]);
    const strided = { ...geo(56, 56), strides: [2, 2], outSize: [28, 28] };
    expect(qwinogradPlan(strided, 1, 64, 64, 1), 'stride 2').toBeUndefined();
  });

  it("keeps V's 16 slices at an odd number of cache lines, so their streams fall into distinct L1 sets", () => {
    // the int8 models' channel counts (squeezenet1_1 16-64, tiny_yolo and resnet18 32-256) and odd ones
    for (const [h, cin, cout] of [[55, 16, 64], [27, 32, 128], [13, 48, 192], [13, 64, 256], [28, 128, 128], [14, 256, 256], [20, 13, 19], [12, 255, 140]]) {
      const p = qwinogradPlan(geo(h, h), 1, cin, cout, 1)!;
      const lines = p.pB / 64;
      expect(Number.isInteger(lines) && lines % 2 === 1, `${cin} -> ${cout}: pB ${p.pB} bytes`).toBe(true);
      // at least a pair's 32 bytes per tile column of the 8-column panel, at most one line more
      expect(p.pB).toBeGreaterThanOrEqual(p.pairs * 32);
      expect(p.pB).toBeLessThan(p.pairs * 32 + 128);
      // the 16 slices' first lines: 16 different sets of a 64-set L1
      expect(new Set(Array.from({ length: 16 }, (_, xi) => (xi * lines) % 64)).size).toBe(16);
    }
  });
});

/** ConvInteger's i32 accumulators, computed plainly (2-D, stride 1, 3x3). */
function convIntegerRef(x: Tensor, w: Tensor, xz: number, wz: number, pads: number[]): { data: Int32Array; shape: number[] } {
  const [N, C, H, W] = x.shape, M = w.shape[0];
  const [pt, pl, pb, pr] = pads;
  const OH = H + pt + pb - 2, OW = W + pl + pr - 2;
  const out = new Int32Array(N * M * OH * OW);
  for (let n = 0; n < N; n++) for (let m = 0; m < M; m++) for (let oh = 0; oh < OH; oh++) for (let ow = 0; ow < OW; ow++) {
    let acc = 0;
    for (let c = 0; c < C; c++) for (let kh = 0; kh < 3; kh++) for (let kw = 0; kw < 3; kw++) {
      const ih = oh + kh - pt, iw = ow + kw - pl;
      if (ih < 0 || ih >= H || iw < 0 || iw >= W) continue;
      acc += (Number(x.data[((n * C + c) * H + ih) * W + iw]) - xz) * (Number(w.data[((m * C + c) * 3 + kh) * 3 + kw]) - wz);
    }
    out[((n * M + m) * OH + oh) * OW + ow] = acc;
  }
  return { data: out, shape: [N, M, OH, OW] };
}
