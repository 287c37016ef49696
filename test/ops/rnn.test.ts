// RNN / GRU / LSTM against onnxruntime-node on both targets: directions, sequence_lens, initial states, biases,
// peepholes, activation lists with alpha/beta, clip, linear_before_reset, input_forget, and layout=1; random
// configurations on the float32 'gemm-gemv' variant (hidden sizes off the vector width, batches past the GEMV's
// 4 rows), and run-time weights on the generic loops.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import type { Tensor } from '../../src/ir/graph.js';
import { encodeModel, floats, type AttrSpec, type ModelSpec } from '../../src/onnx/encode.js';
import { checkBothTargets } from '../helpers/both-targets.js';
import { expectClose, randomTensor, rng, runOrt, runOurs, type Feeds } from '../helpers/oracle.js';

type Kind = 'RNN' | 'GRU' | 'LSTM';
const GATES: Record<Kind, number> = { RNN: 1, GRU: 3, LSTM: 4 };

interface Case { kind: Kind; dir: 'forward' | 'reverse' | 'bidirectional'; attrs?: Record<string, AttrSpec>; seqLens?: boolean; init?: boolean; peep?: boolean; noBias?: boolean }

const S = 5, B = 3, I = 4, H = 3;

/** One model holding every case of a list (each node with its own weights), all outputs exposed. */
function build(cases: Case[], seed: number): { spec: ModelSpec; feeds: Feeds } {
  const r = rng(seed);
  const spec: ModelSpec = { opset: 14, inputs: [], outputs: [], nodes: [], initializers: {} };
  const feeds: Feeds = {};
  const init = spec.initializers!;
  cases.forEach((c, n) => {
    const D = c.dir === 'bidirectional' ? 2 : 1;
    const G = GATES[c.kind];
    const x = `x${n}`;
    spec.inputs.push({ name: x, dtype: 'float32', shape: [S, B, I] });
    feeds[x] = randomTensor('float32', [S, B, I], r, -2, 2);
    init[`w${n}`] = randomTensor('float32', [D, G * H, I], r, -0.8, 0.8);
    init[`r${n}`] = randomTensor('float32', [D, G * H, H], r, -0.8, 0.8);
    const ins = [x, `w${n}`, `r${n}`, '', '', '', '', ''];
    if (!c.noBias) { init[`b${n}`] = randomTensor('float32', [D, 2 * G * H], r, -0.5, 0.5); ins[3] = `b${n}`; }
    if (c.seqLens) { init[`l${n}`] = { dtype: 'int32', shape: [B], data: Int32Array.from([S, 2, 4]) }; ins[4] = `l${n}`; }
    if (c.init) {
      init[`h${n}`] = randomTensor('float32', [D, B, H], r); ins[5] = `h${n}`;
      if (c.kind === 'LSTM') { init[`c${n}`] = randomTensor('float32', [D, B, H], r); ins[6] = `c${n}`; }
    }
    if (c.peep) { init[`p${n}`] = randomTensor('float32', [D, 3 * H], r); ins[7] = `p${n}`; }
    while (ins[ins.length - 1] === '') ins.pop();
    const outs = [`y${n}`, `yh${n}`, ...(c.kind === 'LSTM' ? [`yc${n}`] : [])];
    spec.outputs.push(...outs.map((name) => ({ name })));
    spec.nodes.push({ op: c.kind, inputs: ins, outputs: outs, attrs: { hidden_size: H, direction: c.dir, ...c.attrs } });
  });
  return { spec, feeds };
}

const acts = (list: string[], alpha?: number[], beta?: number[]): Record<string, AttrSpec> => ({
  activations: list, ...(alpha ? { activation_alpha: floats(alpha) } : {}), ...(beta ? { activation_beta: floats(beta) } : {}),
});

