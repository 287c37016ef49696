// The int8 lookup fusions of src/passes/fuse-int8-lookups.ts on QDQ graphs made with the builder, against
// onnxruntime-node (the DQ -> float op -> Q graph, run as specified) and the spec's arithmetic written out here, on
// both targets, int8 and uint8, random shapes: SiLU's Mul(x, Sigmoid(x)) and other one-variable Add / Mul as one
// table, lookup chains, a requantization after MaxPool moved before it, a concat input's requantization moved into
// the convolution that makes it. Each test also checks that the fusion took place (the report's op counts).

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { encodeModel, type ModelSpec, type NodeSpec } from '../../src/onnx/encode.js';
import { randomTensor, rng } from '../helpers/oracle.js';
import { checkInt8, deq, quant, scalarF32, scalarQ, type Q } from '../helpers/quant-ref.js';
import { qlinearConv2dRef } from '../helpers/quant-reference.js';

const TYPES = ['int8', 'uint8'] as const;
const f = Math.fround;
const sigmoid = (v: number) => f(1 / f(1 + f(Math.exp(-v))));
const tanh = (v: number) => f(Math.tanh(v));
const range = (dt: DType): [number, number] => (dt === 'int8' ? [-128, 127] : [0, 255]);
const typed = (dt: DType, values: number[]) => (dt === 'int8' ? Int8Array.from(values) : Uint8Array.from(values));
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

/** Initializers for the scale and zero point of q, named `${p}_s` and `${p}_z`. */
const qInits = (p: string, q: Q): Record<string, Tensor> => ({ [`${p}_s`]: scalarF32(q.scale), [`${p}_z`]: scalarQ(q.dtype, q.zp) });
const dqNode = (x: string, p: string, y: string): NodeSpec => ({ op: 'DequantizeLinear', inputs: [x, `${p}_s`, `${p}_z`], outputs: [y] });
const qNode = (x: string, p: string, y: string): NodeSpec => ({ op: 'QuantizeLinear', inputs: [x, `${p}_s`, `${p}_z`], outputs: [y] });

/** A random shape of rank 2 to 4 with odd sizes (the lookup loop's 32-, 16- and 1-byte steps). */
function randomShape(r: () => number): number[] {
  const rank = 2 + Math.floor(r() * 3);
  return Array.from({ length: rank }, (_, i) => 1 + Math.floor(r() * (i === rank - 1 ? 41 : 6)));
}

async function opsOf(spec: ModelSpec): Promise<Record<string, number>> {
  return (await compile(encodeModel(spec))).report.ops;
}

describe('one-variable binaries become one table', () => {
  for (const dt of TYPES) {
    for (const [op, order] of [['Mul', 'x*sig'], ['Mul', 'sig*x'], ['Add', 'x+sig']] as const) {
      it(`${op} of x and Sigmoid(x) (${order}), ${dt}: SiLU's pattern`, async () => {
        const r = rng(op.length * 13 + order.charCodeAt(1) + (dt === 'int8' ? 0 : 7));
        const shape = randomShape(r);
        const [lo, hi] = range(dt);
        const px: Q = { scale: 0.02 + 0.05 * r(), zp: dt === 'int8' ? -11 : 117, dtype: dt };
        const ps: Q = { scale: 1 / 256 + 0.001 * r(), zp: lo, dtype: dt };
        const py: Q = { scale: op === 'Mul' ? px.scale * 0.6 : px.scale * 1.1, zp: dt === 'int8' ? -40 : 90, dtype: dt };
        const x = randomTensor(dt, shape, r, lo, hi);
        for (let i = 0; i < Math.min(256, numel(shape)); i++) x.data[i] = lo + i; // every value that fits
        const operands = order === 'sig*x' ? ['sf', 'xf'] : ['xf', 'sf'];
        const spec: ModelSpec = {
          opset: 13, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }],
          initializers: { ...qInits('x', px), ...qInits('s', ps), ...qInits('y', py) },
          nodes: [
            dqNode('x', 'x', 'xf'), { op: 'Sigmoid', inputs: ['xf'], outputs: ['sg'] }, qNode('sg', 's', 'sq'), dqNode('sq', 's', 'sf'),
            { op, inputs: operands, outputs: ['yf'] }, qNode('yf', 'y', 'y'),
          ],
        };
        const ops = await opsOf(spec);
        expect(ops.QLinearLookup, 'one table').toBe(1);
        expect(ops.QLinearMul ?? ops.QLinearAdd, 'no int8 binary left').toBeUndefined();
        const ref = Array.from(x.data, (v) => {
          const fx = deq(Number(v), px), fs = deq(quant(sigmoid(fx), ps), ps);
          const [a, b] = order === 'sig*x' ? [fs, fx] : [fx, fs];
          return quant(op === 'Mul' ? f(a * b) : f(a + b), py);
        });
        await checkInt8(spec, { x }, { y: { data: typed(dt, ref), shape } });
      });
    }
  }

  it('the sigmoid also a graph output: it stays for that output, the Mul is still one table of x', async () => {
    const dt = 'uint8';
    const r = rng(9);
    const px: Q = { scale: 0.05, zp: 128, dtype: dt }, ps: Q = { scale: 1 / 255, zp: 0, dtype: dt }, py: Q = { scale: 0.03, zp: 10, dtype: dt };
    const shape = [4, 37];
    const x = randomTensor(dt, shape, r, 0, 255);
    const spec: ModelSpec = {
      opset: 13, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }, { name: 'sq' }],
      initializers: { ...qInits('x', px), ...qInits('s', ps), ...qInits('y', py) },
      nodes: [
        dqNode('x', 'x', 'xf'), { op: 'Sigmoid', inputs: ['xf'], outputs: ['sg'] }, qNode('sg', 's', 'sq'), dqNode('sq', 's', 'sf'),
        { op: 'Mul', inputs: ['xf', 'sf'], outputs: ['yf'] }, qNode('yf', 'y', 'y'),
      ],
    };
    const ops = await opsOf(spec);
    expect(ops.QLinearLookup).toBe(2);
    expect(ops.QLinearMul).toBeUndefined();
    const sq = Array.from(x.data, (v) => quant(sigmoid(deq(Number(v), px)), ps));
    const y = Array.from(x.data, (v, i) => quant(f(deq(Number(v), px) * deq(sq[i], ps)), py));
    await checkInt8(spec, { x }, { y: { data: typed(dt, y), shape }, sq: { data: typed(dt, sq), shape } });
  });
});

