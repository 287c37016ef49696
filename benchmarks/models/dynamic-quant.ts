// A dynamically quantized conv net the suite makes itself, written the way onnxruntime's quantize_dynamic writes
// one: each layer is DynamicQuantizeLinear (the activation's scale and zero point computed at run time) ->
// ConvInteger with constant uint8 weights -> Cast -> Mul by x_scale * w_scale -> Add bias -> Relu. Issue 8 asks
// that such a net run no slower than onnxruntime-web; the int8 section measures it (`dynamic_quant_cnn`) beside
// its fp32 twin (the same layers with the dequantized weights). test/ops/dynamic-quant.test.ts checks the layer
// against onnxruntime-node on both targets.

import { encodeModel, type NodeSpec } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';
import { seededRandom } from './builder.js';

export const DYNAMIC_QUANT_NAME = 'dynamic_quant_cnn';

interface Net { nodes: NodeSpec[]; initializers: Record<string, Tensor> }

const uniform = (r: () => number, n: number, lo: number, hi: number) => Array.from({ length: n }, () => lo + (hi - lo) * r());

/**
 * quantize_dynamic's pattern for one Conv layer, appended to `dynamic`, and the float layer it stands for appended
 * to `fp32` when given; returns the layer's output name (the same in both).
 */
export function dynamicConvLayer(dynamic: Net, r: () => number, name: string, input: string, cin: number, cout: number, k: number,
  attrs: Record<string, number | number[]>, fp32?: Net): string {
  const group = Number(attrs.group ?? 1);
  const w = Uint8Array.from(uniform(r, cout * (cin / group) * k * k, 0, 256), Math.floor);
  const ws = Math.fround(0.002 + 0.002 * r());
  const bias = Float32Array.from(uniform(r, cout, -0.2, 0.2));
  const wShape = [cout, cin / group, k, k];
  Object.assign(dynamic.initializers, {
    [`${name}_w`]: { dtype: 'uint8', shape: wShape, data: w },
    [`${name}_wz`]: { dtype: 'uint8', shape: [], data: Uint8Array.of(128) },
    [`${name}_ws`]: { dtype: 'float32', shape: [], data: Float32Array.of(ws) },
    [`${name}_b`]: { dtype: 'float32', shape: [cout, 1, 1], data: bias },
  } satisfies Record<string, Tensor>);
  dynamic.nodes.push(
    { op: 'DynamicQuantizeLinear', inputs: [input], outputs: [`${name}_xq`, `${name}_xs`, `${name}_xz`] },
    { op: 'ConvInteger', inputs: [`${name}_xq`, `${name}_w`, `${name}_xz`, `${name}_wz`], outputs: [`${name}_acc`], attrs },
    { op: 'Cast', inputs: [`${name}_acc`], outputs: [`${name}_accf`], attrs: { to: 1 } },
    { op: 'Mul', inputs: [`${name}_xs`, `${name}_ws`], outputs: [`${name}_scale`] },
    { op: 'Mul', inputs: [`${name}_accf`, `${name}_scale`], outputs: [`${name}_y0`] },
    { op: 'Add', inputs: [`${name}_y0`, `${name}_b`], outputs: [`${name}_y1`] },
    { op: 'Relu', inputs: [`${name}_y1`], outputs: [`${name}_y`] },
  );
  if (fp32) {
    fp32.initializers[`${name}_w`] = { dtype: 'float32', shape: wShape, data: Float32Array.from(w, (v) => (v - 128) * ws) };
    fp32.initializers[`${name}_b`] = { dtype: 'float32', shape: [cout], data: bias };
    fp32.nodes.push(
      { op: 'Conv', inputs: [input, `${name}_w`, `${name}_b`], outputs: [`${name}_c`], attrs },
      { op: 'Relu', inputs: [`${name}_c`], outputs: [`${name}_y`] },
    );
  }
  return `${name}_y`;
}

/**
 * The benchmark's net (a small segmentation-style encoder on a 160x160 image): a strided 3x3 stem, MobileNet-style
 * depthwise + pointwise blocks, and plain 3x3 convolutions, 13 quantized layers. Returns the dynamically
 * quantized model, its fp32 twin and a seeded input.
 */
export function dynamicQuantCnn(): { dynamic: Uint8Array; fp32: Uint8Array; feeds: Record<string, Tensor> } {
  const r = seededRandom(2024);
  const dynamic: Net = { nodes: [], initializers: {} }, fp32: Net = { nodes: [], initializers: {} };
  const layers: [number, number, number, Record<string, number | number[]>][] = [
    [3, 16, 3, { pads: [1, 1, 1, 1], strides: [2, 2] }],
    [16, 16, 3, { pads: [1, 1, 1, 1], group: 16 }], [16, 32, 1, {}],
    [32, 32, 3, { pads: [1, 1, 1, 1], strides: [2, 2], group: 32 }], [32, 64, 1, {}],
    [64, 64, 3, { pads: [1, 1, 1, 1] }],
    [64, 64, 3, { pads: [1, 1, 1, 1], strides: [2, 2], group: 64 }], [64, 128, 1, {}],
    [128, 128, 3, { pads: [1, 1, 1, 1] }],
    [128, 128, 3, { pads: [1, 1, 1, 1], group: 128 }], [128, 128, 1, {}],
    [128, 64, 3, { pads: [1, 1, 1, 1] }], [64, 8, 1, {}],
  ];
  let h = 'x';
  layers.forEach(([cin, cout, k, attrs], i) => { h = dynamicConvLayer(dynamic, r, `l${i}`, h, cin, cout, k, attrs, fp32); });
  const io = { opset: 13, inputs: [{ name: 'x', dtype: 'float32' as const, shape: [1, 3, 160, 160] }], outputs: [{ name: h }] };
  const x: Tensor = { dtype: 'float32', shape: [1, 3, 160, 160], data: Float32Array.from(uniform(r, 3 * 160 * 160, -1, 1)) };
  return { dynamic: encodeModel({ ...io, ...dynamic }), fp32: encodeModel({ ...io, ...fp32 }), feeds: { x } };
}
