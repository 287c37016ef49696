// The transformer passes (src/passes/fuse-layernorm.ts, fuse-gelu.ts, fold-attention-scale.ts,
// transpose-to-reshape.ts, fuse-residual.ts on MatMul) on graphs written the way the PyTorch exporter writes
// them: the fused graph has the expected operators (compile()'s report) and matches onnxruntime-node on both
// targets; near-miss patterns (a second reader, a wrong axis or constant) stay unfused and still match.

import { describe, expect, it } from 'vitest';
import { encodeModel, type NodeSpec } from '../../src/onnx/encode.js';
import { compile } from '../../src/index.js';
import { load } from '../../runtime-min/index.js';
import type { Tensor } from '../../src/ir/graph.js';
import { expectClose, randomTensor, rng, runOrt, validateWithWabt, type Feeds, type Outputs } from '../helpers/oracle.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const i64 = (values: number[]): Tensor => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
const scalar = (v: number) => f32([], [v]);

/** Compiles once per target, checks the emitted operators, runs, and compares with onnxruntime-node. */
async function check(model: Uint8Array, feeds: Feeds, expectOps: (ops: Record<string, number>) => void): Promise<void> {
  const expected = await runOrt(model, feeds);
  for (const target of ['simd', 'scalar'] as const) {
    const { wasm, report } = await compile(model, { target });
    expectOps(report.ops);
    await validateWithWabt(wasm, target);
    const m = await load(wasm);
    const got = m.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.data]))) as Outputs;
    expectClose(got, expected, 1e-4, 1e-5);
  }
}

/** The exporter's LayerNorm: ReduceMean, Sub, Pow 2, ReduceMean, Add eps, Sqrt, Div [, Mul gamma, Add beta]. */
function layerNorm(p: string, x: string, opts: { axes?: string; affine?: boolean; exponent?: string; epsFirst?: boolean; out: string }): NodeSpec[] {
  const rm = (input: string, output: string): NodeSpec => (opts.axes
    ? { op: 'ReduceMean', inputs: [input, opts.axes], outputs: [output] }
    : { op: 'ReduceMean', inputs: [input], outputs: [output], attrs: { axes: [-1] } });
  const nodes: NodeSpec[] = [
    { ...rm(x, `${p}m`), name: `${p}/ReduceMean` },
    { op: 'Sub', inputs: [x, `${p}m`], outputs: [`${p}d`] },
    { op: 'Pow', inputs: [`${p}d`, opts.exponent ?? 'two'], outputs: [`${p}p`] },
    rm(`${p}p`, `${p}v`),
    { op: 'Add', inputs: opts.epsFirst ? ['eps', `${p}v`] : [`${p}v`, 'eps'], outputs: [`${p}ve`] },
    { op: 'Sqrt', inputs: [`${p}ve`], outputs: [`${p}s`] },
    { op: 'Div', inputs: [`${p}d`, `${p}s`], outputs: [opts.affine ? `${p}n` : opts.out] },
  ];
  if (opts.affine) nodes.push({ op: 'Mul', inputs: [`${p}n`, 'gamma'], outputs: [`${p}g`] }, { op: 'Add', inputs: ['beta', `${p}g`], outputs: [opts.out] });
  return nodes;
}

/** 0.5 x (1 + erf(x / sqrt 2)) in one of the exporter's orders. */
function gelu(p: string, x: string, order: 'xa_half' | 'xhalf_a' | 'x_ahalf', out: string, opts: { mulScale?: boolean; half?: string } = {}): NodeSpec[] {
  const half = opts.half ?? 'half';
  const nodes: NodeSpec[] = [
    opts.mulScale ? { op: 'Mul', inputs: ['rsqrt2', x], outputs: [`${p}z`], name: `${p}/Mul` } : { op: 'Div', inputs: [x, 'sqrt2'], outputs: [`${p}z`], name: `${p}/Div` },
    { op: 'Erf', inputs: [`${p}z`], outputs: [`${p}e`] },
    { op: 'Add', inputs: [`${p}e`, 'one'], outputs: [`${p}a`] },
  ];
  if (order === 'xa_half') nodes.push({ op: 'Mul', inputs: [x, `${p}a`], outputs: [`${p}t`] }, { op: 'Mul', inputs: [`${p}t`, half], outputs: [out] });
  if (order === 'xhalf_a') nodes.push({ op: 'Mul', inputs: [x, half], outputs: [`${p}h`] }, { op: 'Mul', inputs: [`${p}a`, `${p}h`], outputs: [out] });
  if (order === 'x_ahalf') nodes.push({ op: 'Mul', inputs: [half, `${p}a`], outputs: [`${p}h`] }, { op: 'Mul', inputs: [x, `${p}h`], outputs: [out] });
  return nodes;
}

