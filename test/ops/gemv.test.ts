// The GEMV kernel variant (codegen/gemv.ts) of Gemm and MatMul, against onnxruntime-node on both targets:
// random shapes with M = 1..4 (K and N from 1 to a few hundred, so every panel width and partial panel occurs),
// Gemm's transA/transB/alpha/beta and every C broadcast form, constant and run-time B and C, MatMul's batches
// (folded into the rows when B is constant, one product per matrix otherwise, with broadcasting) and 1-D
// operands, and the fused epilogues (bias, residual, activation). Each case also checks that the variant ran.

import binaryen from 'binaryen';
import { describe, expect, it } from 'vitest';
import { gemvPanel, gemvStreams } from '../../codegen/gemv.js';
import { compile } from '../../src/index.js';
import type { Tensor } from '../../src/ir/graph.js';
import { encodeModel, float, type ModelSpec, type NodeSpec, type ValueSpec } from '../../src/onnx/encode.js';
import { expectClose, randomTensor, rng, runOrt, runOurs, type Feeds } from '../helpers/oracle.js';

const TARGETS = ['simd', 'scalar'] as const;

async function check(spec: ModelSpec, feeds: Feeds, variant: string): Promise<void> {
  const model = encodeModel(spec);
  const expected = await runOrt(model, feeds);
  for (const target of TARGETS) {
    const { report } = await compile(model, { target });
    expect(report.variants[variant], `${variant} on ${target}: ${JSON.stringify(report.variants)}`).toBeGreaterThan(0);
    expectClose(await runOurs(model, feeds, { target }), expected, 1e-4, 1e-4);
  }
}

/** Operand `name`: an initializer when constant, else a graph input fed with t. */
function operand(name: string, t: Tensor, constant: boolean, inputs: ValueSpec[], inits: Record<string, Tensor>, feeds: Feeds): void {
  if (constant) inits[name] = t;
  else { inputs.push({ name, dtype: 'float32', shape: t.shape }); feeds[name] = t; }
}

const pick = <T>(r: () => number, xs: readonly T[]): T => xs[Math.floor(r() * xs.length)];
const int = (r: () => number, lo: number, hi: number) => lo + Math.floor(r() * (hi - lo + 1));

describe('Gemm GEMV variant (M <= 4)', () => {
  for (let seed = 1; seed <= 14; seed++) {
    const r = rng(seed * 7919);
    const M = int(r, 1, 4), K = pick(r, [1, 3, int(r, 4, 64), int(r, 100, 700)]), N = pick(r, [1, 5, int(r, 2, 40), int(r, 40, 300)]);
    const constB = r() < 0.75;
    // a run-time B is read as is: transposed or scaled ones take the generic loop
    const transA = M === 1 && r() < 0.5, transB = constB && r() < 0.5;
    const alpha = constB && r() < 0.5 ? pick(r, [0.5, -2]) : 1;
    const cShape = pick(r, [undefined, [N], [1, N], [M, N], [M, 1], [], [1, 1]]);
    // a run-time C must be a residual the kernel reads as is (the generic loop takes the other cases)
    const constC = cShape === undefined || !(cShape.length >= 1 && cShape[cShape.length - 1] === N && N > 1) || r() < 0.5;
    const beta = constC ? pick(r, [1, 1, 0.25, -1]) : 1;
    const relu = r() < 0.3;
    it(`M=${M} K=${K} N=${N} transA=${+transA} transB=${+transB} alpha=${alpha} beta=${beta} C=${cShape ? `[${cShape}]${constC ? ' const' : ''}` : 'none'} B${constB ? ' const' : ''}${relu ? ' +Relu' : ''}`, async () => {
      const inputs: ValueSpec[] = [], inits: Record<string, Tensor> = {}, feeds: Feeds = {};
      operand('a', randomTensor('float32', transA ? [K, M] : [M, K], r), false, inputs, inits, feeds);
      operand('b', randomTensor('float32', transB ? [N, K] : [K, N], r), constB, inputs, inits, feeds);
      if (cShape) operand('c', randomTensor('float32', cShape, r), constC, inputs, inits, feeds);
      const nodes: NodeSpec[] = [{
        op: 'Gemm', inputs: ['a', 'b', ...(cShape ? ['c'] : [])], outputs: [relu ? 'g' : 'y'],
        attrs: { transA: +transA, transB: +transB, alpha: float(alpha), beta: float(beta) },
      }];
      if (relu) nodes.push({ op: 'Relu', inputs: ['g'], outputs: ['y'] });
      await check({ opset: 13, inputs, outputs: [{ name: 'y' }], initializers: inits, nodes }, feeds, 'Gemm:gemv');
    });
  }

  it('a transposed A with several rows takes the GEMM', async () => {
    const r = rng(5);
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'a', dtype: 'float32', shape: [9, 3] }], outputs: [{ name: 'y' }],
      initializers: { b: randomTensor('float32', [9, 20], r) },
      nodes: [{ op: 'Gemm', inputs: ['a', 'b'], outputs: ['y'], attrs: { transA: 1 } }],
    });
    expect((await compile(model)).report.variants).toEqual({ 'Gemm:gemm': 1 });
  });
});

