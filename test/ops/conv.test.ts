// Conv / ConvTranspose differential tests against onnxruntime-node: random shapes and attributes (groups,
// depthwise, strides, dilations, pads, auto_pad, 1-D/2-D/3-D, batch > 1, odd sizes for edge tiles), both
// targets, and the fusion passes (BatchNormalization folding, activation and residual epilogues).

import { describe, expect, it } from 'vitest';
import { encodeModel, float, type NodeSpec } from '../../src/onnx/encode.js';
import { compile } from '../../src/index.js';
import { lookupOp } from '../../ops/index.js';
import type { Tensor } from '../../src/ir/graph.js';
import { convGeometry, readConvAttrs } from '../../ops/conv-geometry.js';
import { winogradPlan, WINOGRAD_SCHEMES } from '../../ops/conv-winograd.js';
import { spaceToDepthPlan } from '../../ops/conv-space-to-depth.js';
import { expectClose, randomTensor, rng, runOrt, runOurs, type Feeds } from '../helpers/oracle.js';

const TARGETS = ['simd', 'scalar'] as const;

interface ConvCase { x: number[]; w: number[]; attrs: Record<string, unknown>; bias: boolean }

/** A random valid Conv configuration (ORT does not implement SAME auto_pad with dilation, so those stay apart). */
function randomConv(r: () => number): ConvCase {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const rank = [1, 2, 2, 2, 3][int(0, 4)];
  const group = [1, 1, 2, 3][int(0, 3)];
  const depthwise = rank === 2 && r() < 0.3;
  const cg = depthwise ? 1 : int(1, 5);
  const groups = depthwise ? int(2, 9) : group;
  const mg = depthwise ? 1 : int(1, 6);
  const kernel = Array.from({ length: rank }, () => int(1, rank === 3 ? 2 : 4));
  const strides = Array.from({ length: rank }, () => int(1, 3));
  const autoPad = ['NOTSET', 'NOTSET', 'VALID', 'SAME_UPPER', 'SAME_LOWER'][int(0, 4)];
  const dilations = Array.from({ length: rank }, () => (autoPad.startsWith('SAME') ? 1 : int(1, 2)));
  const size = Array.from({ length: rank }, (_, i) => (kernel[i] - 1) * dilations[i] + int(1, rank === 3 ? 5 : 13));
  const attrs: Record<string, unknown> = { group: groups, strides, dilations, kernel_shape: kernel };
  if (autoPad === 'NOTSET') attrs.pads = [...kernel.map((k) => int(0, k - 1)), ...kernel.map((k) => int(0, k - 1))];
  else attrs.auto_pad = autoPad;
  return { x: [int(1, 2), cg * groups, ...size], w: [mg * groups, cg, ...kernel], attrs, bias: r() < 0.7 };
}

/** wRange: the weights' half-range (default 1). */
function convModel(c: ConvCase, dtype: 'float32' | 'float64' = 'float32', r = rng(1), wRange = 1) {
  const inits: Record<string, Tensor> = { w: randomTensor(dtype, c.w, r, -wRange, wRange) };
  if (c.bias) inits.b = randomTensor(dtype, [c.w[0]], r);
  const model = encodeModel({
    opset: 13, inputs: [{ name: 'x', dtype, shape: c.x }], outputs: [{ name: 'y' }],
    nodes: [{ op: 'Conv', inputs: ['x', 'w', ...(c.bias ? ['b'] : [])], outputs: ['y'], attrs: c.attrs as never }],
    initializers: inits,
  });
  return { model, inits };
}

async function compare(model: Uint8Array, feeds: Feeds, target: 'simd' | 'scalar', tol = 1e-4) {
  expectClose(await runOurs(model, feeds, { target }), await runOrt(model, feeds), tol, tol);
}

/** A case's attributes as the op reads them, and its geometry. */
function caseGeometry(c: ConvCase) {
  const attrs = readConvAttrs({ has: (n: string) => n in c.attrs, ints: (n: string) => c.attrs[n] as number[], string: (n: string, d: string) => (c.attrs[n] as string) ?? d, int: (n: string, d: number) => (c.attrs[n] as number) ?? d } as never);
  return { attrs, geo: convGeometry(attrs, c.x.slice(2), c.w.slice(2), (m) => { throw new Error(m); }) };
}

