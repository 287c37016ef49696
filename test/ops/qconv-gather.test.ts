// The gathered int8 im2col (ops/conv-int8-gather.ts: the input padded with its zero point, taps gathered straight
// into the GEMM's packed K-pairs) on random 2-D convolutions: odd channel counts and sizes, widths that are and are
// not a multiple of the 8-column panel (rows straddling panels), strides 1, 2 and 3, asymmetric pads, dilations,
// groups, batches, odd K, uint8 and int8 inputs with nonzero zero points, per-channel and per-tensor weights, bias,
// a fused Relu or Clip, and a tile split into several row chunks. Exact against the spec's arithmetic
// (test/helpers/quant-reference.ts) and within one unit of onnxruntime-node, on both targets; the report must name
// the variant that ran ('int8-im2col-gemm' where the gather does not apply: a column stride of 3 on simd, 1-D).

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import type { DType } from '../../src/ir/dtype.js';
import type { Tensor } from '../../src/ir/graph.js';
import { expectClose, randomTensor, rng, runOrt, runOurs } from '../helpers/oracle.js';
import type { Conv2dAttrs } from '../helpers/quant-reference.js';
import { qconvActModel } from '../helpers/qconv-act.js';

const f32 = (values: number[]): Tensor => ({ dtype: 'float32', shape: values.length === 1 ? [] : [values.length], data: Float32Array.from(values) });
const q = (dtype: DType, shape: number[], values: number[]): Tensor => ({ dtype, shape, data: dtype === 'int8' ? Int8Array.from(values) : Uint8Array.from(values) });
const range = (dt: DType): [number, number] => (dt === 'int8' ? [-128, 127] : [0, 255]);

interface Case {
  x: number[]; cout: number; k: [number, number]; attrs: Required<Pick<Conv2dAttrs, 'pads' | 'strides' | 'dilations' | 'group'>>;
  xdt: DType; perChannel: boolean; bias: boolean; act: 'none' | 'relu' | 'clip6';
  /** The variant on both targets, where the shape decides it (a padded copy larger than 512 KB keeps the im2col). */
  variant?: string;
}

function makeCase(seed: number): Case {
  const r = rng(seed);
  const int = (lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));
  const pick = <T>(xs: T[]): T => xs[Math.floor(r() * xs.length)];
  const group = pick([1, 1, 1, 2, 3]);
  const cin = group * int(1, 9), cout = group * int(1, 7);
  const k: [number, number] = [pick([1, 2, 3, 3, 5]), pick([1, 3, 3, 5])];
  const sh = pick([1, 2, 3]), sw = pick([1, 2, 2, 3]);
  const dil = r() < 0.2 ? 2 : 1;
  const pads = [int(0, k[0] - 1), int(0, k[1] - 1), int(0, k[0] - 1), int(0, k[1] - 1)];
  // output widths around the 8-column panel: some exact multiples of 8, most not
  const spanW = (k[1] - 1) * dil + 1, spanH = (k[0] - 1) * dil + 1;
  const ow = r() < 0.3 ? 8 * int(1, 4) : int(1, 37);
  const W = Math.max(1, (ow - 1) * sw + spanW - pads[1] - pads[3]);
  const H = Math.max(1, int(1, 14) * sh + spanH - pads[0] - pads[2]);
  return {
    x: [r() < 0.25 ? 2 : 1, cin, H, W], cout, k, attrs: { pads, strides: [sh, sw], dilations: [dil, dil], group },
    xdt: pick(['uint8', 'int8'] as DType[]), perChannel: r() < 0.6, bias: r() < 0.7, act: pick(['none', 'none', 'relu', 'clip6'] as const),
  };
}

const CASES: Case[] = Array.from({ length: 24 }, (_, i) => makeCase(8000 + i));
// a packed tile of several row chunks (K = 288 over 41 x 42 columns), rows straddling panels, an input too large to
// copy padded, an odd K stem
CASES.push({ x: [1, 32, 81, 83], cout: 13, k: [3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 1 }, xdt: 'uint8', perChannel: true, bias: true, act: 'relu' });
CASES.push({ x: [1, 8, 300, 301], cout: 5, k: [3, 3], attrs: { pads: [1, 1, 1, 1], strides: [2, 2], dilations: [1, 1], group: 1 }, xdt: 'int8', perChannel: true, bias: true, act: 'none', variant: 'int8-im2col-gemm' });
CASES.push({ x: [1, 3, 33, 29], cout: 16, k: [3, 3], attrs: { pads: [1, 0, 0, 1], strides: [2, 2], dilations: [1, 1], group: 1 }, xdt: 'int8', perChannel: false, bias: true, act: 'none' });

