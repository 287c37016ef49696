// Softmax / LogSoftmax / Hardmax against onnxruntime-node on both targets, sized for the float32 SIMD kernels
// (ops/softmax.ts): contiguous rows (8-lane max, remainders of 1-7), the axis not last (4 rows in lanes, inner
// sizes that are and are not multiples of 4), both opset semantics (< 13 flattens from the axis, >= 13 one
// axis), scores far below the max and -inf (masked attention), and NaN.
import { describe, expect, it } from 'vitest';
import { rng, runOurs } from '../helpers/oracle.js';
import { buildBatch, checkBatch, randomOf, randomShape, type OpCase } from './reduce-cases.js';

/** Softmax and LogSoftmax of one row in float64. */
function reference(x: Float32Array): { soft: number[]; log: number[] } {
  const m = Math.max(...x);
  const sum = x.reduce((s, v) => s + Math.exp(v - m), 0);
  return { soft: Array.from(x, (v) => Math.exp(v - m) / sum), log: Array.from(x, (v) => v - m - Math.log(sum)) };
}

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

  it('contiguous rows of every length 8-48 and long ones, against float64: Softmax within 2e-6 + 1.5e-7 |x - max| relatively, LogSoftmax within 5e-7 max(1, |y|, |max|)', async () => {
    // every remainder of the 16-lane max, the 8-lane exp and the scaling; scores over a wide range, some -inf
    const r = rng(5);
    const lengths = [...Array.from({ length: 41 }, (_, i) => 8 + i), 255, 1000, 1031];
    const cases: OpCase[] = lengths.flatMap((n, i) => {
      const t = randomOf('float32', [2, n], r, -40, 40);
      const d = t.data as Float32Array;
      for (let j = 0; j < d.length; j++) if (r() < 0.05) d[j] = -Infinity;
      return [{ op: i % 2 ? 'LogSoftmax' : 'Softmax', inputs: [t], attrs: { axis: -1 } }, { op: i % 2 ? 'Softmax' : 'LogSoftmax', inputs: [t], attrs: { axis: -1 } }];
    });
    const { model, feeds } = buildBatch(13, cases);
    for (const target of ['simd', 'scalar'] as const) {
      const out = await runOurs(model, feeds, { target });
      let worstSoft = 0, worstLog = 0;
      cases.forEach((c, i) => {
        const x = c.inputs[0]!.data as Float32Array, n = c.inputs[0]!.shape[1];
        const y = out[`y${i}_0`].data as Float32Array;
        for (let row = 0; row < 2; row++) {
          const xs = x.subarray(row * n, (row + 1) * n), ref = reference(xs), m = Math.max(...xs);
          for (let j = 0; j < n; j++) {
            const got = y[row * n + j];
            if (c.op === 'Softmax') {
              if (xs[j] === -Infinity) expect(got).toBe(0);
              else if (ref.soft[j] > 1e-37) worstSoft = Math.max(worstSoft, Math.abs(got / ref.soft[j] - 1) / (2e-6 + 1.5e-7 * (m - xs[j])));
            } else {
              if (xs[j] === -Infinity) expect(got).toBe(-Infinity);
              else worstLog = Math.max(worstLog, Math.abs(got - ref.log[j]) / (5e-7 * Math.max(1, Math.abs(ref.log[j]), Math.abs(m))));
            }
          }
        }
      });
      expect(worstSoft, `${target}: Softmax error over its bound`).toBeLessThanOrEqual(1);
      expect(worstLog, `${target}: LogSoftmax error over its bound`).toBeLessThanOrEqual(1);
    }
  });
});