/** The Winograd plan of this case under a scheme, or undefined when the scheme declines it. */
function winogradPlanOf(c: ConvCase, r: 3 | 5) {
  const { attrs, geo } = caseGeometry(c);
  return winogradPlan(WINOGRAD_SCHEMES[r], geo, c.x[0], c.x[1], c.w[0], attrs.group);
}

/**
 * Conv (r x r, padded to keep the size) + Add of its input + an activation fuse into one node of this variant,
 * which matches onnxruntime-node on both targets.
 */
async function checkFusedResidual(shape: number[], r: number, act: 'Relu' | 'Clip' | 'LeakyRelu', attrs: Record<string, unknown>, seed: number, variant: string) {
  const rand = rng(seed);
  const t = (dims: number[]) => randomTensor('float32', dims, rand);
  const c = shape[1], p = (r - 1) / 2;
  const model = encodeModel({
    opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape }], outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [p, p, p, p] } },
      { op: 'Add', inputs: ['c', 'x'], outputs: ['s'] },
      act === 'Clip' ? { op: 'Clip', inputs: ['s', 'lo', 'hi'], outputs: ['y'] } : { op: act, inputs: ['s'], outputs: ['y'], attrs: attrs as never },
    ],
    initializers: {
      w: t([c, c, r, r]), b: t([c]),
      lo: { dtype: 'float32', shape: [], data: Float32Array.of(0) }, hi: { dtype: 'float32', shape: [], data: Float32Array.of(1.5) },
    },
  });
  const { report } = await compile(model);
  expect(report.ops.Add).toBeUndefined();
  expect(report.ops[act]).toBeUndefined();
  expect(report.variants[`Conv:${variant}`]).toBe(1);
  for (const target of TARGETS) await compare(model, { x: t(shape) }, target);
}