/** The patterns' constants, those the nodes read (onnxruntime warns about unused initializers). */
function constants(nodes: NodeSpec[], r: () => number, n: number, extra: Record<string, Tensor> = {}): Record<string, Tensor> {
  const all: Record<string, Tensor> = {
    two: scalar(2), three: scalar(3), eps: scalar(1e-5), gamma: randomTensor('float32', [n], r, 0.5, 1.5), beta: randomTensor('float32', [n], r),
    sqrt2: scalar(1.4142135381698608), rsqrt2: scalar(0.7071067690849304), one: scalar(1), half: scalar(0.5), notHalf: scalar(0.6), ...extra,
  };
  const read = new Set(nodes.flatMap((node) => node.inputs));
  return Object.fromEntries(Object.entries(all).filter(([name]) => read.has(name)));
}

describe('transformer fusion passes', () => {
  it('LayerNorm (with and without affine) and GELU in three product orders fuse, and match', async () => {
    const r = rng(1);
    const shape = [2, 5, 8];
    const nodes = [
      ...layerNorm('a', 'x', { affine: true, epsFirst: true, out: 'ln1' }),
      ...layerNorm('b', 'x', { out: 'ln2' }),
      ...gelu('c', 'x', 'xa_half', 'g1'),
      ...gelu('d', 'x', 'xhalf_a', 'g2', { mulScale: true }),
      ...gelu('e', 'x', 'x_ahalf', 'g3'),
    ];
    const model = encodeModel({
      opset: 14,
      inputs: [{ name: 'x', dtype: 'float32', shape }],
      outputs: ['ln1', 'ln2', 'g1', 'g2', 'g3'].map((name) => ({ name })),
      nodes, initializers: constants(nodes, r, 8),
    });
    await check(model, { x: randomTensor('float32', shape, r, -4, 4) }, (ops) => {
      expect(ops).toEqual({ LayerNormalization: 2, Gelu: 3 });
    });
  });

  it('fused GELU keeps the formula at special values (inf, -inf -> NaN, NaN, tails)', async () => {
    const x = Float32Array.from([Infinity, -Infinity, NaN, 0, -0, 1e-30, -1e-30, 30, -30, -9.4, -13.3, -13.5, 13.5, 5.9, -5.9, -3, 3]);
    const nodes = gelu('a', 'x', 'xa_half', 'y');
    const model = encodeModel({
      opset: 14, inputs: [{ name: 'x', dtype: 'float32', shape: [x.length] }], outputs: [{ name: 'y' }],
      nodes, initializers: constants(nodes, rng(5), 1),
    });
    await check(model, { x: { dtype: 'float32', shape: [x.length], data: x } }, (ops) => expect(ops).toEqual({ Gelu: 1 }));
  });

  it('LayerNorm over the two trailing axes with axes as an input (opset 18) fuses', async () => {
    const r = rng(2);
    const shape = [3, 4, 6];
    const nodes = layerNorm('a', 'x', { axes: 'axes', affine: true, out: 'y' });
    const model = encodeModel({
      opset: 18,
      inputs: [{ name: 'x', dtype: 'float32', shape }],
      outputs: [{ name: 'y' }],
      nodes, initializers: constants(nodes, r, 6, { gamma: randomTensor('float32', [4, 6], r), axes: i64([-2, -1]) }),
    });
    await check(model, { x: randomTensor('float32', shape, r, -3, 3) }, (ops) => expect(ops).toEqual({ LayerNormalization: 1 }));
  });

  it('near misses stay unfused: a second reader, a wrong axis, exponent 3, an extra Erf reader, 0.6 for 0.5', async () => {
    const r = rng(3);
    const shape = [2, 5, 8];
    const wrongAxis = layerNorm('b', 'x', { out: 'n2' }).map((n) => (n.op === 'ReduceMean' ? { ...n, attrs: { axes: [1] } } : n));
    const nodes = [
      ...layerNorm('a', 'x', { affine: true, out: 'n1' }), // 'ad' (x - mean) is also a graph output
      ...wrongAxis,
      ...layerNorm('c', 'x', { exponent: 'three', out: 'n3' }),
      ...gelu('c', 'x', 'xa_half', 'g1'), // 'ce' (the Erf result) is also a graph output
      ...gelu('d', 'x', 'xa_half', 'g2', { half: 'notHalf' }),
    ];
    const model = encodeModel({
      opset: 14,
      inputs: [{ name: 'x', dtype: 'float32', shape }],
      outputs: ['n1', 'ad', 'n2', 'n3', 'g1', 'ce', 'g2'].map((name) => ({ name })),
      nodes, initializers: constants(nodes, r, 8),
    });
    await check(model, { x: randomTensor('float32', shape, r, -3, 3) }, (ops) => {
      expect(ops.LayerNormalization).toBeUndefined();
      expect(ops.Gelu).toBeUndefined();
      expect(ops.ReduceMean).toBe(6);
      expect(ops.Erf).toBe(2);
    });
  });

  it('attention: the Q scale folds into the QKV weights, unit-dim Transposes become views, MatMul takes the residual', async () => {
    const r = rng(4);
    const [S, D, H] = [6, 8, 2];
    const dh = D / H;
    const qkv = (p: string, x: string): NodeSpec[] => [
      { op: 'MatMul', inputs: [x, `${p}w`], outputs: [`${p}mm`] },
      { op: 'Add', inputs: [`${p}b`, `${p}mm`], outputs: [`${p}qkv`] },
    ];
    const slice = (from: string, i: number, out: string): NodeSpec => ({ op: 'Slice', inputs: [from, `s${i}`, `e${i}`, 'lastAxis'], outputs: [out] });
    const model = encodeModel({
      opset: 14,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, S, D] }],
      outputs: [{ name: 'y' }, { name: 'o1' }, { name: 'o2' }],
      nodes: [
        { op: 'Transpose', inputs: ['x'], outputs: ['xt'], attrs: { perm: [1, 0, 2] } }, // [S, 1, D]: a view
        ...qkv('p', 'xt'),
        slice('pqkv', 0, 'q'), slice('pqkv', 1, 'k'), slice('pqkv', 2, 'v'),
        { op: 'Reshape', inputs: ['q', 'heads'], outputs: ['q3'] },
        { op: 'Transpose', inputs: ['q3'], outputs: ['qt'], attrs: { perm: [1, 0, 2] } },
        { op: 'Div', inputs: ['qt', 'scale'], outputs: ['qs'] },
        { op: 'Reshape', inputs: ['k', 'heads'], outputs: ['k3'] },
        { op: 'Transpose', inputs: ['k3'], outputs: ['kt'], attrs: { perm: [1, 2, 0] } },
        { op: 'MatMul', inputs: ['qs', 'kt'], outputs: ['scores'] },
        { op: 'Softmax', inputs: ['scores'], outputs: ['probs'], attrs: { axis: -1 } },
        { op: 'Reshape', inputs: ['v', 'heads'], outputs: ['v3'] },
        { op: 'Transpose', inputs: ['v3'], outputs: ['vt'], attrs: { perm: [1, 0, 2] } },
        { op: 'MatMul', inputs: ['probs', 'vt'], outputs: ['ctx'] },
        { op: 'Transpose', inputs: ['ctx'], outputs: ['ctxt'], attrs: { perm: [1, 0, 2] } },
        { op: 'Reshape', inputs: ['ctxt', 'flat'], outputs: ['ctx2'] },
        { op: 'MatMul', inputs: ['ctx2', 'ow'], outputs: ['om'] },
        { op: 'Add', inputs: ['om', 'ob'], outputs: ['oa'] },
        { op: 'Add', inputs: ['oa', 'x2d'], outputs: ['y'] }, // residual
        // near miss: the second slice overlaps the scaled columns, so the Div stays
        ...qkv('n', 'xt'),
        slice('nqkv', 0, 'nq'), slice('nqkv', 3, 'o2'),
        { op: 'Div', inputs: ['nq', 'scale'], outputs: ['o1'] },
      ],
      initializers: {
        pw: randomTensor('float32', [D, 3 * D], r), pb: randomTensor('float32', [3 * D], r),
        nw: randomTensor('float32', [D, 3 * D], r), nb: randomTensor('float32', [3 * D], r),
        ow: randomTensor('float32', [D, D], r), ob: randomTensor('float32', [D], r), x2d: randomTensor('float32', [S, D], r),
        s0: i64([0]), e0: i64([D]), s1: i64([D]), e1: i64([2 * D]), s2: i64([2 * D]), e2: i64([3 * D]), s3: i64([4]), e3: i64([12]),
        lastAxis: i64([-1]), heads: i64([S, H, dh]), flat: i64([S, D]), scale: scalar(Math.sqrt(dh) + 0.25),
      },
    });
    await check(model, { x: randomTensor('float32', [1, S, D], r) }, (ops) => {
      expect(ops.Div).toBe(1); // only the near miss
      expect(ops.Transpose).toBe(4); // q, k, v and the context: the unit-dim one is a view
      expect(ops.Add).toBeUndefined(); // biases and the residual are in the MatMul epilogues
      expect(ops.MatMul).toBe(5);
    });
  });

  it('decoder step: a scale after the scores q x K^T folds into the q projection; the cache\'s Transpose fuses into the MatMul', async () => {
    const r = rng(8);
    const [D, H, T] = [16, 2, 5];
    const dh = D / H;
    const model = encodeModel({
      opset: 14,
      inputs: [{ name: 'x', dtype: 'float32', shape: [1, 1, D] }, { name: 'past', dtype: 'float32', shape: [1, H, T, dh] }],
      outputs: [{ name: 'y' }, { name: 'o1' }],
      nodes: [
        { op: 'MatMul', inputs: ['x', 'wq'], outputs: ['qm'] },
        { op: 'Add', inputs: ['qm', 'bq'], outputs: ['q'] },
        { op: 'Reshape', inputs: ['q', 'heads'], outputs: ['q4'] }, // [1, H, 1, dh]
        { op: 'Transpose', inputs: ['past'], outputs: ['kt'], attrs: { perm: [0, 1, 3, 2] } },
        { op: 'MatMul', inputs: ['q4', 'kt'], outputs: ['scores'] },
        { op: 'Mul', inputs: ['scores', 'scale'], outputs: ['ss'] },
        { op: 'Softmax', inputs: ['ss'], outputs: ['y'], attrs: { axis: -1 } },
        // near miss: the scores have a second reader, so the Div stays
        { op: 'MatMul', inputs: ['x', 'wn'], outputs: ['nm'] },
        { op: 'Reshape', inputs: ['nm', 'heads'], outputs: ['n4'] },
        { op: 'Transpose', inputs: ['past'], outputs: ['kt2'], attrs: { perm: [0, 1, 3, 2] } },
        { op: 'MatMul', inputs: ['n4', 'kt2'], outputs: ['nscores'] },
        { op: 'Div', inputs: ['nscores', 'scale'], outputs: ['nd'] },
        { op: 'Add', inputs: ['nd', 'nscores'], outputs: ['o1'] },
      ],
      initializers: {
        wq: randomTensor('float32', [D, D], r), bq: randomTensor('float32', [D], r), wn: randomTensor('float32', [D, D], r),
        heads: i64([1, H, 1, dh]), scale: scalar(1 / Math.sqrt(dh) + 0.01),
      },
    });
    await check(model, { x: randomTensor('float32', [1, 1, D], r), past: randomTensor('float32', [1, H, T, dh], r) }, (ops) => {
      expect(ops.Mul).toBeUndefined();
      expect(ops.Div).toBe(1); // the near miss
      expect(ops.Transpose).toBeUndefined(); // both read transposed by their MatMuls
    });
  });
});
