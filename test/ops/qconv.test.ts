// The int8 convolution and matrix kernels (QLinearConv / QLinearMatMul on the int8 GEMM, depthwise, pointwise,
// im2col) on shapes and attributes real quantized models use: exact against the specification's arithmetic
// (test/helpers/quant-reference.ts) and within one unit of onnxruntime-node, on both targets.

import { describe, it } from 'vitest';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { checkQuantizedBothTargets } from '../helpers/both-targets.js';
import { randomTensor, rng } from '../helpers/oracle.js';
import { qlinearConv2dRef, qlinearMatMulRef, type Conv2dAttrs } from '../helpers/quant-reference.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const q = (dtype: DType, shape: number[], values: number[]): Tensor => ({ dtype, shape, data: dtype === 'int8' ? Int8Array.from(values) : Uint8Array.from(values) });
const range = (dt: DType): [number, number] => (dt === 'int8' ? [-128, 127] : [0, 255]);

interface ConvCase { xz?: number; yz?: number; name: string; x: number[]; cout: number; k: number[]; attrs: Conv2dAttrs; xdt: DType; wdt: DType; perChannel: boolean; wzp?: number; bias: boolean }

const CASES: ConvCase[] = [
  { name: '3x3 pad 1, 16 -> 24 channels, odd size', x: [1, 16, 11, 9], cout: 24, k: [3, 3], attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: '7x7 stride 2 pad 3 (a stem, odd K)', x: [1, 3, 23, 21], cout: 8, k: [7, 7], attrs: { pads: [3, 3, 3, 3], strides: [2, 2] }, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true },
  { name: '1x1 stride 2 (a downsample)', x: [1, 12, 10, 10], cout: 20, k: [1, 1], attrs: { strides: [2, 2] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'pointwise 1x1, 33 -> 19, batch 2', x: [2, 33, 5, 7], cout: 19, k: [1, 1], attrs: {}, xdt: 'uint8', wdt: 'int8', perChannel: false, bias: false },
  // squeezenet1_1's squeeze shapes: K a power of two, several column chunks ending in a partial panel
  { name: 'pointwise 1x1, 256 -> 20 on 27x27 (K = 256)', x: [1, 256, 27, 27], cout: 20, k: [1, 1], attrs: {}, xdt: 'uint8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'pointwise 1x1, 128 -> 16 on 55x55, two chunks, int8', x: [1, 128, 55, 55], cout: 16, k: [1, 1], attrs: {}, xdt: 'int8', wdt: 'int8', perChannel: false, wzp: 3, bias: true },
  { name: 'depthwise 3x3 stride 1', x: [1, 10, 13, 17], cout: 10, k: [3, 3], attrs: { pads: [1, 1, 1, 1], group: 10 }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'depthwise 3x3 stride 2, uint8', x: [2, 6, 14, 19], cout: 6, k: [3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], group: 6 }, xdt: 'uint8', wdt: 'uint8', perChannel: false, wzp: 128, bias: true },
  { name: 'depthwise 5x5 stride 1 (odd tap pairs), batch 2', x: [2, 5, 12, 21], cout: 5, k: [5, 5], attrs: { pads: [2, 2, 2, 2], group: 5 }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'depthwise 3x3 stride 2, odd width, asymmetric pads', x: [1, 7, 15, 23], cout: 7, k: [3, 3], attrs: { pads: [0, 1, 1, 0], strides: [2, 2], group: 7 }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'depthwise 5x5 dilated', x: [1, 4, 16, 16], cout: 4, k: [5, 5], attrs: { pads: [4, 4, 4, 4], dilations: [2, 2], group: 4 }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: false },
  { name: 'grouped 3x3 stride 2, asymmetric uint8 weights', x: [1, 8, 9, 9], cout: 12, k: [3, 3], attrs: { pads: [0, 1, 2, 1], strides: [2, 2], group: 4 }, xdt: 'uint8', wdt: 'uint8', perChannel: false, wzp: 121, bias: true },
  { name: 'many channels (K = 576), several row chunks', x: [1, 64, 30, 30], cout: 64, k: [3, 3], attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true },
  { name: 'post-Relu input (zero point -128), 56x56', x: [1, 64, 56, 56], cout: 64, k: [3, 3], attrs: { pads: [1, 1, 1, 1] }, xdt: 'int8', wdt: 'int8', perChannel: true, bias: true, xz: -128, yz: -3 },
];

describe('int8 convolution kernels vs the spec and onnxruntime', () => {
  for (const c of CASES) {
    it(c.name, async () => {
      const r = rng(c.name.length * 31 + c.cout);
      const [xlo, xhi] = range(c.xdt), [wlo, whi] = range(c.wdt);
      const group = c.attrs.group ?? 1;
      const x = randomTensor(c.xdt, c.x, r, xlo, xhi);
      const w = randomTensor(c.wdt, [c.cout, c.x[1] / group, ...c.k], r, wlo, whi);
      const ws = c.perChannel ? f32([c.cout], Array.from({ length: c.cout }, () => 0.001 + 0.004 * r())) : f32([], [0.003]);
      const wz = c.perChannel ? q(c.wdt, [c.cout], new Array(c.cout).fill(0)) : q(c.wdt, [], [c.wzp ?? 0]);
      const xs = f32([], [0.02]), xz = q(c.xdt, [], [c.xz ?? (c.xdt === 'int8' ? -3 : 117)]);
      const ys = f32([], [0.05 * Math.sqrt(c.k[0] * c.k[1] * c.x[1] / group) / 3]), yz = q(c.xdt, [], [c.yz ?? (c.xdt === 'int8' ? 5 : 128)]);
      const bias = c.bias ? randomTensor('int32', [c.cout], r, -2000, 2000) : undefined;
      const init: Record<string, Tensor> = { xs, xz, w, ws, wz, ys, yz, ...(bias ? { bias } : {}) };
      const attrs = { ...c.attrs, ...(c.attrs.pads ? {} : {}) };
      await checkQuantizedBothTargets({
        opset: 13,
        inputs: [{ name: 'x', dtype: c.xdt, shape: c.x }],
        outputs: [{ name: 'y' }],
        initializers: init,
        nodes: [{ op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', ...(bias ? ['bias'] : [])], outputs: ['y'], attrs: attrs as Record<string, number | number[]> }],
      }, { x }, { y: qlinearConv2dRef(x, xs, xz, w, ws, wz, ys, yz, bias, c.attrs) });
    });
  }
});

describe('int8 matrix products vs the spec and onnxruntime', () => {
  it('QLinearMatMul with constant weights: per-column scales, odd K and N, batched rows', async () => {
    const r = rng(77);
    const a = randomTensor('int8', [3, 5, 37], r, -128, 127);
    const b = randomTensor('int8', [37, 21], r, -128, 127);
    const init = { as: f32([], [0.02]), az: q('int8', [], [-7]), b, bs: f32([21], Array.from({ length: 21 }, () => 0.002 + 0.003 * r())), bz: q('int8', [21], new Array(21).fill(0)), ys: f32([], [0.2]), yz: q('int8', [], [3]) };
    const ref = qlinearMatMulRefPerCol(a, init);
    await checkQuantizedBothTargets({
      opset: 13, inputs: [{ name: 'a', dtype: 'int8', shape: [3, 5, 37] }], outputs: [{ name: 'y' }], initializers: init,
      nodes: [{ op: 'QLinearMatMul', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], outputs: ['y'] }],
    }, { a }, { y: ref });
  });

  it('QLinearMatMul of two activations (attention scores), uint8, batched', async () => {
    const r = rng(78);
    const a = randomTensor('uint8', [2, 3, 9, 16], r, 0, 255), b = randomTensor('uint8', [2, 3, 16, 11], r, 0, 255);
    const init = { as: f32([], [0.03]), az: q('uint8', [], [128]), bs: f32([], [0.01]), bz: q('uint8', [], [100]), ys: f32([], [0.4]), yz: q('uint8', [], [120]) };
    await checkQuantizedBothTargets({
      opset: 13, inputs: [{ name: 'a', dtype: 'uint8', shape: [2, 3, 9, 16] }, { name: 'b', dtype: 'uint8', shape: [2, 3, 16, 11] }], outputs: [{ name: 'y' }], initializers: init,
      nodes: [{ op: 'QLinearMatMul', inputs: ['a', 'as', 'az', 'b', 'bs', 'bz', 'ys', 'yz'], outputs: ['y'] }],
    }, { a, b }, { y: qlinearMatMulRef(a, init.as, init.az, b, init.bs, init.bz, init.ys, init.yz) });
  });
});

/** qlinearMatMulRef with a per-column weight scale (the reference helper takes per-tensor scales). */
function qlinearMatMulRefPerCol(a: Tensor, i: { as: Tensor; az: Tensor; b: Tensor; bs: Tensor; bz: Tensor; ys: Tensor; yz: Tensor }): Tensor {
  const N = i.b.shape[1];
  const cols = Array.from({ length: N }, (_, n) => {
    const bCol: Tensor = { dtype: i.b.dtype, shape: [i.b.shape[0], 1], data: Int8Array.from({ length: i.b.shape[0] }, (_, kk) => Number(i.b.data[kk * N + n])) };
    return qlinearMatMulRef(a, i.as, i.az, bCol, f32([], [Number(i.bs.data[n])]), q('int8', [], [0]), i.ys, i.yz);
  });
  const rows = a.data.length / a.shape[a.shape.length - 1];
  const out = new Int8Array(rows * N);
  for (let m = 0; m < rows; m++) for (let n = 0; n < N; n++) out[m * N + n] = Number(cols[n].data[m]);
  return { dtype: 'int8', shape: [...a.shape.slice(0, -1), N], data: out };
}