describe('Conv: the Winograd F(2x2, 3x3) path (simd; scalar runs the direct path on the same cases)', () => {
  const cases: [string, ConvCase][] = [
    ['odd output 15x12, asymmetric pads, batch 2, 19 filters', { x: [2, 9, 15, 13], w: [19, 9, 3, 3], attrs: { pads: [1, 0, 1, 1] }, bias: true }],
    ['no padding, no bias, 8 channels', { x: [1, 8, 18, 18], w: [8, 8, 3, 3], attrs: {}, bias: false }],
    ['several bands of tile rows: 64 channels, 56x56', { x: [1, 64, 56, 56], w: [64, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true }],
    ['SAME_UPPER, 17x16', { x: [1, 12, 17, 16], w: [10, 12, 3, 3], attrs: { auto_pad: 'SAME_UPPER' }, bias: true }],
    ['odd output width 21 (half tiles at the right edge)', { x: [1, 8, 14, 21], w: [12, 8, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true }],
    ['pads of 2 on one side only, 13x15 output', { x: [1, 8, 13, 15], w: [9, 8, 3, 3], attrs: { pads: [2, 0, 0, 2] }, bias: false }],
  ];
  const planOf = (c: ConvCase) => winogradPlanOf(c, 3);

  it('these cases take the path; small, strided, dilated and grouped convolutions do not', () => {
    for (const [, c] of cases) expect(planOf(c)).toBeDefined();
    expect(planOf(cases[2][1])!.bands).toBeGreaterThan(1);
    const small: ConvCase = { x: [1, 8, 8, 8], w: [8, 8, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true };
    const strided: ConvCase = { ...cases[2][1], attrs: { pads: [1, 1, 1, 1], strides: [2, 2] } };
    const dilated: ConvCase = { ...cases[2][1], attrs: { pads: [2, 2, 2, 2], dilations: [2, 2] } };
    const grouped: ConvCase = { x: [1, 64, 56, 56], w: [64, 32, 3, 3], attrs: { pads: [1, 1, 1, 1], group: 2 }, bias: true };
    for (const c of [small, strided, dilated, grouped]) expect(planOf(c)).toBeUndefined();
  });

  for (const [name, c] of cases) {
    for (const target of TARGETS) {
      it(`${name} (${target})`, async () => {
        const { model } = convModel(c, 'float32', rng(31));
        await compare(model, { x: randomTensor('float32', c.x, rng(32)) }, target);
      });
    }
  }

  for (const [act, attrs] of [['Relu', {}], ['Clip', {}]] as const) {
    it(`residual Add + ${act} fused into the Winograd output transform`, () => checkFusedResidual([1, 16, 19, 20], 3, act, attrs, 33, 'winograd-f2x2-3x3'));
  }
});

// F(2x2, 5x5) rounds worse than F(2x2, 3x3) (transform coefficients up to 5): measured against a float64 sum, its
// largest error is about 7.5e-7 of the sum of the terms' magnitudes, three times the direct path's. The many-channel
// case therefore uses weights of real magnitude (uniform, He-scaled): with +-1 weights over 1200 terms its outputs
// reach 51 and two of 125440 errors exceed 1e-4 (1.8e-4), where the direct path's stay below 6.6e-5.
describe('Conv: the Winograd F(2x2, 5x5) path (simd; scalar runs the direct path on the same cases)', () => {
  const heRange = (c: ConvCase) => Math.sqrt(6 / (c.w[1] * 25));
  const cases: [string, ConvCase][] = [
    ['pads 2, 27x27 (AlexNet conv2 shape, narrowed), 20 filters', { x: [1, 12, 27, 27], w: [20, 12, 5, 5], attrs: { pads: [2, 2, 2, 2] }, bias: true }],
    ['odd output 15x12, asymmetric pads, batch 2, 19 filters', { x: [2, 9, 17, 13], w: [19, 9, 5, 5], attrs: { pads: [1, 0, 2, 3] }, bias: true }],
    ['no padding, no bias, 8 channels', { x: [1, 8, 20, 20], w: [8, 8, 5, 5], attrs: {}, bias: false }],
    ['several bands of tile rows: 48 -> 40 channels, 56x56', { x: [1, 48, 56, 56], w: [40, 48, 5, 5], attrs: { pads: [2, 2, 2, 2] }, bias: true }],
    ['SAME_LOWER, 17x16', { x: [1, 12, 17, 16], w: [10, 12, 5, 5], attrs: { auto_pad: 'SAME_LOWER' }, bias: true }],
    ['odd output width 21 (half tiles at the right edge)', { x: [1, 8, 14, 21], w: [12, 8, 5, 5], attrs: { pads: [2, 2, 2, 2] }, bias: true }],
    ['pads of 4 on one side only, 13x15 output', { x: [1, 8, 13, 15], w: [9, 8, 5, 5], attrs: { pads: [4, 0, 0, 4] }, bias: false }],
  ];

  it('these cases take the path; small, strided, dilated, grouped and 3x3 convolutions do not', () => {
    for (const [, c] of cases) expect(winogradPlanOf(c, 5)).toBeDefined();
    expect(winogradPlanOf(cases[3][1], 5)!.bands).toBeGreaterThan(1);
    const small: ConvCase = { x: [1, 8, 8, 8], w: [8, 8, 5, 5], attrs: { pads: [2, 2, 2, 2] }, bias: true };
    const strided: ConvCase = { ...cases[0][1], attrs: { pads: [2, 2, 2, 2], strides: [2, 2] } };
    const dilated: ConvCase = { ...cases[0][1], attrs: { pads: [4, 4, 4, 4], dilations: [2, 2] } };
    const grouped: ConvCase = { x: [1, 24, 27, 27], w: [20, 12, 5, 5], attrs: { pads: [2, 2, 2, 2], group: 2 }, bias: true };
    const few: ConvCase = { x: [1, 4, 27, 27], w: [20, 4, 5, 5], attrs: { pads: [2, 2, 2, 2] }, bias: true };
    for (const c of [small, strided, dilated, grouped, few]) expect(winogradPlanOf(c, 5)).toBeUndefined();
    expect(winogradPlanOf(cases[0][1], 3)).toBeUndefined();
  });

  for (const [name, c] of cases) {
    for (const target of TARGETS) {
      it(`${name} (${target})`, async () => {
        const { model } = convModel(c, 'float32', rng(41), c.x[1] > 16 ? heRange(c) : 1);
        const { report } = await compile(model, { target });
        expect(report.variants).toEqual({ [`Conv:${target === 'simd' ? 'winograd-f2x2-5x5' : 'im2col-gemm'}`]: 1 });
        await compare(model, { x: randomTensor('float32', c.x, rng(42)) }, target);
      });
    }
  }

  it('real magnitudes: He-scaled weights over 96 channels, non-negative activations up to 6 (simd)', async () => {
    const c: ConvCase = { x: [1, 96, 27, 27], w: [32, 96, 5, 5], attrs: { pads: [2, 2, 2, 2] }, bias: true };
    const w = randomTensor('float32', c.w, rng(43), -heRange(c), heRange(c));
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: c.x }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: c.attrs as never }],
      initializers: { w, b: randomTensor('float32', [32], rng(44), -0.1, 0.1) },
    });
    await compare(model, { x: randomTensor('float32', c.x, rng(45), 0, 6) }, 'simd');
  });

  for (const [act, attrs] of [['Relu', {}], ['LeakyRelu', { alpha: 0.1 }]] as const) {
    it(`residual Add + ${act} fused into the output transform`, () => checkFusedResidual([1, 16, 19, 22], 5, act, attrs, 46, 'winograd-f2x2-5x5'));
  }
});

