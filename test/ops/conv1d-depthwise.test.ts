// 1-D depthwise Conv (keyword spotting, QuartzNet, Conformer convolution modules) against onnxruntime-node on
// both targets: random lengths (whole vectors and tails), kernel sizes, strides 1-2 (the depthwise kernel) and 3
// (the general path), dilations, asymmetric pads, batch, and the fused Relu and residual Add the kernel applies.

import { describe, it } from 'vitest';
import { encodeModel, type NodeSpec } from '../../src/onnx/encode.js';
import { expectClose, randomTensor, rng, runOrt, runOurs, type Feeds } from '../helpers/oracle.js';

describe('1-D depthwise Conv', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const r = rng(seed * 6151);
    const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    const C = int(1, 20), k = [1, 3, 5, 7, 9][int(0, 4)], stride = [1, 1, 2, 2, 3][int(0, 4)], dilation = int(1, 2);
    const pads = [int(0, k - 1), int(0, k - 1)];
    const L = (k - 1) * dilation + int(1, 70), batch = int(1, 2);
    const OL = Math.floor((L + pads[0] + pads[1] - (k - 1) * dilation - 1) / stride) + 1;
    const epilogue = (['none', 'relu', 'residual'] as const)[int(0, 2)];
    // a residual Add needs an operand shaped like the output: a second input of that shape
    const residual = epilogue === 'residual';
    const name = `C ${C}, L ${L}, k ${k}, stride ${stride}, dilation ${dilation}, pads [${pads}], batch ${batch}, ${epilogue}`;
    for (const target of ['simd', 'scalar'] as const) {
      it(`${name} (${target})`, async () => {
        const rr = rng(seed);
        const nodes: NodeSpec[] = [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: [epilogue === 'none' ? 'y' : 'c'], attrs: { group: C, kernel_shape: [k], strides: [stride], dilations: [dilation], pads } }];
        if (epilogue === 'relu') nodes.push({ op: 'Relu', inputs: ['c'], outputs: ['y'] });
        if (residual) nodes.push({ op: 'Add', inputs: ['c', 'skip'], outputs: ['y'] });
        const model = encodeModel({
          opset: 13, outputs: [{ name: 'y' }], nodes,
          inputs: [{ name: 'x', dtype: 'float32', shape: [batch, C, L] }, ...(residual ? [{ name: 'skip', dtype: 'float32' as const, shape: [batch, C, OL] }] : [])],
          initializers: { w: randomTensor('float32', [C, 1, k], rr), b: randomTensor('float32', [C], rr) },
        });
        const feeds: Feeds = { x: randomTensor('float32', [batch, C, L], rr) };
        if (residual) feeds.skip = randomTensor('float32', [batch, C, OL], rr);
        expectClose(await runOurs(model, feeds, { target }), await runOrt(model, feeds), 1e-4, 1e-4);
      });
    }
  }
});
