// The float Winograd convolutions (ops/conv-winograd.ts) on random shapes against onnxruntime-node, both targets
// ('scalar' runs the direct path on the same models): channel counts that are powers of two (the slices whose
// strides would be multiples of 4 KB without the cache-line padding) and others, one band or several, pads on
// either side, batch 1 or 2, with and without bias.

import { describe, expect, it } from 'vitest';
import { compile } from '../../src/index.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { convGeometry, readConvAttrs } from '../../ops/conv-geometry.js';
import { winogradPlan, WINOGRAD_SCHEMES } from '../../ops/conv-winograd.js';
import { expectClose, randomTensor, rng, runOrt, runOurs } from '../helpers/oracle.js';

interface WinogradCase { x: number[]; w: number[]; pads: number[]; bias: boolean }

/** A random r x r, stride-1 convolution large enough for the Winograd plan. */
function randomCase(r: 3 | 5, rand: () => number): WinogradCase {
  const int = (lo: number, hi: number) => lo + Math.floor(rand() * (hi - lo + 1));
  const channels = () => (rand() < 0.5 ? [8, 16, 32, 64][int(0, 3)] : int(8, 70));
  const pads = [int(0, r - 1), int(0, r - 1), int(0, r - 1), int(0, r - 1)];
  // outputs of 14..40 a side: 49 to 400 tiles of 2x2
  const out = () => int(14, 40);
  const oh = out(), ow = out();
  return { x: [int(1, 2), channels(), oh + r - 1 - pads[0] - pads[2], ow + r - 1 - pads[1] - pads[3]], w: [channels(), 0, r, r], pads, bias: rand() < 0.7 };
}

function planOf(c: WinogradCase, r: 3 | 5) {
  const attrs = readConvAttrs({ has: (n: string) => n === 'pads', ints: () => c.pads, string: (_: string, d: string) => d, int: (_: string, d: number) => d } as never);
  const geo = convGeometry(attrs, c.x.slice(2), [r, r], (m) => { throw new Error(m); });
  return winogradPlan(WINOGRAD_SCHEMES[r], geo, c.x[0], c.x[1], c.w[0], 1);
}

for (const r of [3, 5] as const) {
  describe(`Conv: Winograd F(2x2, ${r}x${r}) on random shapes`, () => {
    const rand = rng(700 + r);
    const cases = Array.from({ length: 5 }, () => randomCase(r, rand));
    for (const c of cases) c.w[1] = c.x[1];

    it('every slice of U, V and M is an odd number of cache lines', () => {
      for (const c of cases) {
        const p = planOf(c, r)!;
        expect(p, JSON.stringify(c)).toBeDefined();
        for (const bytes of [p.uSlice, p.vSlice, p.mSlice]) expect((bytes / 64) % 2, JSON.stringify(c)).toBe(1);
      }
    });

    for (const [i, c] of cases.entries()) {
      for (const target of ['simd', 'scalar'] as const) {
        it(`${c.x.join('x')} -> ${c.w[0]} channels, pads ${c.pads.join(',')}${c.bias ? '' : ', no bias'} (${target})`, async () => {
          const seed = rng(800 + 10 * r + i);
          // He-scaled weights (real magnitudes): F(2x2, 5x5)'s rounding grows with the sum of the terms' magnitudes
          const range = Math.sqrt(6 / (c.x[1] * r * r));
          const model = encodeModel({
            opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: c.x }], outputs: [{ name: 'y' }],
            nodes: [{ op: 'Conv', inputs: ['x', 'w', ...(c.bias ? ['b'] : [])], outputs: ['y'], attrs: { pads: c.pads } }],
            initializers: { w: randomTensor('float32', c.w, seed, -range, range), ...(c.bias ? { b: randomTensor('float32', [c.w[0]], seed) } : {}) },
          });
          const { report } = await compile(model, { target });
          expect(report.variants).toEqual({ [`Conv:${target === 'simd' ? `winograd-f2x2-${r}x${r}` : 'im2col-gemm'}`]: 1 });
          const feeds = { x: randomTensor('float32', c.x, seed) };
          expectClose(await runOurs(model, feeds, { target }), await runOrt(model, feeds), 1e-4, 1e-4);
        });
      }
    }
  });
}
