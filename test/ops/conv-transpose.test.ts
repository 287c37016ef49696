// ConvTranspose differential tests against onnxruntime-node on both targets: random shapes and attributes
// (groups, strides, dilations, pads, output_padding, output_shape, auto_pad, 1-D/2-D/3-D, batch > 1, with and
// without bias), checking which kernel variant ran (stride 1: the equivalent Conv's variants; otherwise GEMM +
// col2im; other dtypes and run-time weights: the direct loop), and the fused activation and residual epilogues.

import { describe, expect, it } from 'vitest';
import { encodeModel, float, type ModelSpec, type NodeSpec } from '../../src/onnx/encode.js';
import { compile } from '../../src/index.js';
import type { Tensor } from '../../src/ir/graph.js';
import { expectClose, randomTensor, rng, runOrt, runOurs, type Feeds } from '../helpers/oracle.js';

const TARGETS = ['simd', 'scalar'] as const;

interface Case { x: number[]; w: number[]; attrs: Record<string, unknown>; bias: boolean }

const cout = (c: Case) => c.w[1] * ((c.attrs.group as number) ?? 1);

function model(c: Case, dtype: 'float32' | 'float64' = 'float32', extra: { nodes?: NodeSpec[]; inits?: Record<string, Tensor>; out?: string } = {}): Uint8Array {
  const r = rng(c.x.length * 31 + c.w[0]);
  const inits: Record<string, Tensor> = { w: randomTensor(dtype, c.w, r), ...extra.inits };
  if (c.bias) inits.b = randomTensor(dtype, [cout(c)], r);
  return encodeModel({
    opset: 17, inputs: [{ name: 'x', dtype, shape: c.x }], outputs: [{ name: extra.out ?? 'y' }],
    nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w', ...(c.bias ? ['b'] : [])], outputs: ['y'], attrs: c.attrs as never }, ...(extra.nodes ?? [])],
    initializers: inits,
  });
}

/** Compiles for the target, checks the variant and (when given) that `gone` ops were fused, and compares with ORT. */
async function check(bytes: Uint8Array, feeds: Feeds, target: 'simd' | 'scalar', variant?: (name: string) => boolean, gone: string[] = []) {
  const { report } = await compile(bytes, { target });
  const ran = Object.keys(report.variants).filter((v) => v.startsWith('ConvTranspose:')).map((v) => v.slice('ConvTranspose:'.length));
  if (variant) expect(ran.length === 1 && variant(ran[0]), `variant ${ran}`).toBe(true);
  for (const op of gone) expect(report.ops[op], `${op} should be fused away`).toBeUndefined();
  expectClose(await runOurs(bytes, feeds, { target }), await runOrt(bytes, feeds), 1e-4, 1e-4);
}

/** A random valid configuration. */
function randomCase(r: () => number): Case {
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const rank = [1, 2, 2, 2, 3][int(0, 4)];
  const group = [1, 1, 1, 2, 3][int(0, 4)];
  const cg = int(1, 5), mg = int(1, 6);
  const kernel = Array.from({ length: rank }, () => int(1, rank === 3 ? 3 : 5));
  const strides = Array.from({ length: rank }, () => int(1, 3));
  const dilations = Array.from({ length: rank }, () => int(1, 2));
  const size = Array.from({ length: rank }, () => int(1, rank === 3 ? 5 : 12));
  const attrs: Record<string, unknown> = { group, strides, dilations, kernel_shape: kernel };
  const mode = int(0, 5);
  if (mode <= 2) {
    // explicit pads (below the dilated kernel extent, so the output stays non-empty), output_padding on some axes
    attrs.pads = [...kernel.map((k, i) => int(0, (k - 1) * dilations[i])), ...kernel.map((k, i) => int(0, (k - 1) * dilations[i]))];
    if (mode === 2) attrs.output_padding = strides.map((s) => int(0, s - 1)); // ORT: below the stride (the spec: or the dilation)
  } else if (mode === 3) {
    attrs.auto_pad = 'VALID';
  } else if (mode === 4) {
    // output_shape: from 3 below the full extent to stride - 1 beyond it (ORT's range)
    attrs.output_shape = size.map((n, i) => Math.max(1, strides[i] * (n - 1) + (kernel[i] - 1) * dilations[i] + 1 - int(0, 3) + int(0, strides[i] - 1)));
  } else {
    attrs.auto_pad = ['SAME_UPPER', 'SAME_LOWER'][int(0, 1)];
    // SAME's output is input * stride; with a kernel extent below the stride that needs negative padding, which
    // ORT clamps to 0 (a smaller output) while the spec does not: keep to extents >= the stride here
    kernel.forEach((k, i) => { while ((kernel[i] - 1) * dilations[i] + 1 < strides[i]) kernel[i]++; });
  }
  return { x: [int(1, 2), cg * group, ...size], w: [cg * group, mg, ...kernel], attrs, bias: r() < 0.7 };
}