describe('lookup chains and MaxPool', () => {
  for (const dt of TYPES) {
    it(`Tanh -> Q -> DQ -> Sigmoid -> Q is one table, ${dt}`, async () => {
      const r = rng(dt === 'int8' ? 21 : 22);
      const shape = randomShape(r);
      const [lo, hi] = range(dt);
      const px: Q = { scale: 0.03, zp: dt === 'int8' ? 5 : 130, dtype: dt };
      const pt: Q = { scale: 1 / 128, zp: dt === 'int8' ? 0 : 128, dtype: dt };
      const py: Q = { scale: 1 / 255, zp: lo, dtype: dt };
      const x = randomTensor(dt, shape, r, lo, hi);
      const spec: ModelSpec = {
        opset: 13, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }],
        initializers: { ...qInits('x', px), ...qInits('t', pt), ...qInits('y', py) },
        nodes: [
          dqNode('x', 'x', 'xf'), { op: 'Tanh', inputs: ['xf'], outputs: ['tf'] }, qNode('tf', 't', 'tq'), dqNode('tq', 't', 'tf2'),
          { op: 'Sigmoid', inputs: ['tf2'], outputs: ['yf'] }, qNode('yf', 'y', 'y'),
        ],
      };
      expect((await opsOf(spec)).QLinearLookup).toBe(1);
      const ref = Array.from(x.data, (v) => quant(sigmoid(deq(quant(tanh(deq(Number(v), px)), pt), pt)), py));
      await checkInt8(spec, { x }, { y: { data: typed(dt, ref), shape } });
    });

    it(`Sigmoid -> Q -> DQ -> MaxPool -> Q of another scale: the requantization moves before the pool, ${dt}`, async () => {
      const r = rng(dt === 'int8' ? 31 : 32);
      const shape = [1 + Math.floor(r() * 2), 1 + Math.floor(r() * 4), 5 + Math.floor(r() * 12), 5 + Math.floor(r() * 30)];
      const [lo, hi] = range(dt);
      const px: Q = { scale: 0.04, zp: dt === 'int8' ? -2 : 120, dtype: dt };
      const ps: Q = { scale: 1 / 256, zp: lo, dtype: dt };
      const py: Q = { scale: 1 / 200, zp: dt === 'int8' ? -100 : 20, dtype: dt };
      const x = randomTensor(dt, shape, r, lo, hi);
      const attrs = { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] };
      const spec: ModelSpec = {
        opset: 13, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }],
        initializers: { ...qInits('x', px), ...qInits('s', ps), ...qInits('y', py) },
        nodes: [
          dqNode('x', 'x', 'xf'), { op: 'Sigmoid', inputs: ['xf'], outputs: ['sg'] }, qNode('sg', 's', 'sq'), dqNode('sq', 's', 'sf'),
          { op: 'MaxPool', inputs: ['sf'], outputs: ['pf'], attrs }, qNode('pf', 'y', 'y'),
        ],
      };
      const ops = await opsOf(spec);
      expect(ops.QLinearLookup, 'the sigmoid and the requantization in one table').toBe(1);
      expect(ops.MaxPool).toBe(1);
      // the spec: sigmoid's quantized values, max pooled (padding never wins), requantized
      const s = Array.from(x.data, (v) => quant(sigmoid(deq(Number(v), px)), ps));
      const [N, C, H, W] = shape, OH = Math.floor((H + 2 - 3) / 2) + 1, OW = Math.floor((W + 2 - 3) / 2) + 1;
      const ref: number[] = [];
      for (let p = 0; p < N * C; p++) for (let oy = 0; oy < OH; oy++) for (let ox = 0; ox < OW; ox++) {
        let m = -Infinity;
        for (let ky = 0; ky < 3; ky++) for (let kx = 0; kx < 3; kx++) {
          const iy = oy * 2 - 1 + ky, ix = ox * 2 - 1 + kx;
          if (iy >= 0 && iy < H && ix >= 0 && ix < W) m = Math.max(m, s[(p * H + iy) * W + ix]);
        }
        ref.push(quant(deq(m, ps), py));
      }
      await checkInt8(spec, { x }, { y: { data: typed(dt, ref), shape: [N, C, OH, OW] } });
    });
  }
});