describe('RNN family vs onnxruntime', () => {
  it('RNN: directions, sequence_lens, initial_h, activations, clip', async () => {
    const { spec, feeds } = build([
      { kind: 'RNN', dir: 'forward' },
      { kind: 'RNN', dir: 'reverse', seqLens: true, init: true },
      { kind: 'RNN', dir: 'bidirectional', seqLens: true, init: true, attrs: acts(['Relu', 'Sigmoid']) },
      { kind: 'RNN', dir: 'forward', noBias: true, attrs: { ...acts(['LeakyRelu'], [0.2]), clip: 0.7 } },
    ], 1);
    await checkBothTargets(spec, feeds, 1e-4, 1e-5);
  });

  it('GRU: linear_before_reset, directions, sequence_lens, activations', async () => {
    const { spec, feeds } = build([
      { kind: 'GRU', dir: 'forward' },
      { kind: 'GRU', dir: 'forward', attrs: { linear_before_reset: 1 }, init: true },
      { kind: 'GRU', dir: 'reverse', seqLens: true, attrs: { linear_before_reset: 1 } },
      { kind: 'GRU', dir: 'bidirectional', seqLens: true, init: true, attrs: { ...acts(['HardSigmoid', 'Softsign', 'Sigmoid', 'Tanh'], [0.3], [0.4]), clip: 1.5 } },
    ], 2);
    await checkBothTargets(spec, feeds, 1e-4, 1e-5);
  });

  it('LSTM: peepholes, input_forget, directions, sequence_lens, initial states, activations', async () => {
    const { spec, feeds } = build([
      { kind: 'LSTM', dir: 'forward' },
      { kind: 'LSTM', dir: 'forward', peep: true, init: true },
      { kind: 'LSTM', dir: 'reverse', seqLens: true, peep: true, attrs: { input_forget: 1 } },
      { kind: 'LSTM', dir: 'bidirectional', seqLens: true, init: true, peep: true, attrs: { clip: 0.9 } },
      { kind: 'LSTM', dir: 'forward', attrs: acts(['Sigmoid', 'Elu', 'Softplus'], [0.5]) },
      { kind: 'LSTM', dir: 'forward', attrs: acts(['Sigmoid', 'ScaledTanh', 'Affine'], [0.7, 0.6], [1.2, 0.1]) },
    ], 3);
    await checkBothTargets(spec, feeds, 1e-4, 1e-5);
  });

  // H = 8: the float32 kernel's gate functions store Y's rows themselves (whole vectors, two a pass)
  it('layout=1 equals layout=0 on transposed inputs and outputs', async () => {
    const r = rng(4);
    for (const [kind, H] of (['RNN', 'GRU', 'LSTM'] as Kind[]).flatMap((kd) => [3, 8].map((h) => [kd, h] as const))) {
      const D = 2, G = GATES[kind];
      const weights: Record<string, Tensor> = {
        w: randomTensor('float32', [D, G * H, I], r, -0.8, 0.8), r: randomTensor('float32', [D, G * H, H], r, -0.8, 0.8),
        b: randomTensor('float32', [D, 2 * G * H], r, -0.5, 0.5), l: { dtype: 'int32', shape: [B], data: Int32Array.from([S, 2, 4]) },
      };
      const lstm = kind === 'LSTM';
      const x = randomTensor('float32', [B, S, I], r, -2, 2);
      const h0 = randomTensor('float32', [B, D, H], r);
      const c0 = randomTensor('float32', [B, D, H], r);
      const feeds: Feeds = { x, h0, ...(lstm ? { c0 } : {}) };
      const inputs = [{ name: 'x', dtype: 'float32' as const, shape: [B, S, I] }, { name: 'h0', dtype: 'float32' as const, shape: [B, D, H] },
        ...(lstm ? [{ name: 'c0', dtype: 'float32' as const, shape: [B, D, H] }] : [])];
      const outputs = ['y', 'yh', ...(lstm ? ['yc'] : [])].map((name) => ({ name }));
      const attrs = { hidden_size: H, direction: 'bidirectional' };
      const ours = encodeModel({
        opset: 14, inputs, outputs, initializers: weights,
        nodes: [{ op: kind, inputs: ['x', 'w', 'r', 'b', 'l', 'h0', ...(lstm ? ['c0'] : [])], outputs: outputs.map((o) => o.name), attrs: { ...attrs, layout: 1 } }],
      });
      const t = (from: string, to: string, perm: number[]) => ({ op: 'Transpose', inputs: [from], outputs: [to], attrs: { perm } });
      const oracle = encodeModel({
        opset: 14, inputs, outputs, initializers: weights,
        nodes: [
          t('x', 'xt', [1, 0, 2]), t('h0', 'h0t', [1, 0, 2]), ...(lstm ? [t('c0', 'c0t', [1, 0, 2])] : []),
          { op: kind, inputs: ['xt', 'w', 'r', 'b', 'l', 'h0t', ...(lstm ? ['c0t'] : [])], outputs: ['yt', 'yht', ...(lstm ? ['yct'] : [])], attrs },
          t('yt', 'y', [2, 0, 1, 3]), t('yht', 'yh', [1, 0, 2]), ...(lstm ? [t('yct', 'yc', [1, 0, 2])] : []),
        ],
      });
      const expected = await runOrt(oracle, feeds);
      expect(expected.y.shape).toEqual([B, S, D, H]);
      for (const target of ['simd', 'scalar'] as const) expectClose(await runOurs(ours, feeds, { target }), expected, 1e-4, 1e-5);
    }
  });
});

