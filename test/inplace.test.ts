// Memory planning. In-place execution: ops marked inPlace may write their output over input 0 when that input dies at the
// node. Single-op test graphs never trigger it (graph inputs are never reused), so each op here sits between
// two kernels: Neg -> op -> Neg, making its input a dying arena buffer.

import { describe, it, expect } from 'vitest';
import { compile } from '../src/index.js';
import { encodeModel, float, type NodeSpec } from '../src/onnx/encode.js';
import type { Tensor } from '../src/ir/graph.js';
import { expectClose, randomTensor, rng, runOrt, runOurs } from './helpers/oracle.js';

interface Case { name: string; node: Omit<NodeSpec, 'inputs' | 'outputs'>; extra?: Record<string, Tensor>; cast?: boolean }

const r = rng(11);
const SHAPE = [2, 3, 5, 7];
const CASES: Case[] = [
  { name: 'Add broadcast', node: { op: 'Add' }, extra: { b: randomTensor('float32', [5, 7], r) } },
  { name: 'Mul broadcast', node: { op: 'Mul' }, extra: { b: randomTensor('float32', [3, 1, 1], r) } },
  { name: 'Relu', node: { op: 'Relu' } },
  { name: 'Sigmoid', node: { op: 'Sigmoid' } },
  { name: 'Sum of 3', node: { op: 'Sum' }, extra: { b: randomTensor('float32', [7], r), c: randomTensor('float32', SHAPE, r) } },
  { name: 'Softmax last axis', node: { op: 'Softmax', attrs: { axis: -1 } } },
  { name: 'Softmax axis 1', node: { op: 'Softmax', attrs: { axis: 1 } } },
  { name: 'LogSoftmax axis 2', node: { op: 'LogSoftmax', attrs: { axis: 2 } } },
  { name: 'CumSum', node: { op: 'CumSum' }, extra: { axis: { dtype: 'int64', shape: [], data: BigInt64Array.of(3n) } } },
  { name: 'CumSum exclusive', node: { op: 'CumSum', attrs: { exclusive: 1 } }, extra: { axis: { dtype: 'int64', shape: [], data: BigInt64Array.of(1n) } } },
  { name: 'CumSum exclusive reverse', node: { op: 'CumSum', attrs: { exclusive: 1, reverse: 1 } }, extra: { axis: { dtype: 'int64', shape: [], data: BigInt64Array.of(3n) } } },
  { name: 'CumSum reverse', node: { op: 'CumSum', attrs: { reverse: 1 } }, extra: { axis: { dtype: 'int64', shape: [], data: BigInt64Array.of(2n) } } },
  { name: 'LpNormalization', node: { op: 'LpNormalization', attrs: { axis: 1, p: 2 } } },
  {
    name: 'BatchNormalization', node: { op: 'BatchNormalization', attrs: { epsilon: float(1e-5) } },
    extra: {
      scale: randomTensor('float32', [3], r), bias: randomTensor('float32', [3], r),
      mean: randomTensor('float32', [3], r), var: randomTensor('float32', [3], r, 0.5, 2),
    },
  },
];

