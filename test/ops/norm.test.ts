import { describe, it } from 'vitest';
import type { DType } from '../../src/ir/dtype.js';
import { rng } from '../helpers/oracle.js';
import { checkBatch, randomOf, randomShape, type OpCase } from './reduce-cases.js';

describe('normalizations vs onnxruntime', () => {
  it('LayerNormalization: axes, epsilon, bias or not, broadcast scale, Mean/InvStdDev outputs', async () => {
    const r = rng(31);
    const cases: OpCase[] = [];
    for (let i = 0; i < 10; i++) {
      const rank = 1 + Math.floor(r() * 4);
      const shape = randomShape(rank, r, 6);
      if (i < 2) shape[rank - 1] = 37; // a long row: SIMD body plus tail
      const axis = Math.floor(r() * rank);
      const normShape = shape.slice(axis);
      // scale: the normalized shape, or a broadcast form of it (leading 1s, a size-1 dim)
      const scaleShape = i % 3 === 2 ? normShape.map((d, j) => (j === 0 ? 1 : d)) : normShape;
      const withBias = i % 2 === 0;
      // a broadcast scale is a constant (expanded at compile time); the others are computed inputs
      const scale = randomOf('float32', scaleShape, r);
      cases.push({
        op: 'LayerNormalization',
        inputs: [randomOf('float32', shape, r, -3, 3), i % 3 === 2 ? '' : scale, ...(withBias ? [randomOf('float32', normShape, r)] : [])],
        consts: i % 3 === 2 ? { 1: scale } : undefined,
        attrs: { axis: axis - (r() < 0.5 ? rank : 0), epsilon: r() < 0.5 ? 1e-5 : 0.01 },
        outputs: i % 4 === 0 ? 3 : 1,
      });
    }
    await checkBatch(17, cases);
    const half = { op: 'LayerNormalization', inputs: [randomOf('float16', [3, 20], r, -2, 2), randomOf('float16', [20], r), randomOf('float16', [20], r)] };
    await checkBatch(17, [half], 4e-3, 4e-3);
  });

  it('InstanceNormalization and GroupNormalization (18: per group, 21: per channel)', async () => {
    const r = rng(32);
    const cases: OpCase[] = [];
    for (const shape of [[2, 3, 5, 4], [1, 4, 9], [2, 2, 3, 2, 2], [1, 6, 17, 3]]) {
      const C = shape[1];
      cases.push({ op: 'InstanceNormalization', inputs: [randomOf('float32', shape, r, -2, 2), randomOf('float32', [C], r), randomOf('float32', [C], r)], attrs: { epsilon: 1e-3 } });
    }
    await checkBatch(6, cases);
    const groups: OpCase[] = [];
    for (const [shape, G] of [[[2, 6, 5, 4], 3], [[1, 4, 9], 2], [[1, 8, 7, 3], 8], [[2, 4, 3], 1]] as [number[], number][]) {
      groups.push({ op: 'GroupNormalization', inputs: [randomOf('float32', shape, r, -2, 2), randomOf('float32', [shape[1]], r), randomOf('float32', [shape[1]], r)], attrs: { num_groups: G, epsilon: 1e-4 } });
    }
    await checkBatch(21, groups);
  });

  it('RMSNormalization, LpNormalization, MeanVarianceNormalization, LRN, BatchNormalization', async () => {
    const r = rng(33);
    const lp: OpCase[] = [];
    for (const p of [1, 2]) {
      for (const axis of [0, 1, -1]) lp.push({ op: 'LpNormalization', inputs: [randomOf('float32', [3, 4, 5], r)], attrs: { p, axis } });
    }
    lp.push({ op: 'MeanVarianceNormalization', inputs: [randomOf('float32', [2, 3, 4, 5], r)] });
    lp.push({ op: 'MeanVarianceNormalization', inputs: [randomOf('float32', [2, 3, 4, 5], r)], attrs: { axes: [1, 3] } });
    for (const [size, beta] of [[3, 0.75], [5, 0.6], [1, 1.0]] as const) {
      lp.push({ op: 'LRN', inputs: [randomOf('float32', [2, 7, 3, 4], r, -3, 3)], attrs: { size, beta: { float: beta } as never, alpha: 0.01, bias: 1.5 } });
    }
    // spatial sizes with SIMD remainders: 63 = 60 + 3, 33 = 32 + 1
    for (const shape of [[2, 3, 4, 5], [3, 4], [2, 5, 17], [2, 2, 2, 3, 2], [1, 3, 7, 9], [2, 4, 33]]) {
      const C = shape[1];
      lp.push({ op: 'BatchNormalization', inputs: [randomOf('float32', shape, r, -2, 2), randomOf('float32', [C], r), randomOf('float32', [C], r), randomOf('float32', [C], r), randomOf('float32', [C], r, 0.5, 2)], attrs: { epsilon: 1e-3 } });
    }
    await checkBatch(15, lp);
    const rms: OpCase[] = [];
    for (const [shape, axis] of [[[2, 3, 37], -1], [[4, 6], 0], [[2, 3, 4], 1]] as [number[], number][]) {
      rms.push({ op: 'RMSNormalization', inputs: [randomOf('float32', shape, r, -2, 2), randomOf('float32', shape.slice(axis < 0 ? shape.length + axis : axis), r)], attrs: { axis, epsilon: 1e-4 } });
    }
    await checkBatch(23, rms);
    const g18 = { op: 'GroupNormalization', inputs: [randomOf('float32', [2, 6, 5], r, -2, 2), randomOf('float32', [3], r), randomOf('float32', [3], r)], attrs: { num_groups: 3 } };
    await checkBatch(18, [g18]);
    const dts: DType[] = ['float64'];
    await checkBatch(15, dts.map((dt) => ({ op: 'BatchNormalization', inputs: [randomOf(dt, [2, 3, 4], r), ...[0, 1, 2, 3].map(() => randomOf(dt, [3], r, 0.5, 1.5))] })));
  });
});

describe('older opsets vs onnxruntime', () => {
  it('BatchNormalization-7 spatial=0, Softmax-1 coercion, ReduceMean-1 attribute axes', async () => {
    const r = rng(34);
    const bn: OpCase = {
      op: 'BatchNormalization',
      inputs: [randomOf('float32', [2, 3, 4], r), ...[0, 1, 2].map(() => randomOf('float32', [3, 4], r)), randomOf('float32', [3, 4], r, 0.5, 2)],
      attrs: { spatial: 0, epsilon: 1e-3 },
    };
    await checkBatch(7, [bn]);
    await checkBatch(1, [
      { op: 'Softmax', inputs: [randomOf('float32', [2, 3, 4], r, -3, 3)] },
      { op: 'LogSoftmax', inputs: [randomOf('float32', [2, 3, 4], r, -3, 3)], attrs: { axis: 2 } },
      { op: 'ReduceMean', inputs: [randomOf('float32', [2, 3, 4], r)], attrs: { axes: [1], keepdims: 0 } },
      { op: 'MaxPool', inputs: [randomOf('float32', [1, 2, 7, 7], r)], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
    ]);
  });
});