// Layers of the zoo's sizes (their gates through codegen/mathlib.ts's gate_sigmoid / gate_tanh, 3.7e-7 at worst):
// after 50 steps the states still agree with onnxruntime's to about 1e-6.
describe('RNN family at model sizes vs onnxruntime', () => {
  const cases: { kind: Kind; S: number; I: number; H: number; attrs?: Record<string, AttrSpec> }[] = [
    { kind: 'LSTM', S: 50, I: 64, H: 128 },
    { kind: 'GRU', S: 49, I: 64, H: 64, attrs: { linear_before_reset: 1 } },
    { kind: 'GRU', S: 50, I: 128, H: 128 },
  ];
  for (const c of cases) {
    it(`${c.kind} S=${c.S} I=${c.I} H=${c.H} ${JSON.stringify(c.attrs ?? {})}: within 2e-6`, async () => {
      const r = rng(c.H + c.S);
      const G = GATES[c.kind], scale = 1 / Math.sqrt(c.H);
      const spec: ModelSpec = {
        opset: 14, inputs: [{ name: 'x', dtype: 'float32', shape: [c.S, 1, c.I] }], outputs: [{ name: 'y' }, { name: 'yh' }],
        initializers: {
          w: randomTensor('float32', [1, G * c.H, c.I], r, -scale, scale), r: randomTensor('float32', [1, G * c.H, c.H], r, -scale, scale),
          b: randomTensor('float32', [1, 2 * G * c.H], r, -scale, scale),
        },
        nodes: [{ op: c.kind, inputs: ['x', 'w', 'r', 'b'], outputs: ['y', 'yh'], attrs: { hidden_size: c.H, ...c.attrs } }],
      };
      await checkBothTargets(spec, { x: randomTensor('float32', [c.S, 1, c.I], r, -1, 1) }, 0, 2e-6);
    });
  }
});

const ACTS = ['Relu', 'Tanh', 'Sigmoid', 'Affine', 'LeakyRelu', 'ThresholdedRelu', 'ScaledTanh', 'HardSigmoid', 'Elu', 'Softsign', 'Softplus'];
const PER_DIR: Record<Kind, number> = { RNN: 1, GRU: 2, LSTM: 3 };