describe('Conv: space-to-depth Winograd for large strides (simd; scalar runs the direct path on the same cases)', () => {
  const planOf = (c: ConvCase) => { const { attrs, geo } = caseGeometry(c); return spaceToDepthPlan(geo, c.x[0], c.x[1], c.w[0], attrs.group); };
  const cases: [string, ConvCase][] = [
    ['11x11 stride 4 pad 2 (AlexNet stem), 3->24 at 107x107', { x: [1, 3, 107, 107], w: [24, 3, 11, 11], attrs: { strides: [4, 4], pads: [2, 2, 2, 2] }, bias: true }],
    ['11x11 stride 4, no padding, batch 2, odd 61x57 input', { x: [2, 3, 61, 57], w: [10, 3, 11, 11], attrs: { strides: [4, 4] }, bias: false }],
    ['5x5 stride 2 pad 2 (3x3 blocks), 4->12 at 33x29', { x: [1, 4, 33, 29], w: [12, 4, 5, 5], attrs: { strides: [2, 2], pads: [2, 1, 2, 3] }, bias: true }],
    ['6x6 stride 2 SAME_UPPER, 2->9 at 30x31', { x: [1, 2, 30, 31], w: [9, 2, 6, 6], attrs: { strides: [2, 2], auto_pad: 'SAME_UPPER' }, bias: true }],
    ['9x9 stride 3 pad 4, 3->8 at 40x40', { x: [1, 3, 40, 40], w: [8, 3, 9, 9], attrs: { strides: [3, 3], pads: [4, 4, 4, 4] }, bias: true }],
    ['10x10 stride 2 (5x5 blocks, F(2x2, 5x5)), 2->8 at 36x36', { x: [1, 2, 36, 36], w: [8, 2, 10, 10], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true }],
  ];

  it('these cases take the path; 7x7/2 and 3x3/2 (4x4, 2x2 blocks), dilated, grouped, unequal strides and too few outputs do not', () => {
    for (const [, c] of cases) expect(planOf(c)).toBeDefined();
    expect(planOf(cases[5][1])!.winograd.scheme.name).toBe('f2x2-5x5');
    const declined: ConvCase[] = [
      { x: [1, 3, 64, 64], w: [16, 3, 7, 7], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] }, bias: true },
      { x: [1, 8, 64, 64], w: [16, 8, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true },
      { x: [1, 3, 107, 107], w: [24, 3, 11, 11], attrs: { strides: [4, 4], dilations: [2, 2] }, bias: true },
      { x: [1, 6, 107, 107], w: [24, 3, 11, 11], attrs: { strides: [4, 4], group: 2 }, bias: true },
      { x: [1, 3, 107, 107], w: [24, 3, 11, 11], attrs: { strides: [4, 3] }, bias: true },
      { x: [1, 3, 30, 30], w: [24, 3, 11, 11], attrs: { strides: [4, 4] }, bias: true },
    ];
    for (const c of declined) expect(planOf(c), JSON.stringify(c)).toBeUndefined();
  });

  for (const [name, c] of cases) {
    for (const target of TARGETS) {
      it(`${name} (${target})`, async () => {
        const { model } = convModel(c, 'float32', rng(51));
        const { report } = await compile(model, { target });
        expect(report.variants).toEqual({ [`Conv:${target === 'simd' ? 'space-to-depth-winograd' : 'im2col-gemm'}`]: 1 });
        await compare(model, { x: randomTensor('float32', c.x, rng(52)) }, target);
      });
    }
  }

  it('residual Add + Clip fused into the output transform (both targets)', async () => {
    const r = rng(53);
    const t = (shape: number[]) => randomTensor('float32', shape, r);
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 67, 71] }, { name: 'z', dtype: 'float32', shape: [1, 16, 15, 17] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { strides: [4, 4], pads: [1, 2, 1, 2] } },
        { op: 'Add', inputs: ['c', 'z'], outputs: ['s'] },
        { op: 'Clip', inputs: ['s', 'lo', 'hi'], outputs: ['y'] },
      ],
      initializers: {
        w: t([16, 3, 11, 11]), b: t([16]),
        lo: { dtype: 'float32', shape: [], data: Float32Array.of(-1) }, hi: { dtype: 'float32', shape: [], data: Float32Array.of(2) },
      },
    });
    const { report } = await compile(model);
    expect(report.ops.Add).toBeUndefined();
    expect(report.ops.Clip).toBeUndefined();
    expect(report.variants['Conv:space-to-depth-winograd']).toBe(1);
    for (const target of TARGETS) await compare(model, { x: t([1, 3, 67, 71]), z: t([1, 16, 15, 17]) }, target);
  });
});