describe('a QLinearConcat input quantized unlike the output', () => {
  for (const dt of TYPES) {
    for (const relu of [false, true]) {
      it(`QLinearConv outputs of other scales${relu ? ', one through a Relu (two roundings)' : ''}, ${dt}: exact, the concat copies`, async () => {
        const r = rng((dt === 'int8' ? 41 : 42) + (relu ? 10 : 0));
        const [lo, hi] = range(dt);
        const shape = [1, 3 + Math.floor(r() * 4), 4 + Math.floor(r() * 6), 4 + Math.floor(r() * 20)];
        const x = randomTensor(dt, shape, r, lo, hi);
        const couts = [2 + Math.floor(r() * 5), 2 + Math.floor(r() * 5)];
        const px: Q = { scale: 0.03, zp: dt === 'int8' ? 1 : 125, dtype: dt };
        const pc: Q[] = [{ scale: 0.11, zp: dt === 'int8' ? 3 : 128, dtype: dt }, { scale: 0.07, zp: dt === 'int8' ? -6 : 119, dtype: dt }];
        const pr: Q = { scale: 0.05, zp: lo, dtype: dt };
        const py: Q = { scale: 0.09, zp: dt === 'int8' ? -20 : 100, dtype: dt };
        const inits: Record<string, Tensor> = { ...qInits('x', px), ...qInits('c0', pc[0]), ...qInits('c1', pc[1]), ...qInits('r', pr), ...qInits('y', py) };
        const nodes: NodeSpec[] = [];
        const convs = couts.map((cout, i) => {
          const w = randomTensor('int8', [cout, shape[1], 3, 3], r, -127, 127);
          const ws = scalarF32(0.004 + 0.002 * i), wz = scalarQ('int8', 0);
          const bias = randomTensor('int32', [cout], r, -2000, 2000);
          Object.assign(inits, { [`w${i}`]: w, [`ws${i}`]: ws, [`wz${i}`]: wz, [`b${i}`]: bias });
          nodes.push({ op: 'QLinearConv', inputs: ['x', 'x_s', 'x_z', `w${i}`, `ws${i}`, `wz${i}`, `c${i}_s`, `c${i}_z`, `b${i}`], outputs: [`c${i}`], attrs: { pads: [1, 1, 1, 1] } });
          return qlinearConv2dRef(x, inits.x_s, inits.x_z, w, ws, wz, inits[`c${i}_s`], inits[`c${i}_z`], bias, { pads: [1, 1, 1, 1] });
        });
        nodes.push(dqNode('c0', 'c0', 'f0'));
        if (relu) nodes.push(dqNode('c1', 'c1', 'g1'), { op: 'Relu', inputs: ['g1'], outputs: ['h1'] }, qNode('h1', 'r', 'r1'), dqNode('r1', 'r', 'f1'));
        else nodes.push(dqNode('c1', 'c1', 'f1'));
        nodes.push({ op: 'Concat', inputs: ['f0', 'f1'], outputs: ['yf'], attrs: { axis: 1 } }, qNode('yf', 'y', 'y'));
        const spec: ModelSpec = { opset: 13, inputs: [{ name: 'x', dtype: dt, shape }], outputs: [{ name: 'y' }], initializers: inits, nodes };
        const ops = await opsOf(spec);
        expect(ops.QLinearConcat).toBe(1);
        // a single requantization goes into the convolution's epilogue; after a Relu's own rounding it is a lookup
        expect(ops.QLinearLookup).toBe(relu ? 1 : undefined);
        // the spec: each conv's requantization, (the Relu's DQ -> Relu -> Q), then DQ -> Concat -> Q
        const [H, W] = [shape[2], shape[3]];
        const parts = convs.map((c, i) => Array.from(c.data as ArrayLike<number>, (v) => {
          const t = relu && i === 1 ? quant(Math.max(deq(v, pc[1]), 0), pr) : v;
          return quant(deq(t, relu && i === 1 ? pr : pc[i]), py);
        }));
        const ref = [...parts[0], ...parts[1]];
        // onnxruntime's QLinearConv may round its accumulator's requantization differently by one unit, which the
        // concat's requantization can carry: the spec reference here is exact, onnxruntime within one unit of it
        await checkInt8(spec, { x }, { y: { data: typed(dt, ref), shape: [1, couts[0] + couts[1], H, W] } }, true);
      });
    }
  }
});
