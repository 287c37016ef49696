// The int8 MobileNet path on random shapes: depthwise convolutions (odd channel counts and sizes, rows shorter and
// longer than a vector, strides 1 and 2, asymmetric pads, dilation), small-K pointwise GEMMs and few-channel stems,
// uint8 and int8 inputs, per-channel and per-tensor weights with nonzero zero points, with and without bias, a fused
// Relu (a clamp in the output's range) or Clip to another scale, and output scales so small that the requantization
// saturates (where the kernels keep their rounding clamp). Exact against the spec's arithmetic
// (test/helpers/quant-reference.ts) and within one unit of onnxruntime-node, on both targets.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { fusedAct } from '../../codegen/qgemm.js';
import { expectClose, randomTensor, rng, runOrt, runOurs } from '../helpers/oracle.js';
import type { Conv2dAttrs } from '../helpers/quant-reference.js';
import { qconvActModel } from '../helpers/qconv-act.js';

const f32 = (values: number[]): Tensor => ({ dtype: 'float32', shape: values.length === 1 ? [] : [values.length], data: Float32Array.from(values) });
const q = (dtype: DType, shape: number[], values: number[]): Tensor => ({ dtype, shape, data: dtype === 'int8' ? Int8Array.from(values) : Uint8Array.from(values) });
const range = (dt: DType): [number, number] => (dt === 'int8' ? [-128, 127] : [0, 255]);

type Kind = 'depthwise' | 'pointwise' | 'stem';
type Act = 'none' | 'relu-same' | 'clip6' | 'relu-scaled';

interface Case {
  kind: Kind; x: number[]; cout: number; k: number[]; attrs: Conv2dAttrs;
  xdt: DType; weights: 'int8-per-channel' | 'int8-per-tensor-zp' | 'uint8-per-tensor-zp';
  bias: boolean; saturating: boolean; act: Act; variant: string;
  /**
   * A Relu into another scale with these (s1, s2): scales whose division is not one multiplication. The first
   * quantization's zero point is its type's minimum, so the fused clamp is the whole type (divisionScales' range).
   */
  scales?: [number, number];
}

function makeCase(seed: number, kind: Kind): Case {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const batch = r() < 0.25 ? 2 : 1;
  const stride = r() < 0.5 ? 2 : 1;
  let cin: number, cout: number, k: number, dil = 1, group = 1;
  if (kind === 'depthwise') {
    cin = cout = group = int(1, 13);
    k = r() < 0.8 ? 3 : 5;
    dil = r() < 0.15 ? 2 : 1;
  } else if (kind === 'pointwise') {
    cin = int(1, 40); cout = int(1, 37); k = 1;
  } else {
    cin = int(1, 4); cout = int(1, 33); k = pick([3, 3, 5, 7]);
  }
  const span = (k - 1) * dil + 1;
  const pads = kind === 'pointwise' ? [0, 0, 0, 0] : [int(0, k - 1), int(0, k - 1), int(0, k - 1), int(0, k - 1)];
  // sizes from a single column to a few vectors, never smaller than the kernel's span with its padding
  const H = Math.max(int(1, 19), span - pads[0] - pads[2]), W = Math.max(int(1, 29), span - pads[1] - pads[3]);
  const pointwiseVariant = kind === 'pointwise' && stride === 1;
  const xdt = pick(['uint8', 'int8'] as DType[]);
  // onnxruntime runs uint8 weights with uint8 inputs only
  const weights = pick(['int8-per-channel', 'int8-per-channel', 'int8-per-tensor-zp', xdt === 'uint8' ? 'uint8-per-tensor-zp' : 'int8-per-tensor-zp'] as const);
  return {
    kind, x: [batch, cin, H, W], cout, k: [k, k],
    attrs: { pads, strides: [stride, stride], dilations: [dil, dil], group },
    xdt, weights,
    bias: r() < 0.75, saturating: r() < 0.15, act: pick(['none', 'none', 'relu-same', 'clip6'] as Act[]),
    variant: kind === 'depthwise' ? 'int8-depthwise' : pointwiseVariant ? 'int8-pointwise-gemm' : 'int8-gather-gemm',
  };
}

const CASES: Case[] = [];
for (let i = 0; i < 12; i++) CASES.push(makeCase(1000 + i, 'depthwise'));
for (let i = 0; i < 10; i++) CASES.push(makeCase(2000 + i, 'pointwise'));
for (let i = 0; i < 8; i++) CASES.push(makeCase(3000 + i, 'stem'));

/** Output scales (s1, s2) of a Relu into int8/uint8 [z2, max] whose division fusedAct cannot replace. */
function divisionScales(seed: number, dt: DType): [number, number] {
  const r = rng(seed);
  const [lo, hi] = range(dt);
  for (;;) {
    const s1 = Math.fround(0.05 + 0.2 * r()), s2 = Math.fround(s1 * (0.3 + 0.6 * r()));
    if (fusedAct({ s1, s2, z2: lo }, lo, hi).kind === 'clamp') return [s1, s2];
  }
}
const withDivision = (c: Case, seed: number): Case => ({ ...c, act: 'relu-scaled', scales: divisionScales(seed, c.xdt), saturating: false });
CASES.push(withDivision(makeCase(1003, 'depthwise'), 1), withDivision(makeCase(2003, 'pointwise'), 2), withDivision(makeCase(3003, 'stem'), 3));
// a second scale so small that the fused activation's second rounding saturates (its clamp must stay)
const withTinySecondScale = (c: Case): Case => ({ ...c, act: 'relu-scaled', scales: [0.1, Math.fround(0.1 * 1e-6)], saturating: false });
CASES.push(withTinySecondScale(makeCase(1004, 'depthwise')), withTinySecondScale(makeCase(2004, 'pointwise')));

