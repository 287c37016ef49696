// int8 element-wise operators against onnxruntime-node and the spec arithmetic, both targets: QLinearLookup
// (internal), com.microsoft QLinearAdd / QLinearMul / QLinearSigmoid / QLinearLeakyRelu.

import { describe, expect, it } from 'vitest';
import { INTERNAL_DOMAIN } from '../../ops/index.js';
import { lookupTable } from '../../ops/qlinear-lookup.js';
import type { Tensor } from '../../src/ir/graph.js';
import { encodeModel, type ModelSpec } from '../../src/onnx/encode.js';
import { rng, runOurs, type Outputs } from '../helpers/oracle.js';
import { broadcastIndex, checkInt8, deq, int8Tensor, quant, scalarF32, scalarQ, type Q } from '../helpers/quant-ref.js';

const TYPES = ['int8', 'uint8'] as const;
const numel = (s: number[]) => s.reduce((a, b) => a * b, 1);

function qInputs(prefix: string, q: Q, withZp: boolean): Record<string, Tensor> {
  return { [`${prefix}_s`]: scalarF32(q.scale), ...(withZp ? { [`${prefix}_z`]: scalarQ(q.dtype, q.zp) } : {}) };
}

describe('QLinearLookup (internal)', () => {
  for (const dt of TYPES) {
    it(`y = table[x] on random ${dt} tables, odd sizes, both targets`, async () => {
      const r = rng(dt === 'int8' ? 11 : 12);
      for (const [n, outDt] of [[1, dt], [15, dt], [16, 'int8'], [17, 'uint8'], [50, dt], [257, dt], [1000, dt === 'int8' ? 'uint8' : 'int8']] as const) {
        const table = int8Tensor(outDt, [256], r);
        const x = int8Tensor(dt, [n], r);
        const spec: ModelSpec = {
          inputs: [{ name: 'x', dtype: dt, shape: [n] }], outputs: [{ name: 'y' }],
          initializers: { t: table },
          nodes: [{ op: 'QLinearLookup', domain: INTERNAL_DOMAIN, inputs: ['x', 't'], outputs: ['y'] }],
        };
        const model = encodeModel(spec);
        for (const target of ['simd', 'scalar'] as const) {
          const y = (await runOurs(model, { x }, { target })).y;
          expect(y.data.constructor.name).toBe(outDt === 'int8' ? 'Int8Array' : 'Uint8Array');
          const bytes = new Uint8Array(x.data.buffer, x.data.byteOffset, n);
          const want = Array.from(bytes, (b) => table.data[b]);
          expect(Array.from(y.data)).toEqual(want);
        }
      }
    });
  }

  it('lookupTable(Sigmoid) in QLinearLookup matches DequantizeLinear -> Sigmoid -> QuantizeLinear in onnxruntime', async () => {
    const r = rng(3);
    for (const [inDt, outDt] of [['int8', 'int8'], ['uint8', 'uint8'], ['int8', 'uint8'], ['uint8', 'int8']] as const) {
      const qi: Q = { scale: 0.0625, zp: inDt === 'int8' ? -5 : 131, dtype: inDt };
      const qo: Q = { scale: 1 / 256, zp: outDt === 'int8' ? -128 : 0, dtype: outDt };
      const table = lookupTable(qi.scale, qi.zp, qi.dtype, qo.scale, qo.zp, qo.dtype, (v) => 1 / (1 + Math.exp(-v)));
      const x = int8Tensor(inDt, [2, 3, 45], r);
      const all = { ...x, shape: [256], data: inDt === 'int8' ? Int8Array.from({ length: 256 }, (_, i) => i - 128) : Uint8Array.from({ length: 256 }, (_, i) => i) };
      for (const feed of [x, all]) {
        // the oracle graph: DQ -> Sigmoid -> Q, which onnxruntime runs as specified with optimizations disabled
        const ortSpec: ModelSpec = {
          opset: 19, inputs: [{ name: 'x', dtype: inDt, shape: feed.shape }], outputs: [{ name: 'y' }],
          initializers: { ...qInputs('i', qi, true), ...qInputs('o', qo, true) },
          nodes: [
            { op: 'DequantizeLinear', inputs: ['x', 'i_s', 'i_z'], outputs: ['f'] },
            { op: 'Sigmoid', inputs: ['f'], outputs: ['g'] },
            { op: 'QuantizeLinear', inputs: ['g', 'o_s', 'o_z'], outputs: ['y'] },
          ],
        };
        const oursSpec: ModelSpec = {
          inputs: ortSpec.inputs, outputs: [{ name: 'y' }],
          initializers: { t: { dtype: outDt, shape: [256], data: outDt === 'int8' ? new Int8Array(table.buffer) : table } },
          nodes: [{ op: 'QLinearLookup', domain: INTERNAL_DOMAIN, inputs: ['x', 't'], outputs: ['y'] }],
        };
        const ref = Array.from(feed.data, (v) => quant(f32Sigmoid(deq(Number(v), qi)), qo));
        const ort = await import('../helpers/oracle.js').then((o) => o.runOrt(encodeModel(ortSpec), { x: feed }));
        expect(maxDiff(ort.y.data, ref), 'onnxruntime vs spec reference').toBeLessThanOrEqual(1);
        for (const target of ['simd', 'scalar'] as const) {
          const ours = await runOurs(encodeModel(oursSpec), { x: feed }, { target });
          expect(Array.from(ours.y.data), `${inDt}->${outDt} ${target}`).toEqual(ref);
          expect(maxDiff(ours.y.data, Array.from(ort.y.data, Number))).toBeLessThanOrEqual(1);
        }
      }
    }
  });
});