const describeCase = (c: Case) => `x ${c.x.join('x')} -> ${c.cout}, k${c.k.join('x')} s${c.attrs.strides.join(',')} d${c.attrs.dilations[0]} ` +
  `pads ${c.attrs.pads.join(',')} group ${c.attrs.group}, ${c.xdt}, ${c.perChannel ? 'per-channel' : 'per-tensor zp'}${c.bias ? ', bias' : ''}${c.act === 'none' ? '' : `, ${c.act}`}`;

/** The variant that must run: the gather for every 2-D GEMM convolution but a column stride above 2 on simd. */
function expectedVariants(c: Case, target: 'simd' | 'scalar'): string[] {
  if (c.variant) return [c.variant];
  const [kh, kw] = c.k, [sh, sw] = c.attrs.strides;
  if (kh === 1 && kw === 1 && sh === 1 && sw === 1 && c.attrs.pads.every((p) => p === 0)) return ['int8-pointwise-gemm'];
  const depthwise = c.attrs.group === c.x[1] && c.attrs.group === c.cout;
  if (depthwise) return ['int8-depthwise'];
  const gemm = target === 'simd' && sw > 2 ? 'int8-im2col-gemm' : 'int8-gather-gemm';
  // 3x3 stride-1 layers with many tiles may take Winograd on simd
  return kh === 3 && kw === 3 && sh === 1 && sw === 1 && c.attrs.dilations[0] === 1 && target === 'simd' ? [gemm, 'int8-winograd-f2x2-3x3'] : [gemm];
}

describe('int8 convolutions with the im2col gathered into the packed GEMM operand, on random shapes', () => {
  for (const [i, c] of CASES.entries()) {
    it(describeCase(c), async () => {
      const r = rng(700 + i);
      const [xlo, xhi] = range(c.xdt);
      const cg = c.x[1] / c.attrs.group;
      const x = randomTensor(c.xdt, c.x, r, xlo, xhi);
      const w = randomTensor('int8', [c.cout, cg, ...c.k], r, -128, 127);
      const ws = c.perChannel ? f32(Array.from({ length: c.cout }, () => 0.001 + 0.004 * r())) : f32([0.003]);
      const wz = c.perChannel ? q('int8', [c.cout], new Array(c.cout).fill(0)) : q('int8', [], [-7]);
      const xs = f32([0.02]), xz = q(c.xdt, [], [Math.round(xlo + (xhi - xlo) * r())]);
      const s1 = Math.fround(0.03 * Math.sqrt(cg * c.k[0] * c.k[1]) * (0.5 + r())), z1 = Math.round(xlo + 40 + (xhi - xlo - 80) * r());
      const bias = c.bias ? randomTensor('int32', [c.cout], r, -3000, 3000) : undefined;
      // Relu keeping the output's scale (a clamp of its range) or Clip(0, 6) into a narrower scale
      const s2 = c.act === 'clip6' ? Math.fround(s1 * 0.43) : s1, z2 = c.act === 'relu' ? z1 : xlo;
      const { model, reference } = qconvActModel({ x, xs, xz, w, ws, wz, s1, z1, bias, attrs: c.attrs, act: c.act, s2, z2 });
      expectClose(await runOrt(model, { x }), reference, 0, Math.ceil(s1 / s2));
      for (const target of ['simd', 'scalar'] as const) {
        const { report } = await compile(model, { target });
        const ran = Object.keys(report.variants).filter((v) => v.startsWith('QLinearConv:')).map((v) => v.slice('QLinearConv:'.length));
        expect(ran.length, 'one convolution').toBe(1);
        expect(expectedVariants(c, target), `${target} variant`).toContain(ran[0]);
        expectClose(await runOurs(model, { x }, { target }), reference, 0, 0);
      }
    });
  }
});