describe('in-place execution', () => {
  for (const target of ['simd', 'scalar'] as const) {
    it(`matches onnxruntime with outputs written over dying inputs (${target})`, async () => {
      const nodes: NodeSpec[] = [];
      const outputs = CASES.map((c, i) => {
        const extra = Object.keys(c.extra ?? {}).map((k) => `${k}${i}`);
        nodes.push({ op: 'Neg', inputs: ['x'], outputs: [`a${i}`] });
        nodes.push({ ...c.node, name: `case${i}`, inputs: [`a${i}`, ...extra], outputs: [`mid${i}`] });
        nodes.push({ op: 'Neg', inputs: [`mid${i}`], outputs: [`y${i}`] });
        return { name: `y${i}` };
      });
      const initializers = Object.fromEntries(CASES.flatMap((c, i) => Object.entries(c.extra ?? {}).map(([k, t]) => [`${k}${i}`, t])));
      const model = encodeModel({ opset: 14, inputs: [{ name: 'x', dtype: 'float32', shape: SHAPE }], outputs, nodes, initializers });
      const feeds = { x: randomTensor('float32', SHAPE, rng(5), -2, 2) };
      const ours = await runOurs(model, feeds, { target });
      const ref = await runOrt(model, feeds);
      CASES.forEach((c, i) => expectClose({ [`y${i}`]: ours[`y${i}`] }, { [`y${i}`]: ref[`y${i}`] }));
    });
  }

  it('writes an in-place op\'s output over its input: a Neg -> op -> Neg chain needs one arena buffer', async () => {
    for (const c of CASES) {
      const extra = Object.keys(c.extra ?? {});
      const model = encodeModel({
        opset: 14, inputs: [{ name: 'x', dtype: 'float32', shape: SHAPE }], outputs: [{ name: 'y' }],
        nodes: [
          { op: 'Neg', inputs: ['x'], outputs: ['a'] },
          { ...c.node, inputs: ['a', ...extra], outputs: ['mid'] },
          { op: 'Neg', inputs: ['mid'], outputs: ['y'] },
        ],
        initializers: c.extra,
      });
      const { manifest } = await compile(model);
      expect(manifest.memory.arena, c.name).toBe(Math.ceil(SHAPE.reduce((a, b) => a * b, 4) / 16) * 16);
    }
  });

  it('never writes over a broadcast input, even when its aligned buffer has the output\'s size', async () => {
    // s (1 float) and the output (3 floats) both take one 16-byte buffer.
    const model = encodeModel({
      opset: 14,
      inputs: [{ name: 's', dtype: 'float32', shape: [] }, { name: 'x', dtype: 'float32', shape: [3] }],
      outputs: [{ name: 'y' }],
      nodes: [
        { op: 'Neg', inputs: ['s'], outputs: ['a'] },
        { op: 'Mul', inputs: ['a', 'x'], outputs: ['b'] },
        { op: 'Neg', inputs: ['b'], outputs: ['y'] },
      ],
    });
    const feeds = { s: randomTensor('float32', [], rng(1)), x: randomTensor('float32', [3], rng(2)) };
    for (const target of ['simd', 'scalar'] as const) expectClose(await runOurs(model, feeds, { target }), await runOrt(model, feeds));
  });
});

describe('kernel scratch memory in the arena', () => {
  // Neg -> Conv -> Neg -> Conv -> Neg: each Conv's im2col scratch lives only at its node, next to its dying input.
  const t = (shape: number[]) => randomTensor('float32', shape, r);
  const model = encodeModel({
    opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 4, 12, 12] }], outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Neg', inputs: ['x'], outputs: ['a'] },
      { op: 'Conv', inputs: ['a', 'w1'], outputs: ['b'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Neg', inputs: ['b'], outputs: ['c'] },
      { op: 'Conv', inputs: ['c', 'w2'], outputs: ['d'], attrs: { strides: [2, 2] } },
      { op: 'Neg', inputs: ['d'], outputs: ['y'] },
    ],
    initializers: { w1: t([6, 4, 3, 3]), w2: t([5, 6, 3, 3]) },
  });

  for (const target of ['simd', 'scalar'] as const) {
    it(`is planned like a tensor live at its node, and results match onnxruntime (${target})`, async () => {
      const { manifest } = await compile(model, { target });
      const m = manifest.memory;
      expect(m.scratch).toBeGreaterThan(0);
      expect(m.arena).toBeGreaterThanOrEqual(m.scratch);
      expect(m.arena).toBe(m.arenaLowerBound);
      const feeds = { x: t([1, 4, 12, 12]) };
      expectClose(await runOurs(model, feeds, { target }), await runOrt(model, feeds));
    });
  }
});