// One row on 'simd' reads two streams: the whole panels split into two runs (tile g reads panel g of each),
// then the panels left one at a time, the last maybe partial. N covers: no whole panel, exactly two runs, an odd
// panel left, an odd panel and a partial one left; with bias + Relu, and a MatMul with a residual.
describe('GEMV with two streams (M = 1)', () => {
  it('streams: two for one row on simd, else one', () => {
    expect(gemvStreams(1, 'simd')).toBe(2);
    expect(gemvStreams(1, 'scalar')).toBe(1);
    expect(gemvStreams(2, 'simd')).toBe(1);
  });
  it('panels: 4 vectors a stream, narrower for a short N', () => {
    expect(gemvPanel(1, 1000, 'simd')).toBe(16);
    expect(gemvPanel(1, 10, 'simd')).toBe(12);
    expect(gemvPanel(1, 1000, 'scalar')).toBe(6);
    expect(gemvPanel(2, 1000, 'simd')).toBe(16);
  });
  // 4-vector streams with whole and partial panels; K = 64 and 65 are the prime's depths
  for (const [K, N] of [[37, 9], [300, 24], [129, 36], [300, 185], [2053, 517], [64, 203], [65, 130]]) {
    it(`Gemm 1x${K} by ${K}x${N} (transB), bias, Relu`, async () => {
      const r = rng(K * 31 + N);
      await check({
        opset: 13, inputs: [{ name: 'a', dtype: 'float32', shape: [1, K] }], outputs: [{ name: 'y' }],
        initializers: { b: randomTensor('float32', [N, K], r), c: randomTensor('float32', [N], r) },
        nodes: [{ op: 'Gemm', inputs: ['a', 'b', 'c'], outputs: ['g'], attrs: { transB: 1 } }, { op: 'Relu', inputs: ['g'], outputs: ['y'] }],
      }, { a: randomTensor('float32', [1, K], r) }, 'Gemm:gemv');
    });
  }
  for (const [K, N, constB] of [[77, 100, true], [64, 150, false]] as const) {
    it(`MatMul 1x${K} by ${K}x${N}${constB ? ' const' : ''} + residual`, async () => {
      const r = rng(K * 17 + N);
      const inputs: ValueSpec[] = [{ name: 'a', dtype: 'float32', shape: [1, K] }, { name: 'skip', dtype: 'float32', shape: [1, N] }];
      const inits: Record<string, Tensor> = {};
      const feeds: Feeds = { a: randomTensor('float32', [1, K], r), skip: randomTensor('float32', [1, N], r) };
      operand('b', randomTensor('float32', [K, N], r), constB, inputs, inits, feeds);
      await check({
        opset: 13, inputs, outputs: [{ name: 'y' }], initializers: inits,
        nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['m'] }, { op: 'Add', inputs: ['m', 'skip'], outputs: ['y'] }],
      }, feeds, 'MatMul:gemv');
    });
  }
});