describe('RNN family, float32 kernel (gemm-gemv) on random configurations', () => {
  for (let seed = 1; seed <= 24; seed++) {
    const r = rng(seed * 6271);
    const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
    const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
    const kind = pick(['RNN', 'GRU', 'LSTM'] as const);
    const dir = pick(['forward', 'reverse', 'bidirectional'] as const);
    const D = dir === 'bidirectional' ? 2 : 1, G = GATES[kind];
    const Sx = int(1, 7), Bx = pick([1, 1, 2, 3, 4, 6]), Ix = int(1, 20), Hx = pick([1, 3, 4, 5, 8, int(9, 40)]);
    const seqLens = r() < 0.4, init = r() < 0.5, noBias = r() < 0.2, peep = kind === 'LSTM' && r() < 0.5;
    const attrs: Record<string, AttrSpec> = { hidden_size: Hx, direction: dir };
    if (r() < 0.4) {
      const list = Array.from({ length: PER_DIR[kind] * D }, () => pick(ACTS));
      Object.assign(attrs, acts(list, list.map(() => 0.2 + r()), list.map(() => r() - 0.5)));
    }
    if (r() < 0.3) attrs.clip = 0.5 + 2 * r();
    if (kind === 'GRU' && r() < 0.5) attrs.linear_before_reset = 1;
    if (kind === 'LSTM' && r() < 0.3) attrs.input_forget = 1;
    const name = `${kind} ${dir} S=${Sx} B=${Bx} I=${Ix} H=${Hx}${seqLens ? ' seq_lens' : ''}${init ? ' init' : ''}${peep ? ' peep' : ''}${noBias ? ' no-bias' : ''} ${JSON.stringify(attrs)}`;
    it(name, async () => {
      const init_: Record<string, Tensor> = {
        w: randomTensor('float32', [D, G * Hx, Ix], r, -0.8, 0.8), r: randomTensor('float32', [D, G * Hx, Hx], r, -0.8, 0.8),
      };
      const ins = ['x', 'w', 'r', '', '', '', '', ''];
      if (!noBias) { init_.b = randomTensor('float32', [D, 2 * G * Hx], r, -0.5, 0.5); ins[3] = 'b'; }
      if (seqLens) { init_.l = { dtype: 'int32', shape: [Bx], data: Int32Array.from({ length: Bx }, () => int(1, Sx)) }; ins[4] = 'l'; }
      if (init) {
        init_.h0 = randomTensor('float32', [D, Bx, Hx], r); ins[5] = 'h0';
        if (kind === 'LSTM') { init_.c0 = randomTensor('float32', [D, Bx, Hx], r); ins[6] = 'c0'; }
      }
      if (peep) { init_.p = randomTensor('float32', [D, 3 * Hx], r); ins[7] = 'p'; }
      while (ins[ins.length - 1] === '') ins.pop();
      const outs = ['y', 'yh', ...(kind === 'LSTM' ? ['yc'] : [])];
      const spec: ModelSpec = {
        opset: 14, inputs: [{ name: 'x', dtype: 'float32', shape: [Sx, Bx, Ix] }], outputs: outs.map((o) => ({ name: o })),
        initializers: init_, nodes: [{ op: kind, inputs: ins, outputs: outs, attrs }],
      };
      const { report } = await compile(encodeModel(spec));
      expect(report.variants).toEqual({ [`${kind}:gemm-gemv`]: 1 });
      await checkBothTargets(spec, { x: randomTensor('float32', [Sx, Bx, Ix], r, -2, 2) }, 1e-4, 1e-5);
    });
  }

  it('weights computed at run time take the generic loops, and match', async () => {
    const r = rng(77);
    const spec: ModelSpec = {
      opset: 14, outputs: [{ name: 'y' }, { name: 'yh' }, { name: 'yc' }],
      inputs: [{ name: 'x', dtype: 'float32', shape: [4, 2, 3] }, { name: 'w', dtype: 'float32', shape: [1, 20, 3] }],
      initializers: { r: randomTensor('float32', [1, 20, 5], r, -0.8, 0.8) },
      nodes: [{ op: 'LSTM', inputs: ['x', 'w', 'r'], outputs: ['y', 'yh', 'yc'], attrs: { hidden_size: 5 } }],
    };
    expect((await compile(encodeModel(spec))).report.variants).toEqual({ 'LSTM:generic': 1 });
    await checkBothTargets(spec, { x: randomTensor('float32', [4, 2, 3], r, -2, 2), w: randomTensor('float32', [1, 20, 3], r, -0.8, 0.8) }, 1e-4, 1e-5);
  });
});