const f32Sigmoid = (v: number) => Math.fround(1 / Math.fround(1 + Math.fround(Math.exp(-v))));
const maxDiff = (a: ArrayLike<number | bigint>, b: number[]) => Math.max(0, ...b.map((v, i) => Math.abs(Number(a[i]) - v)));

describe('com.microsoft QLinearAdd / QLinearMul', () => {
  const cases: { a: number[]; b: number[]; why: string }[] = [
    { a: [3, 37], b: [3, 37], why: 'same shape, odd size' },
    { a: [2, 5, 33], b: [], why: 'scalar B' },
    { a: [], b: [4, 21], why: 'scalar A' },
    { a: [5, 19], b: [19], why: 'row broadcast' },
    { a: [4, 3, 17], b: [3, 1], why: 'column broadcast' },
    { a: [2, 1, 9], b: [1, 7, 1], why: 'both broadcast' },
    { a: [7], b: [7], why: 'shorter than one vector' },
  ];
  for (const op of ['QLinearAdd', 'QLinearMul'] as const) {
    for (const dt of TYPES) {
      it(`${op} ${dt}: ${cases.map((c) => c.why).join(', ')}`, async () => {
        const r = rng(op.length * 7 + dt.length);
        let total = 0, offOrt = 0;
        for (const [ci, c] of cases.entries()) {
          const mul = op === 'QLinearMul';
          const qa: Q = { scale: 0.05 + ci * 0.01, zp: dt === 'int8' ? 3 - ci : 120 + ci, dtype: dt };
          const qb: Q = { scale: 0.03 + ci * 0.02, zp: dt === 'int8' ? -7 + ci : 135 - ci, dtype: dt };
          // small enough a C scale that the extremes saturate
          const qc: Q = { scale: mul ? 0.09 : 0.045, zp: dt === 'int8' ? 1 + ci : 128 - ci, dtype: dt };
          // the zero points are optional (0); onnxruntime's type inference needs them for int8, so it gets zeros
          const omitZp = ci === 2;
          if (omitZp) { qa.zp = 0; qb.zp = 0; qc.zp = 0; }
          const out = broadcastShape(c.a, c.b);
          const a = int8Tensor(dt, c.a, r), b = int8Tensor(dt, c.b, r);
          const z = (p: string) => (omitZp ? '' : `${p}_z`);
          const spec: ModelSpec = {
            inputs: [{ name: 'a', dtype: dt, shape: c.a }, { name: 'b', dtype: dt, shape: c.b }], outputs: [{ name: 'c' }],
            initializers: { ...qInputs('a', qa, !omitZp), ...qInputs('b', qb, !omitZp), ...qInputs('c', qc, !omitZp) },
            nodes: [{ op, domain: 'com.microsoft', inputs: ['a', 'a_s', z('a'), 'b', 'b_s', z('b'), 'c_s', z('c')], outputs: ['c'] }],
          };
          const ref = Array.from({ length: numel(out) }, (_, i) => {
            const fa = deq(Number(a.data[broadcastIndex(i, c.a, out)]), qa), fb = deq(Number(b.data[broadcastIndex(i, c.b, out)]), qb);
            return quant(mul ? Math.fround(fa * fb) : Math.fround(fa + fb), qc);
          });
          const reference: Outputs = { c: { data: (dt === 'int8' ? Int8Array : Uint8Array).from(ref), shape: out } };
          const withZeros: ModelSpec = { ...spec, initializers: { ...qInputs('a', qa, true), ...qInputs('b', qb, true), ...qInputs('c', qc, true) },
            nodes: [{ ...spec.nodes[0], inputs: ['a', 'a_s', 'a_z', 'b', 'b_s', 'b_z', 'c_s', 'c_z'] }] };
          const s = await checkInt8(spec, { a, b }, reference, true, withZeros);
          total += s.elements; offOrt += s.offFromOrt;
        }
        // onnxruntime's int8 kernels may round a tie the other way; nearly every element agrees exactly
        expect(offOrt / total).toBeLessThan(0.05);
      });
    }
  }
});

