// QDQ lowering of a binary op with a one-element constant operand between a DequantizeLinear and a QuantizeLinear
// (x + 1 and x * 0.5 of an exported GELU, x / sqrt(d) of attention scores): it runs as one int8 lookup table, and
// gives the bytes of the spec's DQ -> float op -> Q pipeline (onnxruntime-node with optimizations disabled) on
// every input value, int8 and uint8, both targets. A constant of more than one element keeps the op float.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';
import { rng, runOrt } from '../helpers/oracle.js';
import { checkInt8, scalarF32, scalarQ, type Q } from '../helpers/quant-ref.js';

const CASES: [string, number][] = [['Add', 1], ['Sub', 0.3], ['Mul', 0.5], ['Div', Math.sqrt(8)], ['Pow', 2], ['Max', 0.1], ['Min', -0.2]];

/** Every value of the type, in a shuffled odd shape [3, 7, 13] (273 elements: the table's simd body and tail). */
function everyValue(dt: 'int8' | 'uint8', seed: number): Tensor {
  const r = rng(seed);
  const n = 3 * 7 * 13;
  const data = dt === 'int8' ? new Int8Array(n) : new Uint8Array(n);
  for (let i = 0; i < n; i++) data[i] = i < 256 ? i : Math.floor(r() * 256);
  return { dtype: dt, shape: [3, 7, 13], data };
}

function qdqSpec(op: string, c: Tensor, qx: Q, qy: Q): ModelSpec {
  return {
    opset: 13, inputs: [{ name: 'x', dtype: qx.dtype, shape: [3, 7, 13] }], outputs: [{ name: 'y' }],
    initializers: { x_s: scalarF32(qx.scale), x_z: scalarQ(qx.dtype, qx.zp), c, y_s: scalarF32(qy.scale), y_z: scalarQ(qy.dtype, qy.zp) },
    nodes: [
      { op: 'DequantizeLinear', inputs: ['x', 'x_s', 'x_z'], outputs: ['f'] },
      { op, inputs: ['f', 'c'], outputs: ['g'] },
      { op: 'QuantizeLinear', inputs: ['g', 'y_s', 'y_z'], outputs: ['y'] },
    ],
  };
}

describe('QDQ: binary op with a scalar constant -> int8 lookup', () => {
  for (const dt of ['int8', 'uint8'] as const) {
    for (const [i, [op, value]] of CASES.entries()) {
      it(`${dt} ${op} ${value.toFixed(3)}: lowered, equal to the spec on every value`, async () => {
        const qx: Q = { scale: 0.031 + i * 0.003, zp: dt === 'int8' ? -7 + i : 120 + i, dtype: dt };
        const qy: Q = { scale: 0.027 + i * 0.002, zp: dt === 'int8' ? 3 - i : 131 - i, dtype: dt };
        const spec = qdqSpec(op, scalarF32(value), qx, qy);
        const { report } = await compile(encodeModel(spec));
        expect(report.quantization.int8[op], `${op} runs in int8`).toBe(1);
        expect(report.ops.QLinearLookup).toBe(1);
        expect(report.ops[op]).toBeUndefined();
        const x = everyValue(dt, 7 + i);
        const reference = await runOrt(encodeModel(spec), { x });
        await checkInt8(spec, { x }, reference, true);
      });
    }
  }

  it('a per-channel constant (13 values) keeps the op float, still equal to the spec', async () => {
    const qx: Q = { scale: 0.04, zp: -2, dtype: 'int8' }, qy: Q = { scale: 0.05, zp: 4, dtype: 'int8' };
    const c: Tensor = { dtype: 'float32', shape: [13], data: Float32Array.from({ length: 13 }, (_, j) => (j - 6) * 0.1) };
    const spec = qdqSpec('Add', c, qx, qy);
    const { report } = await compile(encodeModel(spec));
    expect(report.quantization.int8.Add).toBeUndefined();
    expect(report.ops.Add).toBe(1);
    const x = everyValue('int8', 3);
    await checkInt8(spec, { x }, await runOrt(encodeModel(spec), { x }), true);
  });
});