describe('Conv', () => {
  const r = rng(2024);
  const cases = Array.from({ length: 14 }, () => randomConv(r));
  for (const [i, c] of cases.entries()) {
    for (const target of TARGETS) {
      it(`random #${i} x[${c.x}] w[${c.w}] ${JSON.stringify(c.attrs)} (${target})`, async () => {
        const { model } = convModel(c, 'float32', rng(i));
        await compare(model, { x: randomTensor('float32', c.x, rng(100 + i)) }, target);
      });
    }
  }

  const fixed: [string, ConvCase][] = [
    ['3x3 pad 1, 37 outputs (edge row tile), 14x14', { x: [1, 64, 14, 14], w: [37, 64, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true }],
    ['pointwise 1x1, odd spatial', { x: [2, 16, 7, 9], w: [13, 16, 1, 1], attrs: {}, bias: true }],
    ['depthwise stride 2', { x: [1, 6, 13, 13], w: [6, 1, 3, 3], attrs: { group: 6, pads: [1, 1, 1, 1], strides: [2, 2] }, bias: true }],
    ['depthwise stride 3 (general path on simd)', { x: [1, 6, 20, 20], w: [6, 1, 3, 3], attrs: { group: 6, strides: [3, 3], pads: [1, 1, 1, 1] }, bias: false }],
    ['depthwise multiplier 2', { x: [1, 8, 10, 10], w: [16, 1, 3, 3], attrs: { group: 8, pads: [1, 1, 1, 1] }, bias: true }],
    ['7x7 stride 2 pad 3', { x: [1, 3, 37, 37], w: [16, 3, 7, 7], attrs: { strides: [2, 2], pads: [3, 3, 3, 3] }, bias: true }],
    // strides past 2 gather four input columns per vector on simd (im2col): whole vectors, a tail, padding
    ['11x11 stride 4 pad 2 (AlexNet stem shape), 51x51', { x: [1, 3, 51, 51], w: [8, 3, 11, 11], attrs: { strides: [4, 4], pads: [2, 2, 2, 2] }, bias: true }],
    ['5x5 strides 3x5, asymmetric pads, 2 groups', { x: [2, 4, 23, 47], w: [6, 2, 5, 5], attrs: { group: 2, strides: [3, 5], pads: [1, 2, 0, 4] }, bias: false }],
    ['1-D k=4 stride 3 pad 1', { x: [1, 5, 61], w: [7, 5, 4], attrs: { strides: [3], pads: [1, 2] }, bias: true }],
    ['3-D stride 1x1x4', { x: [1, 2, 3, 4, 30], w: [3, 2, 2, 2, 3], attrs: { strides: [1, 1, 4], pads: [0, 1, 1, 1, 0, 2] }, bias: true }],
  ];
  for (const [name, c] of fixed) {
    for (const target of TARGETS) {
      it(`${name} (${target})`, async () => {
        const { model } = convModel(c);
        await compare(model, { x: randomTensor('float32', c.x, rng(7)) }, target);
      });
    }
  }

  it('SAME_UPPER with dilation matches explicit pads (ORT lacks this combination)', async () => {
    // input 9, kernel 3 dilated by 2 (extent 5), stride 1: total padding 4 -> 2 + 2
    const c: ConvCase = { x: [1, 2, 9, 8], w: [3, 2, 3, 3], attrs: { auto_pad: 'SAME_UPPER', dilations: [2, 2] }, bias: true };
    const explicit: ConvCase = { ...c, attrs: { pads: [2, 2, 2, 2], dilations: [2, 2] } };
    const feeds = { x: randomTensor('float32', c.x, rng(3)) };
    const ours = await runOurs(convModel(c).model, feeds);
    expectClose(ours, await runOrt(convModel(explicit).model, feeds), 1e-4, 1e-4);
  });

  for (const target of TARGETS) {
    it(`float64 and float16 agree with the float32 oracle (${target})`, async () => {
      const c: ConvCase = { x: [1, 4, 7, 6], w: [6, 2, 3, 3], attrs: { group: 2, pads: [1, 0, 1, 2], strides: [1, 2] }, bias: true };
      const x32 = randomTensor('float32', c.x, rng(9));
      const ref = await runOrt(convModel(c, 'float32', rng(4)).model, { x: x32 });
      const ours64 = await runOurs(convModel(c, 'float64', rng(4)).model, { x: { dtype: 'float64', shape: c.x, data: Float64Array.from(x32.data as Float32Array) } }, { target });
      expectClose({ y: { data: Float32Array.from(ours64.y.data as Float64Array), shape: ours64.y.shape } }, ref, 1e-4, 1e-4);
    });
  }

  it('a Conv with weights fed at run time uses the generic path', async () => {
    const c: ConvCase = { x: [1, 3, 6, 6], w: [4, 3, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: false };
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: c.x }, { name: 'w', dtype: 'float32', shape: c.w }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs: c.attrs as never }],
    });
    const feeds = { x: randomTensor('float32', c.x, rng(5)), w: randomTensor('float32', c.w, rng(6)) };
    for (const target of TARGETS) await compare(model, feeds, target);
  });
});

