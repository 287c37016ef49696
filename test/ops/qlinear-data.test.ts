// int8 data movement: com.microsoft QLinearConcat against onnxruntime-node and the spec arithmetic, and the
// default-domain data-movement ops (MaxPool, Resize nearest, Pad, Transpose, Slice, Reshape, Flatten, Concat,
// Gather, Squeeze, Unsqueeze) on int8 and uint8 tensors, exact against onnxruntime-node on both targets.

import { describe, it } from 'vitest';
import type { Tensor } from '../../src/ir/graph.js';
import type { ModelSpec } from '../../src/onnx/encode.js';
import { checkBothTargets } from '../helpers/both-targets.js';
import { rng } from '../helpers/oracle.js';
import { checkInt8, deq, int8Tensor, quant, scalarF32, scalarQ, type Q } from '../helpers/quant-ref.js';

const TYPES = ['int8', 'uint8'] as const;
const i64 = (values: number[]): Tensor => ({ dtype: 'int64', shape: [values.length], data: BigInt64Array.from(values.map(BigInt)) });
const f32 = (values: number[]): Tensor => ({ dtype: 'float32', shape: [values.length], data: Float32Array.from(values) });

describe('com.microsoft QLinearConcat', () => {
  for (const dt of TYPES) {
    for (const axis of [1, -1, 0]) {
      it(`${dt}, axis ${axis}: inputs quantized like the output (copied) and unlike it (requantized)`, async () => {
        const r = rng(axis + 5 + (dt === 'int8' ? 0 : 50));
        const base = [2, 3, 5];
        const ax = axis < 0 ? axis + 3 : axis;
        const sizes = [3, 1, 4, 20];
        const shapes = sizes.map((s) => base.map((d, i) => (i === ax ? s : d)));
        const qy: Q = { scale: 0.05, zp: dt === 'int8' ? -2 : 128, dtype: dt };
        const qs: Q[] = [
          qy,
          { scale: 0.1, zp: dt === 'int8' ? 7 : 100, dtype: dt },
          { scale: 0.02, zp: dt === 'int8' ? -100 : 3, dtype: dt }, // saturates
          { ...qy },
        ];
        const xs = shapes.map((s) => int8Tensor(dt, s, r));
        const inits: Record<string, Tensor> = { y_s: scalarF32(qy.scale), y_z: scalarQ(dt, qy.zp) };
        qs.forEach((q, i) => { inits[`s${i}`] = scalarF32(q.scale); inits[`z${i}`] = scalarQ(dt, q.zp); });
        const spec: ModelSpec = {
          inputs: xs.map((x, i) => ({ name: `x${i}`, dtype: dt, shape: x.shape })), outputs: [{ name: 'y' }], initializers: inits,
          nodes: [{ op: 'QLinearConcat', domain: 'com.microsoft', attrs: { axis }, outputs: ['y'], inputs: ['y_s', 'y_z', ...xs.flatMap((_, i) => [`x${i}`, `s${i}`, `z${i}`])] }],
        };
        // reference: each input requantized, then concatenated
        const outShape = base.map((d, i) => (i === ax ? sizes.reduce((a, b) => a + b, 0) : d));
        const outer = base.slice(0, ax).reduce((a, b) => a * b, 1);
        const inner = base.slice(ax + 1).reduce((a, b) => a * b, 1);
        const ref: number[] = [];
        for (let o = 0; o < outer; o++) {
          xs.forEach((x, i) => {
            const len = sizes[i] * inner;
            for (let j = 0; j < len; j++) ref.push(quant(deq(Number(x.data[o * len + j]), qs[i]), qy));
          });
        }
        await checkInt8(spec, Object.fromEntries(xs.map((x, i) => [`x${i}`, x])), { y: { data: (dt === 'int8' ? Int8Array : Uint8Array).from(ref), shape: outShape } }, true);
      });
    }
  }
});