function broadcastShape(a: number[], b: number[]): number[] {
  const r = Math.max(a.length, b.length);
  return Array.from({ length: r }, (_, i) => Math.max(a[a.length - r + i] ?? 1, b[b.length - r + i] ?? 1));
}

describe('QLinearAdd / QLinearMul rounding: exact ties and saturation on every pair of values', () => {
  // scales that are powers of two make many results exact halves: round half to even decides them, and a small
  // C scale saturates most of the range (the simd path's magic-number rounding against the scalar path and the spec)
  for (const op of ['QLinearAdd', 'QLinearMul'] as const) {
    for (const dt of TYPES) {
      it(`${op} ${dt}: all 65536 (a, b) pairs`, async () => {
        const qa: Q = { scale: 0.5, zp: dt === 'int8' ? 1 : 127, dtype: dt };
        const qb: Q = { scale: 0.25, zp: dt === 'int8' ? -2 : 130, dtype: dt };
        const qc: Q = { scale: op === 'QLinearMul' ? 4 : 1, zp: dt === 'int8' ? 3 : 125, dtype: dt };
        const lo = dt === 'int8' ? -128 : 0;
        const a = { dtype: dt, shape: [256, 256], data: (dt === 'int8' ? Int8Array : Uint8Array).from({ length: 65536 }, (_, i) => lo + (i >> 8)) };
        const b = { dtype: dt, shape: [256, 256], data: (dt === 'int8' ? Int8Array : Uint8Array).from({ length: 65536 }, (_, i) => lo + (i & 255)) };
        const spec: ModelSpec = {
          inputs: [{ name: 'a', dtype: dt, shape: a.shape }, { name: 'b', dtype: dt, shape: b.shape }], outputs: [{ name: 'c' }],
          initializers: { ...qInputs('a', qa, true), ...qInputs('b', qb, true), ...qInputs('c', qc, true) },
          nodes: [{ op, domain: 'com.microsoft', inputs: ['a', 'a_s', 'a_z', 'b', 'b_s', 'b_z', 'c_s', 'c_z'], outputs: ['c'] }],
        };
        const ref = Array.from({ length: 65536 }, (_, i) => {
          const fa = deq(Number(a.data[i]), qa), fb = deq(Number(b.data[i]), qb);
          return quant(op === 'QLinearMul' ? Math.fround(fa * fb) : Math.fround(fa + fb), qc);
        });
        for (const target of ['simd', 'scalar'] as const) {
          const y = (await runOurs(encodeModel(spec), { a, b }, { target })).c;
          expect(Array.from(y.data), target).toEqual(ref);
        }
      });
    }
  }
});