describe('Conv fusion', () => {
  const r = rng(77);
  const t = (shape: number[], lo = -1, hi = 1) => randomTensor('float32', shape, r, lo, hi);

  async function checkFused(spec: Parameters<typeof encodeModel>[0], feeds: Feeds, gone: string[]) {
    const model = encodeModel(spec);
    for (const target of TARGETS) {
      const { report } = await compile(model, { target });
      for (const op of gone) expect(report.ops[op], `${op} should be fused away`).toBeUndefined();
      await compare(model, feeds, target);
    }
  }

  it('Conv + BatchNormalization + Relu folds into one Conv', async () => {
    await checkFused({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 9, 9] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'BatchNormalization', inputs: ['c', 'scale', 'beta', 'mean', 'var'], outputs: ['n'], attrs: { epsilon: float(1e-3) } },
        { op: 'Relu', inputs: ['n'], outputs: ['y'] },
      ],
      initializers: { w: t([5, 3, 3, 3]), b: t([5]), scale: t([5], 0.5, 2), beta: t([5]), mean: t([5]), var: t([5], 0.1, 2) },
    }, { x: t([2, 3, 9, 9]) }, ['BatchNormalization', 'Relu']);
  });

  it.skipIf(!lookupOp('BatchNormalization', '', 13))('a BatchNormalization whose Conv output is also read elsewhere stays unfolded', async () => {
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 2, 5, 5] }], outputs: [{ name: 'y' }, { name: 'c' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: {} },
        { op: 'BatchNormalization', inputs: ['c', 'scale', 'beta', 'mean', 'var'], outputs: ['y'] },
      ],
      initializers: { w: t([3, 2, 3, 3]), scale: t([3], 0.5, 2), beta: t([3]), mean: t([3]), var: t([3], 0.1, 2) },
    });
    const { report } = await compile(model);
    expect(report.ops.BatchNormalization).toBe(1);
    for (const target of TARGETS) await compare(model, { x: t([1, 2, 5, 5]) }, target);
  });

  it('residual Add + Relu fuse into the Conv epilogue (ResNet block shape)', async () => {
    await checkFused({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 8, 10, 10] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
        { op: 'Conv', inputs: ['r1', 'w2', 'b2'], outputs: ['c2'], attrs: { pads: [1, 1, 1, 1] } },
        { op: 'Add', inputs: ['c2', 'x'], outputs: ['s'] },
        { op: 'Relu', inputs: ['s'], outputs: ['y'] },
      ],
      initializers: { w1: t([8, 8, 3, 3]), b1: t([8]), w2: t([8, 8, 3, 3]), b2: t([8]) },
    }, { x: t([1, 8, 10, 10]) }, ['Add', 'Relu']);
  });

  it('residual Add whose shortcut is computed after the Conv (downsample branch) and depthwise + residual', async () => {
    await checkFused({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 6, 9, 9] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'wd', 'bd'], outputs: ['d'], attrs: { group: 6, pads: [1, 1, 1, 1] } },
        { op: 'Conv', inputs: ['x', 'ws'], outputs: ['sc'], attrs: {} },
        { op: 'Add', inputs: ['sc', 'd'], outputs: ['y'] },
      ],
      initializers: { wd: t([6, 1, 3, 3]), bd: t([6]), ws: t([6, 6, 1, 1]) },
    }, { x: t([1, 6, 9, 9]) }, ['Add']);
  });

  it('a Conv output that is also a graph output is not fused', async () => {
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 6, 6] }], outputs: [{ name: 'c' }, { name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: {} },
        { op: 'Relu', inputs: ['c'], outputs: ['y'] },
      ],
      initializers: { w: t([4, 3, 3, 3]) },
    });
    const { report } = await compile(model);
    expect(report.ops.Relu).toBe(1);
    for (const target of TARGETS) await compare(model, { x: t([1, 3, 6, 6]) }, target);
  });

  it.skipIf(!lookupOp('LeakyRelu', '', 13))('LeakyRelu fuses into a strided Conv', async () => {
    await checkFused({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 11, 11] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w'], outputs: ['c'], attrs: { strides: [2, 2] } },
        { op: 'LeakyRelu', inputs: ['c'], outputs: ['y'], attrs: { alpha: float(0.2) } },
      ],
      initializers: { w: t([4, 3, 3, 3]) },
    }, { x: t([1, 3, 11, 11]) }, ['LeakyRelu']);
  });

  it.skipIf(!lookupOp('Sigmoid', '', 13) || !lookupOp('Mul', '', 13))('SiLU written as Mul(y, Sigmoid(y)) fuses (either Mul operand order)', async () => {
    await checkFused({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 9, 10] }], outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { pads: [1, 1, 1, 1], strides: [2, 1] } },
        { op: 'Sigmoid', inputs: ['c'], outputs: ['s'] },
        { op: 'Mul', inputs: ['s', 'c'], outputs: ['m'] },
        { op: 'Conv', inputs: ['m', 'w2'], outputs: ['c2'], attrs: { group: 5 } },
        { op: 'Sigmoid', inputs: ['c2'], outputs: ['s2'] },
        { op: 'Mul', inputs: ['c2', 's2'], outputs: ['y'] },
      ],
      initializers: { w: t([5, 3, 3, 3], -2, 2), b: t([5]), w2: t([5, 1, 1, 1], -2, 2) },
    }, { x: t([1, 3, 9, 10], -3, 3) }, ['Sigmoid', 'Mul']);
  });

  it.skipIf(!lookupOp('Clip', '', 13))('Clip (ReLU6) with constant bounds fuses into a pointwise Conv', async () => {
    const nodes: NodeSpec[] = [
      { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'] },
      { op: 'Clip', inputs: ['c', 'lo', 'hi'], outputs: ['y'] },
    ];
    await checkFused({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 16, 7, 7] }], outputs: [{ name: 'y' }], nodes,
      initializers: { w: t([24, 16, 1, 1], -2, 2), b: t([24]), lo: { dtype: 'float32', shape: [], data: Float32Array.of(0) }, hi: { dtype: 'float32', shape: [], data: Float32Array.of(0.5) } },
    }, { x: t([1, 16, 7, 7]) }, ['Clip']);
  });
});

