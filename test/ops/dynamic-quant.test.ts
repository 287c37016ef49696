// A dynamically quantized conv net, written the way onnxruntime's quantize_dynamic writes one: each layer is
// DynamicQuantizeLinear (activation scale and zero point computed at run time) -> ConvInteger with constant uint8
// weights -> Cast -> Mul by x_scale * w_scale -> Add bias -> Relu. ConvInteger runs on the int8 GEMM (pointwise,
// im2col with the run-time zero point as padding, depthwise); checked against onnxruntime-node on both targets.

import { describe, it } from 'vitest';
import type { ModelSpec, NodeSpec } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';
import { checkBothTargets } from '../helpers/both-targets.js';
import { randomTensor, rng } from '../helpers/oracle.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });

/** quantize_dynamic's pattern for one Conv layer; returns the layer's float output name. */
function dynamicConvLayer(spec: { nodes: NodeSpec[]; initializers: Record<string, Tensor> }, r: () => number, name: string, input: string,
  cin: number, cout: number, k: number, attrs: Record<string, number | number[]>): string {
  const group = Number(attrs.group ?? 1);
  spec.initializers[`${name}_w`] = randomTensor('uint8', [cout, cin / group, k, k], r, 0, 255);
  spec.initializers[`${name}_wz`] = { dtype: 'uint8', shape: [], data: Uint8Array.of(128) };
  spec.initializers[`${name}_ws`] = f32([], [0.002 + 0.002 * r()]);
  spec.initializers[`${name}_b`] = randomTensor('float32', [cout, 1, 1], r, -0.2, 0.2);
  spec.nodes.push(
    { op: 'DynamicQuantizeLinear', inputs: [input], outputs: [`${name}_xq`, `${name}_xs`, `${name}_xz`] },
    { op: 'ConvInteger', inputs: [`${name}_xq`, `${name}_w`, `${name}_xz`, `${name}_wz`], outputs: [`${name}_acc`], attrs },
    { op: 'Cast', inputs: [`${name}_acc`], outputs: [`${name}_accf`], attrs: { to: 1 } },
    { op: 'Mul', inputs: [`${name}_xs`, `${name}_ws`], outputs: [`${name}_scale`] },
    { op: 'Mul', inputs: [`${name}_accf`, `${name}_scale`], outputs: [`${name}_y0`] },
    { op: 'Add', inputs: [`${name}_y0`, `${name}_b`], outputs: [`${name}_y1`] },
    { op: 'Relu', inputs: [`${name}_y1`], outputs: [`${name}_y`] },
  );
  return `${name}_y`;
}

describe('dynamically quantized conv net (DynamicQuantizeLinear + ConvInteger) vs onnxruntime', () => {
  it('3x3 stem with padding, depthwise, pointwise, strided: both targets', async () => {
    const r = rng(12);
    const spec = { nodes: [] as NodeSpec[], initializers: {} as Record<string, Tensor> };
    let h = dynamicConvLayer(spec, r, 'stem', 'x', 3, 16, 3, { pads: [1, 1, 1, 1], strides: [2, 2] });
    h = dynamicConvLayer(spec, r, 'dw', h, 16, 16, 3, { pads: [1, 1, 1, 1], group: 16 });
    h = dynamicConvLayer(spec, r, 'pw', h, 16, 24, 1, {});
    h = dynamicConvLayer(spec, r, 'c3', h, 24, 8, 3, { pads: [0, 1, 1, 0] });
    const model: ModelSpec = {
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 30, 27] }], outputs: [{ name: h }], ...spec,
    };
    const x = randomTensor('float32', [1, 3, 30, 27], r, -1, 1);
    await checkBothTargets(model, { x }, 1e-4, 1e-5);
  });

  it('DynamicQuantizeLinear + MatMulInteger (a dynamically quantized linear layer), batched rows, per-column weight zero points', async () => {
    const r = rng(13);
    const model: ModelSpec = {
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2, 5, 33] }],
      outputs: [{ name: 'acc' }, { name: 'y' }],
      initializers: {
        w: randomTensor('uint8', [33, 19], r, 0, 255), wz: randomTensor('uint8', [19], r, 100, 150),
        w8: randomTensor('int8', [33, 12], r, -127, 127),
      },
      nodes: [
        { op: 'DynamicQuantizeLinear', inputs: ['x'], outputs: ['xq', 'xs', 'xz'] },
        { op: 'MatMulInteger', inputs: ['xq', 'w', 'xz', 'wz'], outputs: ['acc'] },
        { op: 'MatMulInteger', inputs: ['xq', 'w8', 'xz'], outputs: ['acc8'] },
        { op: 'Cast', inputs: ['acc8'], outputs: ['y'], attrs: { to: 1 } },
      ],
    };
    await checkBothTargets(model, { x: randomTensor('float32', [2, 5, 33], r, -2, 3) }, 0, 0);
  });
});
