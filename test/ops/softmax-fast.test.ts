// Softmax / LogSoftmax / Hardmax against onnxruntime-node on both targets, sized for the float32 SIMD kernels
// (ops/softmax.ts): contiguous rows (8-lane max, remainders of 1-7), the axis not last (4 rows in lanes, inner
// sizes that are and are not multiples of 4), both opset semantics (< 13 flattens from the axis, >= 13 one
// axis), scores far below the max and -inf (masked attention), and NaN.
import { describe, it } from 'vitest';
import { rng } from '../helpers/oracle.js';
import { checkBatch, randomOf, randomShape, type OpCase } from './reduce-cases.js';

function cases(seed: number, opset: number): OpCase[] {
  const r = rng(seed);
  const out: OpCase[] = [];
  for (let i = 0; i < 18; i++) {
    const rank = 1 + (i % 4);
    const shape = randomShape(rank, r, 6);
    const axis = Math.floor(r() * rank) - (r() < 0.3 ? rank : 0);
    // one dim long: the row when it is the axis, the inner size when it follows the axis
    const long = Math.floor(r() * rank);
    shape[long] = [9, 16, 23, 40, 131][i % 5];
    const op = ['Softmax', 'LogSoftmax', 'Hardmax'][i % 3];
    out.push({ op, inputs: [randomOf('float32', shape, r, -30, 30)], attrs: { axis } });
  }
  return out;
}

describe('Softmax kernels vs onnxruntime', () => {
  it('opset 13: any axis, rows 1-131 long, inner sizes 1-131', async () => {
    await checkBatch(13, cases(1, 13));
  });

  it('opset 11: the input coerced to 2-D at the axis', async () => {
    await checkBatch(11, cases(2, 11));
  });

  it('attention-shaped scores with -inf masks and very negative scores, last and non-last axis', async () => {
    const r = rng(3);
    const masked = (shape: number[]) => {
      const t = randomOf('float32', shape, r, -8, 8);
      const d = t.data as Float32Array;
      for (let i = 0; i < d.length; i++) if (r() < 0.2) d[i] = r() < 0.5 ? -Infinity : -200 + r() * 50;
      return t;
    };
    await checkBatch(13, [
      { op: 'Softmax', inputs: [masked([1, 2, 17, 64])], attrs: { axis: -1 } },
      { op: 'Softmax', inputs: [masked([2, 33, 8])], attrs: { axis: 1 } },
      { op: 'LogSoftmax', inputs: [masked([3, 50])], attrs: { axis: -1 } },
      { op: 'LogSoftmax', inputs: [masked([2, 12, 12])], attrs: { axis: 1 } },
    ]);
  });

  it('a NaN makes its row NaN', async () => {
    const r = rng(4);
    const withNaN = (shape: number[]) => {
      const t = randomOf('float32', shape, r, -3, 3);
      (t.data as Float32Array)[5] = NaN;
      return t;
    };
    await checkBatch(13, [
      { op: 'Softmax', inputs: [withNaN([3, 20])], attrs: { axis: -1 } },
      { op: 'Softmax', inputs: [withNaN([2, 9, 4])], attrs: { axis: 1 } },
      { op: 'LogSoftmax', inputs: [withNaN([3, 20])], attrs: { axis: -1 } },
    ]);
  });
});