describe('ConvTranspose: random shapes and attributes', () => {
  const r = rng(1017);
  const cases = Array.from({ length: 28 }, () => randomCase(r));
  for (const [i, c] of cases.entries()) {
    const stride1 = (c.attrs.strides as number[]).every((s) => s === 1);
    for (const target of TARGETS) {
      it(`#${i} x[${c.x}] w[${c.w}] ${JSON.stringify(c.attrs)} bias=${c.bias} (${target})`, async () => {
        // stride 1 takes a Conv variant unless the pads exceed the kernel's extent; strided ones the GEMM
        await check(model(c), { x: randomTensor('float32', c.x, rng(i)) }, target, (v) => (stride1 ? v.startsWith('conv-') || v === 'gemm-col2im' : v === 'gemm-col2im'));
      });
    }
  }
});

describe('ConvTranspose: decoder shapes and each kernel variant', () => {
  const fixed: [string, Case, string, string?][] = [
    ['U-Net 2x2 stride 2, 16->8 at 12x10', { x: [1, 16, 12, 10], w: [16, 8, 2, 2], attrs: { strides: [2, 2] }, bias: true }, 'gemm-col2im'],
    ['4x4 stride 2 pad 1, 8->6 at 9x11, batch 2', { x: [2, 8, 9, 11], w: [8, 6, 4, 4], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true }, 'gemm-col2im'],
    ['3x3 stride 2 pad 1 output_padding 1 (odd kernel: a pair and a single tap)', { x: [1, 6, 7, 13], w: [6, 5, 3, 3], attrs: { strides: [2, 2], pads: [1, 1, 1, 1], output_padding: [1, 1] }, bias: false }, 'gemm-col2im'],
    ['stride 2 dilation 2 (no tap pairs)', { x: [1, 4, 6, 7], w: [4, 3, 3, 2], attrs: { strides: [2, 2], dilations: [2, 2] }, bias: true }, 'gemm-col2im'],
    ['3x3 stride 1 pad 1, 16->12 at 16x16 (Winograd on simd)', { x: [1, 16, 16, 16], w: [16, 12, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true }, 'conv-winograd-f2x2-3x3', 'conv-im2col-gemm'],
    ['5x5 stride 1 pad 1, 16->12 at 14x15 (Winograd F(2x2, 5x5) on simd)', { x: [1, 16, 14, 15], w: [16, 12, 5, 5], attrs: { pads: [1, 1, 1, 1] }, bias: true }, 'conv-winograd-f2x2-5x5', 'conv-im2col-gemm'],
    ['stride 1 depthwise 3x3', { x: [1, 6, 9, 9], w: [6, 1, 3, 3], attrs: { group: 6, pads: [1, 1, 1, 1] }, bias: true }, 'conv-depthwise'],
    ['stride 1 pointwise 1x1', { x: [1, 8, 5, 7], w: [8, 9, 1, 1], attrs: {}, bias: true }, 'conv-pointwise-gemm'],
    ['stride 1 pads beyond the kernel extent (not a Conv)', { x: [1, 3, 8, 8], w: [3, 2, 3, 3], attrs: { pads: [3, 1, 0, 4] }, bias: true }, 'gemm-col2im'],
    ['1-D stride 2 k=4 (vocoder upsampling)', { x: [1, 8, 40], w: [8, 4, 4], attrs: { strides: [2], pads: [1, 1] }, bias: true }, 'gemm-col2im'],
    ['1-D stride 1 k=5 grouped', { x: [2, 6, 30], w: [6, 2, 5], attrs: { group: 3, pads: [2, 2] }, bias: false }, 'conv-im2col-gemm'],
    ['3-D 2x2x2 stride 2', { x: [1, 4, 3, 4, 5], w: [4, 3, 2, 2, 2], attrs: { strides: [2, 2, 2] }, bias: true }, 'gemm-col2im'],
    ['output_shape one past the full extent (only the bias lands there)', { x: [1, 3, 4, 4], w: [3, 2, 2, 2], attrs: { strides: [2, 2], output_shape: [9, 8] }, bias: true }, 'gemm-col2im'],
    ['many input rows per chunk, 300 columns', { x: [1, 4, 20, 300], w: [4, 4, 2, 2], attrs: { strides: [2, 2] }, bias: true }, 'gemm-col2im'],
  ];
  for (const [name, c, simdVariant, scalarVariant] of fixed) {
    for (const target of TARGETS) {
      const want = target === 'scalar' ? scalarVariant ?? simdVariant : simdVariant;
      it(`${name} (${target}: ${want})`, async () => {
        await check(model(c), { x: randomTensor('float32', c.x, rng(5)) }, target, (v) => v === want);
      });
    }
  }

  it('float64 and weights fed at run time use the direct loop', async () => {
    const c: Case = { x: [1, 3, 5, 4], w: [3, 2, 3, 3], attrs: { strides: [2, 1], pads: [1, 0, 0, 1] }, bias: true };
    // ORT has no float64 ConvTranspose: the float32 model (same values) is the reference
    const x32 = randomTensor('float32', c.x, rng(3));
    const ref = await runOrt(model(c), { x: x32 });
    for (const target of TARGETS) {
      const bytes = model(c, 'float64');
      const { report } = await compile(bytes, { target });
      expect(report.variants['ConvTranspose:direct']).toBe(1);
      const ours = await runOurs(bytes, { x: { dtype: 'float64', shape: c.x, data: Float64Array.from(x32.data as Float32Array) } }, { target });
      expectClose({ y: { data: Float32Array.from(ours.y.data as Float64Array), shape: ours.y.shape } }, ref, 1e-4, 1e-4);
    }
    const dynamic = encodeModel({
      opset: 17, inputs: [{ name: 'x', dtype: 'float32', shape: c.x }, { name: 'w', dtype: 'float32', shape: c.w }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'], attrs: c.attrs as never }],
    });
    const feeds = { x: randomTensor('float32', c.x, rng(4)), w: randomTensor('float32', c.w, rng(6)) };
    for (const target of TARGETS) await check(dynamic, feeds, target, (v) => v === 'direct');
  });
});

describe('ConvTranspose fusion', () => {
  const r = rng(99);
  const t = (shape: number[]) => randomTensor('float32', shape, r);
  const strided: Case = { x: [1, 6, 7, 9], w: [6, 5, 4, 4], attrs: { strides: [2, 2], pads: [1, 1, 1, 1] }, bias: true };
  const unit: Case = { x: [1, 12, 14, 14], w: [12, 10, 3, 3], attrs: { pads: [1, 1, 1, 1] }, bias: true };
  const outShape = (c: Case) => (c === strided ? [1, 5, 14, 18] : [1, 10, 14, 14]);

  for (const [label, c] of [['stride 2 (GEMM + col2im)', strided], ['stride 1 (as Conv)', unit]] as const) {
    it(`Relu fuses (${label})`, async () => {
      const bytes = model(c, 'float32', { nodes: [{ op: 'Relu', inputs: ['y'], outputs: ['z'] }], out: 'z' });
      for (const target of TARGETS) await check(bytes, { x: t(c.x) }, target, undefined, ['Relu']);
    });
    it(`residual Add + Clip fuse, the skip connection an input (${label})`, async () => {
      const spec: ModelSpec = {
        opset: 17, inputs: [{ name: 'x', dtype: 'float32', shape: c.x }, { name: 's', dtype: 'float32', shape: outShape(c) }], outputs: [{ name: 'z' }],
        nodes: [
          { op: 'ConvTranspose', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: c.attrs as never },
          { op: 'Add', inputs: ['s', 'y'], outputs: ['a'] },
          { op: 'Clip', inputs: ['a', 'lo', 'hi'], outputs: ['z'] },
        ],
        initializers: {
          w: t(c.w), b: t([cout(c)]),
          lo: { dtype: 'float32', shape: [], data: Float32Array.of(-0.5) }, hi: { dtype: 'float32', shape: [], data: Float32Array.of(1) },
        },
      };
      for (const target of TARGETS) await check(encodeModel(spec), { x: t(c.x), s: t(outShape(c)) }, target, undefined, ['Add', 'Clip']);
    });
  }

  for (const [label, c] of [['grouped, stride 2', { ...strided, x: [1, 6, 7, 9], w: [6, 3, 4, 4], attrs: { ...strided.attrs, group: 2 } }], ['stride 1, no bias', { ...unit, bias: false }]] as [string, Case][]) {
    it(`BatchNormalization + Relu fold into the ConvTranspose (${label})`, async () => {
      const M = cout(c);
      const bn = { scale: t([M]), beta: t([M]), mean: t([M]), var: randomTensor('float32', [M], r, 0.5, 2) };
      const bytes = model(c, 'float32', {
        nodes: [
          { op: 'BatchNormalization', inputs: ['y', 'scale', 'beta', 'mean', 'var'], outputs: ['n'], attrs: { epsilon: float(1e-3) } },
          { op: 'Relu', inputs: ['n'], outputs: ['z'] },
        ],
        inits: bn, out: 'z',
      });
      for (const target of TARGETS) await check(bytes, { x: t(c.x) }, target, undefined, ['BatchNormalization', 'Relu']);
    });
  }

  it('a ConvTranspose output that is also a graph output is not fused', async () => {
    const spec: ModelSpec = {
      opset: 17, inputs: [{ name: 'x', dtype: 'float32', shape: strided.x }], outputs: [{ name: 'y' }, { name: 'z' }],
      nodes: [
        { op: 'ConvTranspose', inputs: ['x', 'w'], outputs: ['y'], attrs: strided.attrs as never },
        { op: 'Relu', inputs: ['y'], outputs: ['z'] },
      ],
      initializers: { w: t(strided.w) },
    };
    const { report } = await compile(encodeModel(spec));
    expect(report.ops.Relu).toBe(1);
    for (const target of TARGETS) await check(encodeModel(spec), { x: t(strided.x) }, target);
  });
});
