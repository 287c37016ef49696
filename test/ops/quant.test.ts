// QuantizeLinear / DequantizeLinear / DynamicQuantizeLinear / MatMulInteger / ConvInteger / QLinearMatMul /
// QLinearConv against onnxruntime-node, both targets.

import { describe, expect, it } from 'vitest';
import { encodeModel } from '../../src/onnx/encode.js';
import { numberToF16Bits, type DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { checkBothTargets, checkQuantizedBothTargets } from '../helpers/both-targets.js';
import { qlinearConv2dRef, qlinearMatMulRef } from '../helpers/quant-reference.js';
import { randomTensor, rng, runOurs } from '../helpers/oracle.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const ints = (dtype: DType, shape: number[], values: number[]): Tensor => {
  const t = randomTensor(dtype, shape, () => 0);
  values.forEach((v, i) => ((t.data as Int32Array)[i] = v));
  return t;
};

describe('quantization vs onnxruntime', () => {
  it('QuantizeLinear: per-tensor, per-axis, ties to even, saturation, int8/uint8/int16/uint16', async () => {
    const r = rng(1);
    // x / 0.5 lands exactly on halves (ties) and beyond every type's range.
    const x = f32([2, 3, 8], Array.from({ length: 48 }, () => Math.round((r() - 0.5) * 400) * 0.25));
    const xBig = f32([2, 3, 8], Array.from({ length: 48 }, () => Math.round((r() - 0.5) * 80000) * 0.25));
    const feeds = { x, xBig };
    await checkBothTargets({
      opset: 21,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3, 8] }, { name: 'xBig', dtype: 'float32', shape: [2, 3, 8] }],
      outputs: ['q0', 'q1', 'q2', 'q3', 'q4', 'q5'].map((name) => ({ name })),
      initializers: {
        s: f32([], [0.5]), zu8: ints('uint8', [], [128]),
        s3: f32([3], [0.5, 0.25, 2]), zi8: ints('int8', [3], [-3, 0, 7]),
        s8: f32([8], [0.5, 1, 2, 4, 0.125, 0.5, 3, 0.75]), zi16: ints('int16', [8], [-300, 0, 5, 100, -7, 2, 0, 1]),
        zu16: ints('uint16', [], [1000]),
      },
      nodes: [
        { op: 'QuantizeLinear', inputs: ['x', 's', 'zu8'], outputs: ['q0'] },
        { op: 'QuantizeLinear', inputs: ['x', 's3', 'zi8'], outputs: ['q1'], attrs: { axis: 1 } },
        { op: 'QuantizeLinear', inputs: ['xBig', 's8', 'zi16'], outputs: ['q2'], attrs: { axis: -1 } },
        { op: 'QuantizeLinear', inputs: ['xBig', 's', 'zu16'], outputs: ['q3'] },
        { op: 'QuantizeLinear', inputs: ['x', 's'], outputs: ['q4'] },
        { op: 'QuantizeLinear', inputs: ['xBig', 's3', 'zi8'], outputs: ['q5'], attrs: { axis: 1 } },
      ],
    }, feeds, 0, 0);
  });

  it('QuantizeLinear per-tensor float32 -> int8/uint8 (the simd kernel): saturation, infinities, ties, odd length', async () => {
    const r = rng(21);
    const values = Array.from({ length: 37 }, () => Math.round((r() - 0.5) * 2000) * 0.25);
    values[3] = Infinity; values[20] = -Infinity; values[36] = 0.75;
    const x = f32([37], values);
    await checkBothTargets({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [37] }],
      outputs: ['qi', 'qu'].map((name) => ({ name })),
      initializers: { s: f32([], [0.5]), zi8: ints('int8', [], [-5]), zu8: ints('uint8', [], [17]) },
      nodes: [
        { op: 'QuantizeLinear', inputs: ['x', 's', 'zi8'], outputs: ['qi'] },
        { op: 'QuantizeLinear', inputs: ['x', 's', 'zu8'], outputs: ['qu'] },
      ],
    }, { x }, 0, 0);
    // NaN: the simd kernel gives what the scalar loop gives (0)
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [20] }], outputs: [{ name: 'q' }],
      initializers: { s: f32([], [0.5]), z: ints('int8', [], [3]) }, nodes: [{ op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'] }],
    });
    const nan = f32([20], Array.from({ length: 20 }, (_, i) => (i % 3 ? NaN : i)));
    const [simd, scalar] = [await runOurs(model, { x: nan }, { target: 'simd' }), await runOurs(model, { x: nan }, { target: 'scalar' })];
    expect(Array.from(simd.q.data as Int8Array)).toEqual(Array.from(scalar.q.data as Int8Array));
    expect(Array.from(simd.q.data as Int8Array).filter((_, i) => i % 3).every((v) => v === 0)).toBe(true);
  });

  it('QuantizeLinear at opset 10 and 13 (per-tensor, per-axis)', async () => {
    const r = rng(2);
    const x = randomTensor('float32', [4, 5], r, -100, 100);
    for (const opset of [10, 13]) {
      await checkBothTargets({
        opset,
        inputs: [{ name: 'x', dtype: 'float32', shape: [4, 5] }],
        outputs: [{ name: 'q' }, ...(opset >= 13 ? [{ name: 'qa' }] : [])],
        initializers: { s: f32([], [0.7]), z: ints('int8', [], [5]), s4: f32([4], [0.3, 1.1, 0.9, 2]), z4: ints('uint8', [4], [0, 10, 128, 255]) },
        nodes: [
          { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['q'] },
          ...(opset >= 13 ? [{ op: 'QuantizeLinear', inputs: ['x', 's4', 'z4'], outputs: ['qa'], attrs: { axis: 0 } }] : []),
        ],
      }, { x }, 0, 0);
    }
  });

  it('DequantizeLinear: per-tensor, per-axis, int32, int16/uint16', async () => {
    const r = rng(3);
    const feeds = {
      a: randomTensor('uint8', [3, 4], r, 0, 255), b: randomTensor('int8', [2, 3, 4], r, -128, 127),
      c: randomTensor('int32', [5], r, -100000, 100000), d: randomTensor('int16', [6], r, -32768, 32767),
      e: randomTensor('uint16', [6], r, 0, 65535),
    };
    await checkBothTargets({
      opset: 21,
      inputs: [
        { name: 'a', dtype: 'uint8', shape: [3, 4] }, { name: 'b', dtype: 'int8', shape: [2, 3, 4] }, { name: 'c', dtype: 'int32', shape: [5] },
        { name: 'd', dtype: 'int16', shape: [6] }, { name: 'e', dtype: 'uint16', shape: [6] },
      ],
      outputs: ['y0', 'y1', 'y2', 'y3', 'y4'].map((name) => ({ name })),
      initializers: {
        s: f32([], [0.05]), zu8: ints('uint8', [], [100]), s3: f32([3], [0.1, 2, 0.003]), zi8: ints('int8', [3], [-5, 0, 100]),
        zi16: ints('int16', [], [-1234]), zu16: ints('uint16', [], [40000]),
      },
      nodes: [
        { op: 'DequantizeLinear', inputs: ['a', 's', 'zu8'], outputs: ['y0'] },
        { op: 'DequantizeLinear', inputs: ['b', 's3', 'zi8'], outputs: ['y1'], attrs: { axis: 1 } },
        { op: 'DequantizeLinear', inputs: ['c', 's'], outputs: ['y2'] },
        { op: 'DequantizeLinear', inputs: ['d', 's', 'zi16'], outputs: ['y3'] },
        { op: 'DequantizeLinear', inputs: ['e', 's', 'zu16'], outputs: ['y4'] },
      ],
    }, feeds, 1e-6, 1e-6);
  });

  it('float16 scales and inputs (opset 21)', async () => {
    const r = rng(9);
    const half = (shape: number[], values: number[]): Tensor => ({ dtype: 'float16', shape, data: Uint16Array.from(values.map(numberToF16Bits)) });
    const feeds = { q: randomTensor('int8', [3, 4], r, -128, 127), x: half([3, 4], Array.from({ length: 12 }, () => Math.round((r() - 0.5) * 300) / 4)) };
    await checkBothTargets({
      opset: 21,
      inputs: [{ name: 'q', dtype: 'int8', shape: [3, 4] }, { name: 'x', dtype: 'float16', shape: [3, 4] }],
      outputs: [{ name: 'd' }, { name: 'y' }],
      initializers: { s: half([4], [0.5, 0.25, 0.125, 2]), z: ints('int8', [4], [0, 3, -7, 1]) },
      nodes: [
        { op: 'DequantizeLinear', inputs: ['q', 's', 'z'], outputs: ['d'], attrs: { axis: 1 } },
        { op: 'QuantizeLinear', inputs: ['x', 's', 'z'], outputs: ['y'], attrs: { axis: 1 } },
      ],
    }, feeds, 0, 0);
  });

  it('DynamicQuantizeLinear: mixed signs, all positive, all negative, SIMD body and tail', async () => {
    const r = rng(4);
    const feeds = {
      x: randomTensor('float32', [3, 7], r, -3, 5), p: randomTensor('float32', [10], r, 0.5, 9), n: randomTensor('float32', [2, 2], r, -7, -1),
      b: randomTensor('float32', [5, 41], r, -0.7, 2.3),
    };
    await checkBothTargets({
      opset: 11,
      inputs: [{ name: 'x', dtype: 'float32', shape: [3, 7] }, { name: 'p', dtype: 'float32', shape: [10] }, { name: 'n', dtype: 'float32', shape: [2, 2] },
        { name: 'b', dtype: 'float32', shape: [5, 41] }],
      outputs: ['y', 'ys', 'yz', 'py', 'pys', 'pyz', 'ny', 'nys', 'nyz', 'by', 'bys', 'byz'].map((name) => ({ name })),
      nodes: [
        { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['y', 'ys', 'yz'] },
        { op: 'DynamicQuantizeLinear', inputs: ['p'], outputs: ['py', 'pys', 'pyz'] },
        { op: 'DynamicQuantizeLinear', inputs: ['n'], outputs: ['ny', 'nys', 'nyz'] },
        { op: 'DynamicQuantizeLinear', inputs: ['b'], outputs: ['by', 'bys', 'byz'] },
      ],
    }, feeds, 1e-6, 0);
  });

  it('MatMulInteger: batched, broadcast, per-column zero points, int8 and uint8', async () => {
    const r = rng(5);
    const feeds = {
      a: randomTensor('uint8', [2, 3, 5, 7], r, 0, 255), b: randomTensor('uint8', [3, 7, 4], r, 0, 255),
      c: randomTensor('int8', [6, 9], r, -128, 127), d: randomTensor('int8', [9], r, -128, 127),
      e: randomTensor('uint8', [4, 6], r, 0, 255), f: randomTensor('int8', [6, 3], r, -128, 127),
    };
    await checkBothTargets({
      opset: 10,
      inputs: [
        { name: 'a', dtype: 'uint8', shape: [2, 3, 5, 7] }, { name: 'b', dtype: 'uint8', shape: [3, 7, 4] },
        { name: 'c', dtype: 'int8', shape: [6, 9] }, { name: 'd', dtype: 'int8', shape: [9] },
        { name: 'e', dtype: 'uint8', shape: [4, 6] }, { name: 'f', dtype: 'int8', shape: [6, 3] },
      ],
      outputs: [{ name: 'y0' }, { name: 'y1' }, { name: 'y2' }, { name: 'y3' }],
      initializers: { za: ints('uint8', [], [12]), zb: ints('uint8', [3, 1, 4], [3, 200, 0, 128, 1, 2, 3, 4, 255, 0, 9, 77]), zc: ints('int8', [], [-5]), ze: ints('uint8', [], [7]), zf: ints('int8', [3], [1, -2, 3]) },
      nodes: [
        { op: 'MatMulInteger', inputs: ['a', 'b', 'za', 'zb'], outputs: ['y0'] },
        { op: 'MatMulInteger', inputs: ['c', 'd', 'zc'], outputs: ['y1'] },
        { op: 'MatMulInteger', inputs: ['a', 'b'], outputs: ['y2'] },
        { op: 'MatMulInteger', inputs: ['e', 'f', 'ze', 'zf'], outputs: ['y3'] },
      ],
    }, feeds, 0, 0);
  });

  it('ConvInteger: pads, strides, dilations, auto_pad, group, 1-D and 2-D', async () => {
    const r = rng(6);
    const feeds = { x: randomTensor('uint8', [2, 4, 7, 6], r, 0, 255), x1: randomTensor('uint8', [1, 2, 11], r, 0, 255) };
    await checkBothTargets({
      opset: 10,
      inputs: [{ name: 'x', dtype: 'uint8', shape: [2, 4, 7, 6] }, { name: 'x1', dtype: 'uint8', shape: [1, 2, 11] }],
      outputs: [{ name: 'y0' }, { name: 'y1' }, { name: 'y2' }, { name: 'y3' }],
      initializers: {
        w: randomTensor('uint8', [3, 4, 3, 2], r, 0, 255), wg: randomTensor('uint8', [4, 2, 2, 2], r, 0, 255), w1: randomTensor('uint8', [3, 2, 4], r, 0, 255),
        zx: ints('uint8', [], [100]), zw: ints('uint8', [], [17]),
      },
      nodes: [
        { op: 'ConvInteger', inputs: ['x', 'w', 'zx', 'zw'], outputs: ['y0'], attrs: { pads: [1, 0, 2, 1], strides: [2, 1], dilations: [1, 2] } },
        { op: 'ConvInteger', inputs: ['x', 'wg', 'zx'], outputs: ['y1'], attrs: { group: 2, auto_pad: 'SAME_UPPER' } },
        { op: 'ConvInteger', inputs: ['x', 'w'], outputs: ['y2'], attrs: { auto_pad: 'VALID', strides: [3, 2] } },
        { op: 'ConvInteger', inputs: ['x1', 'w1', 'zx', 'zw'], outputs: ['y3'], attrs: { pads: [2, 1], strides: [2] } },
      ],
    }, feeds, 0, 0);
  });

  it('QLinearMatMul: uint8 and int8, batched and broadcast', async () => {
    const r = rng(7);
    const feeds = {
      a: randomTensor('uint8', [2, 4, 6], r, 0, 255), b: randomTensor('uint8', [6, 5], r, 0, 255),
      c: randomTensor('int8', [3, 8], r, -128, 127), d: randomTensor('int8', [2, 8, 4], r, -128, 127),
    };
    const init = {
        as: f32([], [0.02]), az: ints('uint8', [], [120]), bs: f32([], [0.013]), bz: ints('uint8', [], [99]), ys: f32([], [0.25]), yz: ints('uint8', [], [128]),
        cs: f32([], [0.05]), cz: ints('int8', [], [3]), ds: f32([], [0.01]), dz: ints('int8', [], [-4]), y2s: f32([], [0.9]), y2z: ints('int8', [], [-10]),
      };
    const reference = {
      y0: qlinearMatMulRef(feeds.a, init.as, init.az, feeds.b, init.bs, init.bz, init.ys, init.yz),
      y1: qlinearMatMulRef(feeds.c, init.cs, init.cz, feeds.d, init.ds, init.dz, init.y2s, init.y2z),
    };
    await checkQuantizedBothTargets({
      opset: 10,
      inputs: [
        { name: 'a', dtype: 'uint8', shape: [2, 4, 6] }, { name: 'b', dtype: 'uint8', shape: [6, 5] },
        { name: 'c', dtype: 'int8', shape: [3, 8] }, { name: 'd', dtype: 'int8', shape: [2, 8, 4] },
      ],
      outputs: [{ name: 'y0' }, { name: 'y1' }],
      initializers: init,
      nodes: [
        { op: 'QLinearMatMul', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], outputs: ['y0'] },
        { op: 'QLinearMatMul', inputs: ['c', 'cs', 'cz', 'd', 'ds', 'dz', 'y2s', 'y2z'], outputs: ['y1'] },
      ],
    }, feeds, reference);
  });

  it('QLinearConv: per-channel weights, bias, strides, pads, group', async () => {
    const r = rng(8);
    const feeds = { x: randomTensor('uint8', [1, 4, 8, 7], r, 0, 255) };
    const i = {
        xs: f32([], [0.03]), xz: ints('uint8', [], [128]),
        w: randomTensor('int8', [6, 4, 3, 3], r, -128, 127), ws: f32([6], [0.002, 0.004, 0.001, 0.003, 0.005, 0.0025]), wz: ints('int8', [6], [0, 0, 0, 0, 0, 0]),
        wg: randomTensor('uint8', [4, 2, 2, 2], r, 0, 255), wgs: f32([], [0.004]), wgz: ints('uint8', [], [130]),
        ys: f32([], [0.15]), yz: ints('uint8', [], [100]), bias: randomTensor('int32', [6], r, -3000, 3000),
      };
    const reference = {
      y0: qlinearConv2dRef(feeds.x, i.xs, i.xz, i.w, i.ws, i.wz, i.ys, i.yz, i.bias, { pads: [1, 1, 1, 1], strides: [2, 1] }),
      y1: qlinearConv2dRef(feeds.x, i.xs, i.xz, i.wg, i.wgs, i.wgz, i.ys, i.yz, undefined, { group: 2, dilations: [2, 1] }),
    };
    await checkQuantizedBothTargets({
      opset: 10,
      inputs: [{ name: 'x', dtype: 'uint8', shape: [1, 4, 8, 7] }],
      outputs: [{ name: 'y0' }, { name: 'y1' }],
      initializers: i,
      nodes: [
        { op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', 'bias'], outputs: ['y0'], attrs: { pads: [1, 1, 1, 1], strides: [2, 1] } },
        { op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'wg', 'wgs', 'wgz', 'ys', 'yz'], outputs: ['y1'], attrs: { group: 2, dilations: [2, 1] } },
      ],
    }, feeds, reference);
  });
});