describe('data movement on int8 / uint8 (exact)', () => {
  for (const dt of TYPES) {
    it(`MaxPool ${dt}: 2-D 3x3 stride 1 and 2 with pads (16-column simd body and tails), dilated, stride 3, 1-D, ceil_mode, Indices`, async () => {
      const r = rng(dt === 'int8' ? 1 : 2);
      const x = int8Tensor(dt, [1, 3, 19, 37], r);
      const x1 = int8Tensor(dt, [2, 3, 23], r);
      await checkBothTargets({
        opset: 12,
        inputs: [{ name: 'x', dtype: dt, shape: x.shape }, { name: 'x1', dtype: dt, shape: x1.shape }],
        outputs: ['a', 'b', 'c', 'd', 'di', 'e', 'f'].map((name) => ({ name })),
        nodes: [
          { op: 'MaxPool', inputs: ['x'], outputs: ['a'], attrs: { kernel_shape: [3, 3], pads: [1, 1, 1, 1] } },
          { op: 'MaxPool', inputs: ['x'], outputs: ['b'], attrs: { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] } },
          { op: 'MaxPool', inputs: ['x1'], outputs: ['c'], attrs: { kernel_shape: [4], strides: [3], ceil_mode: 1 } },
          { op: 'MaxPool', inputs: ['x'], outputs: ['d', 'di'], attrs: { kernel_shape: [2, 2], strides: [2, 2] } },
          { op: 'MaxPool', inputs: ['x'], outputs: ['e'], attrs: { kernel_shape: [2, 3], dilations: [2, 2], pads: [0, 2, 1, 1] } },
          { op: 'MaxPool', inputs: ['x'], outputs: ['f'], attrs: { kernel_shape: [3, 3], strides: [3, 3] } },
        ],
      }, { x, x1 }, 0, 0);
    });

    it(`Resize nearest ${dt}: upsample x2 and to odd sizes`, async () => {
      const x = int8Tensor(dt, [1, 3, 5, 7], rng(3));
      await checkBothTargets({
        opset: 19,
        inputs: [{ name: 'x', dtype: dt, shape: x.shape }], outputs: [{ name: 'a' }, { name: 'b' }],
        initializers: { sc: f32([1, 1, 2, 2]), sz: i64([1, 3, 9, 11]) },
        nodes: [
          { op: 'Resize', inputs: ['x', '', 'sc'], outputs: ['a'], attrs: { mode: 'nearest' } },
          { op: 'Resize', inputs: ['x', '', '', 'sz'], outputs: ['b'], attrs: { mode: 'nearest', nearest_mode: 'floor', coordinate_transformation_mode: 'asymmetric' } },
        ],
      }, { x }, 0, 0);
    });

    it(`Pad constant ${dt} with a ${dt} pad value, reflect and edge`, async () => {
      const x = int8Tensor(dt, [1, 2, 5, 6], rng(4));
      await checkBothTargets({
        opset: 18,
        inputs: [{ name: 'x', dtype: dt, shape: x.shape }], outputs: [{ name: 'a' }, { name: 'b' }, { name: 'c' }],
        initializers: { p: i64([0, 0, 1, 2, 0, 1, 3, 0]), v: scalarQ(dt, dt === 'int8' ? -77 : 201) },
        nodes: [
          { op: 'Pad', inputs: ['x', 'p', 'v'], outputs: ['a'] },
          { op: 'Pad', inputs: ['x', 'p'], outputs: ['b'], attrs: { mode: 'reflect' } },
          { op: 'Pad', inputs: ['x', 'p'], outputs: ['c'], attrs: { mode: 'edge' } },
        ],
      }, { x }, 0, 0);
    });

    it(`Transpose ${dt} in 16x16 byte tiles: NCHW <-> NHWC, cache-tiled large planes, strips that fall back`, async () => {
      const r = rng(6);
      const x = int8Tensor(dt, [2, 32, 12, 16], r);
      const big = int8Tensor(dt, [1, 64, 40, 40], r);
      const odd = int8Tensor(dt, [1, 40, 72, 3], r);
      await checkBothTargets({
        opset: 13,
        inputs: [{ name: 'x', dtype: dt, shape: x.shape }, { name: 'big', dtype: dt, shape: big.shape }, { name: 'odd', dtype: dt, shape: odd.shape }],
        outputs: ['a', 'b', 'c', 'd', 'e'].map((name) => ({ name })),
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['a'], attrs: { perm: [0, 2, 3, 1] } },
          { op: 'Transpose', inputs: ['a'], outputs: ['b'], attrs: { perm: [0, 3, 1, 2] } },
          { op: 'Transpose', inputs: ['big'], outputs: ['c'], attrs: { perm: [0, 2, 3, 1] } },
          { op: 'Transpose', inputs: ['x'], outputs: ['d'], attrs: { perm: [1, 0, 3, 2] } },
          { op: 'Transpose', inputs: ['odd'], outputs: ['e'], attrs: { perm: [0, 2, 1, 3] } },
        ],
      }, { x, big, odd }, 0, 0);
    });

    it(`Transpose, Slice, Reshape, Flatten, Concat, Gather, Squeeze, Unsqueeze ${dt}`, async () => {
      const r = rng(5);
      const x = int8Tensor(dt, [2, 3, 17, 19], r);
      const w = int8Tensor(dt, [2, 3, 17, 5], r);
      await checkBothTargets({
        opset: 13,
        inputs: [{ name: 'x', dtype: dt, shape: x.shape }, { name: 'w', dtype: dt, shape: w.shape }],
        outputs: ['t', 't2', 's', 'rs', 'fl', 'cc', 'g', 'sq', 'us'].map((name) => ({ name })),
        initializers: {
          st: i64([1, 2]), en: i64([3, 15]), ax: i64([1, 3]), stp: i64([1, 3]), shp: i64([6, -1]), idx: i64([2, 0, 16, 5]),
          sqa: i64([0]), one: i64([1]), usa: i64([1, 4]),
        },
        nodes: [
          { op: 'Transpose', inputs: ['x'], outputs: ['t'], attrs: { perm: [0, 2, 3, 1] } },
          { op: 'Transpose', inputs: ['x'], outputs: ['t2'], attrs: { perm: [3, 2, 1, 0] } },
          { op: 'Slice', inputs: ['x', 'st', 'en', 'ax', 'stp'], outputs: ['s'] },
          { op: 'Reshape', inputs: ['x', 'shp'], outputs: ['rs'] },
          { op: 'Flatten', inputs: ['x'], outputs: ['fl'], attrs: { axis: 2 } },
          { op: 'Concat', inputs: ['x', 'w'], outputs: ['cc'], attrs: { axis: 3 } },
          { op: 'Gather', inputs: ['x', 'idx'], outputs: ['g'], attrs: { axis: 2 } },
          { op: 'Slice', inputs: ['x', 'sqa', 'one', 'sqa'], outputs: ['x0'] },
          { op: 'Squeeze', inputs: ['x0', 'sqa'], outputs: ['sq'] },
          { op: 'Unsqueeze', inputs: ['w', 'usa'], outputs: ['us'] },
        ],
      }, { x, w }, 0, 0);
    });
  }
});