describe('com.microsoft QLinearSigmoid / QLinearLeakyRelu', () => {
  for (const dt of TYPES) {
    for (const op of ['QLinearSigmoid', 'QLinearLeakyRelu'] as const) {
      it(`${op} ${dt}: every input value, odd shape`, async () => {
        const r = rng(op.length + (dt === 'int8' ? 1 : 2));
        const qx: Q = { scale: 0.04, zp: dt === 'int8' ? 10 : 100, dtype: dt };
        const qy: Q = op === 'QLinearSigmoid' ? { scale: 1 / 255, zp: dt === 'int8' ? -128 : 0, dtype: dt } : { scale: 0.03, zp: dt === 'int8' ? 20 : 110, dtype: dt };
        const alpha = 0.1;
        const f = op === 'QLinearSigmoid' ? f32Sigmoid : (v: number) => (v >= 0 ? v : Math.fround(Math.fround(alpha) * v));
        const x = int8Tensor(dt, [3, 5, 23], r);
        for (let i = 0; i < 256; i++) x.data[i] = i - (dt === 'int8' ? 128 : 0); // every byte value
        const spec: ModelSpec = {
          inputs: [{ name: 'x', dtype: dt, shape: x.shape }], outputs: [{ name: 'y' }],
          initializers: { ...qInputs('x', qx, true), ...qInputs('y', qy, true) },
          nodes: [{ op, domain: 'com.microsoft', inputs: ['x', 'x_s', 'x_z', 'y_s', 'y_z'], outputs: ['y'], attrs: op === 'QLinearLeakyRelu' ? { alpha } : {} }],
        };
        const ref = Array.from(x.data, (v) => quant(f(deq(Number(v), qx)), qy));
        const s = await checkInt8(spec, { x }, { y: { data: (dt === 'int8' ? Int8Array : Uint8Array).from(ref), shape: x.shape } }, true);
        expect(s.offFromOrt / s.elements).toBeLessThan(0.05);
      });
    }
  }
});

describe('int8 operators: bad input is a clear CompileError', () => {
  const compileError = async (spec: ModelSpec) => {
    const { compile } = await import('../../src/index.js');
    return compile(encodeModel(spec)).then(() => undefined, (e: { code: string; message: string; nodes?: unknown }) => e);
  };
  const x = { name: 'x', dtype: 'int8' as const, shape: [4] };
  const inits = { s: scalarF32(0.1), z: scalarQ('int8', 0), zu: scalarQ('uint8', 0), s0: scalarF32(0) };

  it('a registered com.microsoft op compiles next to an unregistered one, which alone is listed', async () => {
    const e = await compileError({
      inputs: [x], outputs: [{ name: 'y' }], initializers: inits,
      nodes: [
        { op: 'QLinearSigmoid', domain: 'com.microsoft', inputs: ['x', 's', 'z', 's', 'z'], outputs: ['a'], name: 'sig' },
        { op: 'QLinearSoftmax', domain: 'com.microsoft', inputs: ['a', 's', 'z', 's', 'z'], outputs: ['y'], name: 'smax' },
      ],
    });
    expect(e?.code).toBe('UNSUPPORTED_DOMAIN');
    expect(e?.message).toContain('"smax" (com.microsoft::QLinearSoftmax)');
    expect(e?.message).not.toContain('sig');
    expect(e?.nodes).toEqual([{ name: 'smax', opType: 'com.microsoft::QLinearSoftmax' }]);
  });

  it('wrong zero-point type, zero scale, per-channel scale, table of the wrong size', async () => {
    const cases: [ModelSpec['nodes'][number], Record<string, Tensor>, RegExp][] = [
      [{ op: 'QLinearSigmoid', domain: 'com.microsoft', inputs: ['x', 's', 'zu', 's', 'z'], outputs: ['y'] }, {}, /X_zero_point must be int8/],
      [{ op: 'QLinearLeakyRelu', domain: 'com.microsoft', inputs: ['x', 's0', 'z', 's', 'z'], outputs: ['y'] }, {}, /X_scale must be a positive/],
      [{ op: 'QLinearAdd', domain: 'com.microsoft', inputs: ['x', 'sv', 'z', 'x', 's', 'z', 's', 'z'], outputs: ['y'] }, { sv: { dtype: 'float32', shape: [4], data: new Float32Array(4).fill(0.1) } }, /A_scale must hold one value/],
      [{ op: 'QLinearLookup', domain: INTERNAL_DOMAIN, inputs: ['x', 't'], outputs: ['y'] }, { t: int8Tensor('int8', [255], rng(1)) }, /table must be 256/],
    ];
    for (const [node, extra, message] of cases) {
      const e = await compileError({ inputs: [x], outputs: [{ name: 'y' }], initializers: { ...inits, ...extra }, nodes: [node] });
      expect(e?.code, String(message)).toBe('INVALID_MODEL');
      expect(e?.message).toMatch(message);
    }
  });
});

