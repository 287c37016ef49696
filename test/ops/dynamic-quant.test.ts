// A dynamically quantized conv net, written the way onnxruntime's quantize_dynamic writes one (by the benchmark's builder,
// benchmarks/models/dynamic-quant.ts): each layer is
// DynamicQuantizeLinear (activation scale and zero point computed at run time) -> ConvInteger with constant uint8
// weights -> Cast -> Mul by x_scale * w_scale -> Add bias -> Relu. ConvInteger runs on the int8 GEMM (pointwise,
// im2col with the run-time zero point as padding, depthwise); checked against onnxruntime-node on both targets.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { encodeModel } from '../../src/onnx/encode.js';
import type { ModelSpec, NodeSpec } from '../../src/onnx/encode.js';
import { dynamicConvLayer } from '../../benchmarks/models/dynamic-quant.js';
import type { Tensor } from '../../src/ir/graph.js';
import { checkBothTargets } from '../helpers/both-targets.js';
import { randomTensor, rng } from '../helpers/oracle.js';

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

describe('ConvInteger -> Cast -> Mul -> Add -> Relu fused into the int8 GEMM\'s float epilogue', () => {
  it('every kernel variant, bias and Relu optional, operands in either order: same outputs as onnxruntime, both targets', async () => {
    const r = rng(14);
    const spec = { nodes: [] as NodeSpec[], initializers: {} as Record<string, Tensor> };
    let h = dynamicConvLayer(spec, r, 'stem', 'x', 3, 8, 3, { pads: [1, 1, 1, 1] });
    h = dynamicConvLayer(spec, r, 'dw', h, 8, 8, 3, { pads: [1, 1, 1, 1], strides: [2, 2], group: 8 });
    h = dynamicConvLayer(spec, r, 'pw', h, 8, 12, 1, {});
    // quantize_dynamic's layer without a bias and without a Relu, the Mul's operands swapped
    const n0 = spec.nodes.length;
    h = dynamicConvLayer(spec, r, 'last', h, 12, 5, 3, {});
    const last = spec.nodes.slice(n0);
    const mul = last.find((n) => n.inputs[0] === 'last_accf')!;
    mul.inputs.reverse();
    const add = last.findIndex((n) => n.op === 'Add');
    spec.nodes.splice(n0 + add, 2);
    mul.outputs = ['last_y'];
    const model: ModelSpec = { opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 19, 21] }], outputs: [{ name: h }], ...spec };
    const { report } = await compile(encodeModel(model));
    expect(report.ops).toMatchObject({ ConvIntegerScaled: 4 });
    expect(report.ops.Cast ?? 0).toBe(0);
    expect(report.ops.Relu ?? 0).toBe(0);
    expect(Object.keys(report.variants).filter((v) => v.startsWith('ConvIntegerScaled:')).sort())
      .toEqual(['ConvIntegerScaled:int8-depthwise', 'ConvIntegerScaled:int8-gather-gemm', 'ConvIntegerScaled:int8-pointwise-gemm']);
    await checkBothTargets(model, { x: randomTensor('float32', [1, 3, 19, 21], r, -1, 1) }, 1e-4, 1e-5);
  });
});