const describeCase = (c: Case) => `${c.kind} x ${c.x.join('x')} -> ${c.cout}, k${c.k[0]} s${c.attrs.strides![0]} d${c.attrs.dilations![0]} pads ${c.attrs.pads!.join(',')}, ` +
  `${c.xdt}, ${c.weights}${c.bias ? ', bias' : ''}${c.saturating ? ', saturating' : ''}${c.act === 'none' ? '' : `, ${c.act}`}${c.scales ? ` (scales ${c.scales[0]} -> ${c.scales[1]})` : ''}`;

describe('int8 depthwise, small-K pointwise and few-channel stem convolutions on random shapes', () => {
  for (const [i, c] of CASES.entries()) {
    it(describeCase(c), async () => {
      const r = rng(500 + i);
      const [xlo, xhi] = range(c.xdt);
      const group = c.attrs.group ?? 1;
      const K = (c.x[1] / group) * c.k[0] * c.k[1];
      const x = randomTensor(c.xdt, c.x, r, xlo, xhi);
      const wdt: DType = c.weights === 'uint8-per-tensor-zp' ? 'uint8' : 'int8';
      const perChannel = c.weights === 'int8-per-channel';
      const wzp = c.weights === 'uint8-per-tensor-zp' ? 100 + Math.floor(r() * 50) : c.weights === 'int8-per-tensor-zp' ? -9 : 0;
      const w = randomTensor(wdt, [c.cout, c.x[1] / group, ...c.k], r, ...range(wdt));
      const ws = perChannel ? f32(Array.from({ length: c.cout }, () => 0.001 + 0.004 * r())) : f32([0.003]);
      const wz = perChannel ? q('int8', [c.cout], new Array(c.cout).fill(0)) : q(wdt, [], [wzp]);
      const xs = f32([0.02]), xz = q(c.xdt, [], [Math.round(xlo + (xhi - xlo) * r())]);
      // a typical output scale, or one so small that most outputs saturate
      const s1 = c.scales ? c.scales[0] : c.saturating ? 1e-7 : Math.fround(0.03 * Math.sqrt(K) * (0.5 + r())), z1 = c.scales ? xlo : Math.round(xlo + 40 + (xhi - xlo - 80) * r());
      const bias = c.bias ? randomTensor('int32', [c.cout], r, -3000, 3000) : undefined;
      // Relu keeping the output's scale (lowered to a clamp of its range), Clip(0, 6) into a narrower scale, or Relu
      // into the given one
      const s2 = c.scales ? c.scales[1] : c.act === 'clip6' ? Math.fround(s1 * 0.43) : s1, z2 = c.act === 'relu-same' ? z1 : xlo;
      const act = c.act === 'none' || c.act === 'clip6' ? c.act : 'relu';
      const { model, reference } = qconvActModel({ x, xs, xz, w, ws, wz, s1, z1, bias, attrs: c.attrs, act, s2, z2 });
      // onnxruntime's QLinearConv may round one unit differently, which a second quantization scales by s1 / s2
      expectClose(await runOrt(model, { x }), reference, 0, Math.ceil(s1 / s2));
      for (const target of ['simd', 'scalar'] as const) {
        const { report } = await compile(model, { target });
        expect(report.variants[`QLinearConv:${c.variant}`], 'kernel variant').toBe(1);
        if (c.act !== 'none') expect(report.ops.QLinearLookup, 'the activation is fused').toBeUndefined();
        expectClose(await runOurs(model, { x }, { target }), reference, 0, 0);
      }
    });
  }
});

describe('a fused Relu/Clip runs as one multiplication only where that is the spec\'s division', () => {
  it('fusedAct: "ratio" agrees with round(f32(f32(r * s1) / s2)) + z2 on every r after the clamp; "clamp" where some r differs', () => {
    const r = rng(4242);
    const kinds = { ratio: 0, clamp: 0 };
    const roundEven = (v: number) => { const f = Math.floor(v), d = v - f; return d > 0.5 || (d === 0.5 && f % 2 !== 0) ? f + 1 : f; };
    // the two maps disagree somewhere for about one scale pair in 700: search until a few of each kind are seen
    for (let t = 0; t < 40000 && (kinds.clamp < 3 || kinds.ratio < 40); t++) {
      const s1 = Math.fround(0.001 + 0.2 * r()), s2 = Math.fround(s1 * (0.3 + 0.7 * r()));
      const z2 = Math.round(-128 + 100 * r()), lo = Math.max(-128, z2), hi = Math.min(127, z2 + Math.round(60 + 190 * r()));
      const { kind, params } = fusedAct({ s1, s2, z2 }, lo, hi);
      if (kind === 'leaky') throw new Error('no alpha given');
      if (kind === 'ratio' && kinds.ratio >= 40) continue;
      kinds[kind]++;
      const clamp = (v: number) => Math.min(Math.max(v, lo), hi);
      const c = Math.fround(s1 / s2);
      let differs = false;
      for (let x = -70000; x <= 70000 && !differs; x++) {
        const spec = clamp(roundEven(Math.fround(Math.fround(x * s1) / s2)) + z2);
        differs = spec !== clamp(roundEven(Math.fround(x * (kind === 'ratio' ? params[0] : c))) + z2);
      }
      expect(differs, `s1 ${s1} s2 ${s2} z2 ${z2} [${lo}, ${hi}]: ${kind}`).toBe(kind === 'clamp');
    }
    expect(kinds.ratio).toBe(40);
    expect(kinds.clamp).toBe(3);
  });
});