describe('int8 operators on constant inputs (folded at compile time)', () => {
  for (const dt of TYPES) {
    it(`QLinearAdd, QLinearMul, QLinearSigmoid, QLinearLookup ${dt}: the folded bytes equal the kernel's`, async () => {
      const r = rng(dt === 'int8' ? 21 : 22);
      const q: Q = { scale: 0.07, zp: dt === 'int8' ? -9 : 140, dtype: dt };
      const a = int8Tensor(dt, [3, 1, 5], r), b = int8Tensor(dt, [4, 1], r), t = int8Tensor(dt, [256], r);
      const nodes: ModelSpec['nodes'] = [
        { op: 'QLinearAdd', domain: 'com.microsoft', inputs: ['X', 's', 'z', 'B', 's', 'z', 's', 'z'], outputs: ['add'] },
        { op: 'QLinearMul', domain: 'com.microsoft', inputs: ['X', 's', 'z', 'B', 's', 'z', 's', 'z'], outputs: ['mul'] },
        { op: 'QLinearSigmoid', domain: 'com.microsoft', inputs: ['X', 's', 'z', 's', 'z'], outputs: ['sig'] },
        { op: 'QLinearLookup', domain: INTERNAL_DOMAIN, inputs: ['X', 't'], outputs: ['lut'] },
      ];
      const outputs = ['add', 'mul', 'sig', 'lut'].map((name) => ({ name }));
      const initializers = { s: scalarF32(q.scale), z: scalarQ(dt, q.zp), t, B: b };
      // the same nodes once on constants (folded) and once on a graph input (run by the kernels)
      const folded = await runOurs(encodeModel({ inputs: [], outputs, initializers: { ...initializers, X: a }, nodes }), {});
      for (const target of ['simd', 'scalar'] as const) {
        const run = await runOurs(encodeModel({ inputs: [{ name: 'X', dtype: dt, shape: a.shape }], outputs, initializers, nodes }), { X: a }, { target });
        for (const { name } of outputs) {
          expect(folded[name].shape, name).toEqual(run[name].shape);
          expect(Array.from(folded[name].data), `${name} ${target}`).toEqual(Array.from(run[name].data));
        }
      }
    });
  }
});

describe('a chain of int8 operators (buffers reused in place)', () => {
  for (const dt of TYPES) {
    it(`${dt}: QLinearSigmoid -> QLinearLeakyRelu -> QLinearAdd -> QLinearMul`, async () => {
      const r = rng(dt === 'int8' ? 31 : 32);
      const shape = [2, 3, 41];
      const q = (scale: number, zp8: number, zpu: number): Q => ({ scale, zp: dt === 'int8' ? zp8 : zpu, dtype: dt });
      const [q0, q1, q2, q3, q4] = [q(0.05, 3, 120), q(1 / 255, -128, 0), q(0.004, -20, 100), q(0.01, 7, 140), q(0.002, -1, 128)];
      const x = int8Tensor(dt, shape, r), b = int8Tensor(dt, [41], r);
      const ps = [q0, q1, q2, q3, q4];
      const initializers = Object.fromEntries(ps.flatMap((p, i) => [[`s${i}`, scalarF32(p.scale)], [`z${i}`, scalarQ(dt, p.zp)]]));
      const spec: ModelSpec = {
        inputs: [{ name: 'x', dtype: dt, shape }, { name: 'b', dtype: dt, shape: [41] }], outputs: [{ name: 'y' }], initializers,
        nodes: [
          { op: 'QLinearSigmoid', domain: 'com.microsoft', inputs: ['x', 's0', 'z0', 's1', 'z1'], outputs: ['t1'] },
          { op: 'QLinearLeakyRelu', domain: 'com.microsoft', inputs: ['t1', 's1', 'z1', 's2', 'z2'], outputs: ['t2'], attrs: { alpha: 0.2 } },
          { op: 'QLinearAdd', domain: 'com.microsoft', inputs: ['t2', 's2', 'z2', 'b', 's0', 'z0', 's3', 'z3'], outputs: ['t3'] },
          { op: 'QLinearMul', domain: 'com.microsoft', inputs: ['t3', 's3', 'z3', 't2', 's2', 'z2', 's4', 'z4'], outputs: ['y'] },
        ],
      };
      const ref = Array.from(x.data, (v, i) => {
        const t1 = quant(f32Sigmoid(deq(Number(v), q0)), q1);
        const f2 = deq(t1, q1);
        const t2 = quant(f2 >= 0 ? f2 : Math.fround(Math.fround(0.2) * f2), q2);
        const t3 = quant(Math.fround(deq(t2, q2) + deq(Number(b.data[i % 41]), q0)), q3);
        return quant(Math.fround(deq(t3, q3) * deq(t2, q2)), q4);
      });
      await checkInt8(spec, { x, b }, { y: { data: (dt === 'int8' ? Int8Array : Uint8Array).from(ref), shape } }, true);
    });
  }
});