describe('ConvTranspose', () => {
  const cases: [string, number[], number[], Record<string, unknown>][] = [
    ['2-D stride 2, output_padding, bias', [1, 3, 5, 4], [3, 2, 3, 3], { strides: [2, 2], output_padding: [1, 0], pads: [1, 0, 0, 1] }],
    ['groups and dilations', [2, 4, 4, 5], [4, 3, 2, 3], { group: 2, dilations: [2, 1], strides: [1, 2] }],
    ['1-D with output_shape', [1, 2, 6], [2, 3, 4], { strides: [3], output_shape: [19] }],
    ['3-D SAME_UPPER', [1, 2, 3, 3, 2], [2, 2, 2, 2, 2], { strides: [2, 2, 2], auto_pad: 'SAME_UPPER' }],
  ];
  for (const [name, x, w, attrs] of cases) {
    for (const target of TARGETS) {
      it(`${name} (${target})`, async () => {
        const r = rng(11);
        const model = encodeModel({
          opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: x }], outputs: [{ name: 'y' }],
          nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: attrs as never }],
          initializers: { w: randomTensor('float32', w, r), b: randomTensor('float32', [w[1] * ((attrs.group as number) ?? 1)], r) },
        });
        await compare(model, { x: randomTensor('float32', x, r) }, target);
      });
    }
  }
});

