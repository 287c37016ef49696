// The per-tensor float32 <-> int8/uint8 fast paths of QuantizeLinear / DequantizeLinear (ops/quantize-fast.ts)
// against onnxruntime-node on both targets: sizes around the 16-lane step (tails of 0..15 elements), int8 and
// uint8, with and without a zero point, ties to even and saturation.

import { describe, it } from 'vitest';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { checkBothTargets } from '../helpers/both-targets.js';
import { randomTensor, rng } from '../helpers/oracle.js';

const f32 = (shape: number[], values: number[]): Tensor => ({ dtype: 'float32', shape, data: Float32Array.from(values) });
const scalarOf = (dtype: DType, v: number): Tensor => ({ dtype, shape: [], data: dtype === 'int8' ? Int8Array.of(v) : Uint8Array.of(v) });

describe('QuantizeLinear / DequantizeLinear per-tensor fast paths vs onnxruntime', () => {
  for (const n of [1, 15, 16, 17, 47, 64, 259]) {
    it(`${n} elements: int8 and uint8, zero point or none, ties and saturation`, async () => {
      const r = rng(100 + n);
      const scale = 0.05 + r() * 0.2;
      // multiples of scale / 2 land on ties; the range goes beyond both types' saturation
      const x = f32([n], Array.from({ length: n }, () => Math.round((r() - 0.5) * 800) * (scale / 2)));
      const feeds = { x, qi: randomTensor('int8', [n], r, -128, 127), qu: randomTensor('uint8', [n], r, 0, 255) };
      const zi = Math.round((r() - 0.5) * 40), zu = 100 + Math.round(r() * 50);
      await checkBothTargets({
        opset: 13,
        inputs: [{ name: 'x', dtype: 'float32', shape: [n] }, { name: 'qi', dtype: 'int8', shape: [n] }, { name: 'qu', dtype: 'uint8', shape: [n] }],
        outputs: ['yi', 'yu', 'y0', 'di', 'du', 'd0'].map((name) => ({ name })),
        initializers: { s: f32([], [scale]), zi: scalarOf('int8', zi), zu: scalarOf('uint8', zu) },
        nodes: [
          { op: 'QuantizeLinear', inputs: ['x', 's', 'zi'], outputs: ['yi'] },
          { op: 'QuantizeLinear', inputs: ['x', 's', 'zu'], outputs: ['yu'] },
          { op: 'QuantizeLinear', inputs: ['x', 's'], outputs: ['y0'] },
          { op: 'DequantizeLinear', inputs: ['qi', 's', 'zi'], outputs: ['di'] },
          { op: 'DequantizeLinear', inputs: ['qu', 's', 'zu'], outputs: ['du'] },
          { op: 'DequantizeLinear', inputs: ['qi', 's'], outputs: ['d0'] },
        ],
      }, feeds, 0, 0);
    });
  }
});