// kws's GRU (K = 64) once ran at half speed: its K was also the prime's, so at every call site the same constant,
// and binaryen folded it into the tiles (V8 compiled that known-trip-count loop slowly). The kernels' signatures
// must not depend on whether a model's K is one the prime uses.
describe('GEMV kernels keep K a parameter', () => {
  /** Parameter counts of the module's functions that run the GEMV's inner loop (a splat of A per k). */
  async function gemvParams(K: number): Promise<number[]> {
    const r = rng(K);
    const model = encodeModel({
      opset: 13, inputs: [{ name: 'a', dtype: 'float32', shape: [1, K] }], outputs: [{ name: 'y' }],
      initializers: { b: randomTensor('float32', [K, 203], r) }, nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
    });
    const { wasm } = await compile(model, { target: 'simd' });
    const mod = binaryen.readBinary(wasm);
    const text = mod.emitText();
    mod.dispose();
    return text.split('\n (func ').filter((f) => f.includes('v128.load32_splat')).map((f) => (f.split('\n')[0].match(/\(param /g) ?? []).length);
  }
  it('K = 64 and 65 (the prime\'s depths) compile to the same kernels as K = 67', async () => {
    const other = await gemvParams(67);
    expect(other.length).toBeGreaterThanOrEqual(2); // the two-stream tile and the one-panel tile
    expect(await gemvParams(64)).toEqual(other);
    expect(await gemvParams(65)).toEqual(other);
  });
});

describe('MatMul GEMV variant', () => {
  for (let seed = 1; seed <= 12; seed++) {
    const r = rng(seed * 104729);
    const K = pick(r, [1, 2, int(r, 3, 64), int(r, 64, 600)]), N = pick(r, [1, 3, int(r, 4, 64), int(r, 64, 400)]);
    const kind = pick(r, ['2d', 'folded', 'batched', 'vector'] as const);
    let aShape: number[], bShape: number[], constB: boolean;
    if (kind === '2d') { aShape = [int(r, 1, 4), K]; bShape = [K, N]; constB = r() < 0.5; }
    else if (kind === 'folded') { aShape = [2, int(r, 1, 2), K]; bShape = [K, N]; constB = true; } // 2..4 rows in all
    else if (kind === 'batched') { aShape = [pick(r, [1, 3]), 2, int(r, 1, 4), K]; bShape = [2, K, N]; constB = r() < 0.5; } // one product per matrix
    else { aShape = [K]; bShape = r() < 0.5 ? [K, N] : [2, K, N]; constB = r() < 0.5; }
    const epilogue = bShape.length === 2 && aShape.length >= 2 ? pick(r, ['none', 'bias', 'bias+relu', 'residual'] as const) : 'none';
    it(`[${aShape}] x [${bShape}]${constB ? ' const B' : ''} ${epilogue}`, async () => {
      const inputs: ValueSpec[] = [], inits: Record<string, Tensor> = {}, feeds: Feeds = {};
      operand('a', randomTensor('float32', aShape, r), false, inputs, inits, feeds);
      operand('b', randomTensor('float32', bShape, r), constB, inputs, inits, feeds);
      const out = [...aShape.slice(0, -1), N];
      const nodes: NodeSpec[] = [{ op: 'MatMul', inputs: ['a', 'b'], outputs: [epilogue === 'none' ? 'y' : 'm'] }];
      if (epilogue.startsWith('bias')) {
        inits.bias = randomTensor('float32', [N], r);
        nodes.push({ op: 'Add', inputs: ['m', 'bias'], outputs: [epilogue === 'bias' ? 'y' : 'mb'] });
        if (epilogue === 'bias+relu') nodes.push({ op: 'Relu', inputs: ['mb'], outputs: ['y'] });
      } else if (epilogue === 'residual') {
        operand('skip', randomTensor('float32', out, r), false, inputs, inits, feeds);
        nodes.push({ op: 'Add', inputs: ['m', 'skip'], outputs: ['y'] });
      }
      await check({ opset: 13, inputs, outputs: [{ name: 'y' }], initializers: inits, nodes }, feeds, 'MatMul:gemv');
    });
  }

  it('more than 4 rows take the GEMM; the folded batch counts all its rows', async () => {
    const r = rng(3);
    const variant = async (a: number[]) => (await compile(encodeModel({
      opset: 13, inputs: [{ name: 'a', dtype: 'float32', shape: a }], outputs: [{ name: 'y' }],
      initializers: { b: randomTensor('float32', [8, 16], r) }, nodes: [{ op: 'MatMul', inputs: ['a', 'b'], outputs: ['y'] }],
    }))).report.variants;
    expect(await variant([4, 8])).toEqual({ 'MatMul:gemv': 1 });
    expect(await variant([5, 8])).toEqual({ 'MatMul:gemm': 1 });
    expect(await variant([3, 2, 8])).toEqual({ 'MatMul:gemm': 1 });
  });
});