/** Each case on both targets: the kernel variant it takes, and its output against onnxruntime-node. */
function variantCases(cases: [string, ConvCase, string][], seed: number): void {
  for (const [name, c, variant] of cases) {
    for (const target of TARGETS) {
      it(`${name} (${target}: ${variant})`, async () => {
        const { model } = convModel(c);
        const { report } = await compile(model, { target });
        expect(Object.keys(report.variants)).toEqual([`Conv:${variant}`]);
        await compare(model, { x: randomTensor('float32', c.x, rng(seed)) }, target);
      });
    }
  }
}

describe('Conv: pointwise layers whose input rows are a power-of-two distance apart', () => {
  // A 16x16 plane puts rows 1 KB apart (4 of the L1's 64 sets): with 64 output channels the panel is reused by
  // 16 row blocks, so the layer copies through the im2col tile; with 16 outputs it still reads in place.
  const cases: [string, ConvCase, string][] = [
    ['64->64 at 16x16', { x: [1, 64, 16, 16], w: [64, 64, 1, 1], attrs: {}, bias: true }, 'im2col-gemm'],
    ['64->16 at 16x16', { x: [1, 64, 16, 16], w: [16, 64, 1, 1], attrs: {}, bias: true }, 'pointwise-gemm'],
    ['64->40 at 14x14 (rows 784 bytes apart)', { x: [1, 64, 14, 14], w: [40, 64, 1, 1], attrs: {}, bias: false }, 'pointwise-gemm'],
  ];
  variantCases(cases, 12);
});

describe('Conv 1-D runs on the 2-D kernels (height 1)', () => {
  const cases: [string, ConvCase, string][] = [
    ['depthwise k=7, 24 channels, length 50 (keyword spotting)', { x: [1, 24, 50], w: [24, 1, 7], attrs: { group: 24, pads: [3, 3] }, bias: true }, 'depthwise'],
    ['depthwise dilated k=3 d=4, batch 2', { x: [2, 8, 41], w: [8, 1, 3], attrs: { group: 8, dilations: [4], pads: [4, 4] }, bias: false }, 'depthwise'],
    ['depthwise stride 2, SAME_UPPER', { x: [1, 12, 33], w: [12, 1, 5], attrs: { group: 12, strides: [2], auto_pad: 'SAME_UPPER' }, bias: true }, 'depthwise'],
    ['depthwise multiplier 2', { x: [1, 6, 19], w: [12, 1, 3], attrs: { group: 6, pads: [1, 0] }, bias: true }, 'im2col-gemm'],
    ['pointwise 16->24, length 37', { x: [1, 16, 37], w: [24, 16, 1], attrs: {}, bias: true }, 'pointwise-gemm'],
    ['strided k=5 s=2', { x: [1, 8, 61], w: [16, 8, 5], attrs: { strides: [2], pads: [2, 2] }, bias: true }, 'im2col-gemm'],
    ['grouped k=3, 4 groups, dilation 2', { x: [1, 16, 30], w: [20, 4, 3], attrs: { group: 4, dilations: [2], pads: [2, 1] }, bias: false }, 'im2col-gemm'],
  ];
  variantCases(cases, 8);

  it('depthwise 1-D + residual Add + Relu fuse', async () => {
    const r = rng(31);
    const t = (shape: number[]) => randomTensor('float32', shape, r);
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 16, 45] }], outputs: [{ name: 'z' }],
      nodes: [
        { op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['c'], attrs: { group: 16, pads: [3, 3] } },
        { op: 'Add', inputs: ['c', 'x'], outputs: ['a'] },
        { op: 'Relu', inputs: ['a'], outputs: ['z'] },
      ],
      initializers: { w: t([16, 1, 7]), b: t([16]) },
    });
    for (const target of TARGETS) {
      const { report } = await compile(model, { target });
      expect(report.ops.Add).toBeUndefined();
      expect(report.ops.Relu).toBeUndefined();
      expect(report.variants['Conv:depthwise']).toBe(1);
      await compare(model, { x: t([1, 16, 45]) }, target);
    }
  });
});
