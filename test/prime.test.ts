// The kernels' prime (EmitCtx.prime, run by runtime-min before the first inference) must not change how a kernel
// is compiled. When a prime argument was the same constant that every call of a model passed (a GEMV whose only
// K was the prime's 64), binaryen's dead-argument pass folded it into the kernel and V8 ran that loop at half
// speed. codegen/module.ts now passes the prime's arguments through a zero read from memory; these tests compile
// models whose calls pass exactly a prime's constants and a neighbour that does not, and ask for the same
// function signatures. Each pair differed before that change.

import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { compile } from '../src/index.js';
import type { Tensor } from '../src/ir/graph.js';
import { encodeModel } from '../src/onnx/encode.js';
import { randomTensor, rng } from './helpers/oracle.js';

/** Parameter counts of every function of the optimized module, in order. */
async function signatures(model: Uint8Array, target: 'simd' | 'scalar'): Promise<number[]> {
  const { wasm } = await compile(model, { target });
  const mod = binaryen.readBinary(wasm);
  const text = mod.emitText();
  mod.dispose();
  return text.split('\n (func ').slice(1).map((f) => (f.split('\n')[0].match(/\(param /g) ?? []).length);
}

const r = rng(2718);

function conv(cin: number, cout: number, size: number, k: number, attrs: Record<string, number[]> = {}): Uint8Array {
  return encodeModel({
    opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, cin, size, size] }], outputs: [{ name: 'y' }],
    initializers: { w: randomTensor('float32', [cout, cin, k, k], r) },
    nodes: [{ op: 'Conv', inputs: ['x', 'w'], outputs: ['y'], attrs }],
  });
}

/** A pointwise Conv as onnxruntime's quantize_static writes it: its int8 GEMM has K = cin. */
function qdqPointwise(cin: number, cout: number, size: number): Uint8Array {
  const t = (dtype: Tensor['dtype'], shape: number[], data: Tensor['data']): Tensor => ({ dtype, shape, data });
  return encodeModel({
    opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [1, cin, size, size] }], outputs: [{ name: 'y' }],
    initializers: {
      xs: t('float32', [], Float32Array.of(2 / 255)), xz: t('int8', [], Int8Array.of(0)),
      ys: t('float32', [], Float32Array.of(0.05)), yz: t('int8', [], Int8Array.of(-10)),
      w: t('int8', [cout, cin, 1, 1], Int8Array.from({ length: cout * cin }, () => Math.floor(r() * 255) - 127)),
      ws: t('float32', [cout], Float32Array.from({ length: cout }, (_, c) => 0.004 + 0.0001 * c)), wz: t('int8', [cout], new Int8Array(cout)),
    },
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xq'] },
      { op: 'DequantizeLinear', inputs: ['xq', 'xs', 'xz'], outputs: ['xd'] },
      { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['wd'], attrs: { axis: 0 } },
      { op: 'Conv', inputs: ['xd', 'wd'], outputs: ['c'] },
      { op: 'QuantizeLinear', inputs: ['c', 'ys', 'yz'], outputs: ['cq'] },
      { op: 'DequantizeLinear', inputs: ['cq', 'ys', 'yz'], outputs: ['y'] },
    ],
  });
}

describe('a kernel compiles the same whether or not a model passes its prime\'s constants', () => {
  it('float GEMM: a pointwise Conv with K = 64 (the prime\'s depth) and with K = 60', async () => {
    const primeLike = await signatures(conv(64, 16, 8, 1), 'simd');
    expect(primeLike.length).toBeGreaterThanOrEqual(3);
    expect(primeLike).toEqual(await signatures(conv(60, 16, 8, 1), 'simd'));
  });
  it('int8 GEMM: a QDQ pointwise Conv with K = 64 and with K = 68', async () => {
    expect(await signatures(qdqPointwise(64, 16, 8), 'simd')).toEqual(await signatures(qdqPointwise(68, 16, 8), 'simd'));
  });
  it('im2col: a 3x3 Conv at stride 1, pads 1, dilation 1 (the prime\'s geometry) and at stride 2, dilation 2', async () => {
    const pads = [1, 1, 1, 1];
    for (const target of ['simd', 'scalar'] as const) {
      expect(await signatures(conv(5, 6, 9, 3, { pads }), target))
        .toEqual(await signatures(conv(5, 6, 9, 3, { pads, strides: [2, 2], dilations: [2, 2] }), target));
    }
  });
});
