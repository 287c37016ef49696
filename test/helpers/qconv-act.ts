// A QLinearConv, optionally followed by DequantizeLinear -> Relu / Clip(0, 6) -> QuantizeLinear (the chain the
// int8 epilogue fuses), as a model and its expected output by the spec's arithmetic: the convolution's
// requantization (test/helpers/quant-reference.ts), then DQ -> activation -> Q in float32.

import { encodeModel, type NodeSpec } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';
import { dequantize, quantize } from '../../ops/qparams.js';
import type { Outputs } from './oracle.js';
import { qlinearConv2dRef, type Conv2dAttrs } from './quant-reference.js';

export interface QConvActModel {
  x: Tensor; xs: Tensor; xz: Tensor; w: Tensor; ws: Tensor; wz: Tensor;
  /** The convolution's output parameters (scalars s1, z1). */
  s1: number; z1: number;
  bias?: Tensor;
  attrs: Conv2dAttrs;
  act: 'none' | 'relu' | 'clip6';
  /** The activation's output parameters. */
  s2: number; z2: number;
}

export function qconvActModel(c: QConvActModel): { model: Uint8Array; reference: Outputs } {
  const dt = c.x.dtype;
  const f32 = (v: number): Tensor => ({ dtype: 'float32', shape: [], data: Float32Array.of(v) });
  const q = (v: number): Tensor => ({ dtype: dt, shape: [], data: dt === 'int8' ? Int8Array.of(v) : Uint8Array.of(v) });
  const ys = f32(c.s1), yz = q(c.z1);
  const nodes: NodeSpec[] = [{ op: 'QLinearConv', inputs: ['x', 'xs', 'xz', 'w', 'ws', 'wz', 'ys', 'yz', ...(c.bias ? ['bias'] : [])], outputs: [c.act === 'none' ? 'y' : 'yq'], attrs: c.attrs as Record<string, number | number[]> }];
  if (c.act !== 'none') {
    nodes.push({ op: 'DequantizeLinear', inputs: ['yq', 'ys', 'yz'], outputs: ['yf'] },
      c.act === 'clip6' ? { op: 'Clip', inputs: ['yf', 'cmin', 'cmax'], outputs: ['af'] } : { op: 'Relu', inputs: ['yf'], outputs: ['af'] },
      { op: 'QuantizeLinear', inputs: ['af', 'os', 'oz'], outputs: ['y'] });
  }
  const model = encodeModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: dt, shape: c.x.shape }],
    outputs: [{ name: 'y' }],
    initializers: {
      xs: c.xs, xz: c.xz, w: c.w, ws: c.ws, wz: c.wz, ys, yz, ...(c.bias ? { bias: c.bias } : {}),
      ...(c.act === 'none' ? {} : { os: f32(c.s2), oz: q(c.z2) }),
      ...(c.act === 'clip6' ? { cmin: f32(0), cmax: f32(6) } : {}),
    },
    nodes,
  });
  const conv = qlinearConv2dRef(c.x, c.xs, c.xz, c.w, c.ws, c.wz, ys, yz, c.bias, c.attrs);
  const p1 = { scale: c.s1, zp: c.z1, dtype: dt }, p2 = { scale: c.s2, zp: c.z2, dtype: dt };
  const fmax = c.act === 'clip6' ? 6 : Infinity;
  const activated = () => Array.from(conv.data as ArrayLike<number>, (v) => quantize(Math.fround(Math.min(Math.max(dequantize(v, p1), 0), fmax)), p2));
  const data = c.act === 'none' ? conv.data : dt === 'int8' ? Int8Array.from(activated()) : Uint8Array.from(activated());
  return { model, reference: { y: { data, shape: conv.shape } } };
}
