// Recurrent layers and matrix-vector products, one operator per model, against onnxruntime-web (wasm, SIMD, one
// thread): `npx tsx benchmarks/rnn-gemv.ts [filter] [--runs N]`. Each graph is built with the project's ONNX
// builder and compiled here; a child process then loads the modules and alternates the two engines, taking the
// minimum of N runs after a warm-up. (Measuring in the compiling process would time our kernels in V8's
// baseline tier: binaryen is a big wasm module too, and its own tier-up jobs queue ahead of ours.)

import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { compile } from '../src/index.js';
import type { Tensor } from '../src/ir/graph.js';
import { encodeModel, type ModelSpec } from '../src/onnx/encode.js';
import { randomTensor, rng } from '../test/helpers/oracle.js';
import { createOrtWeb, createOurs } from './engines.js';

interface Case { name: string; spec: ModelSpec; feeds: Record<string, Tensor> }

function cases(): Case[] {
  const r = rng(7);
  const recurrent = (kind: 'LSTM' | 'GRU', S: number, I: number, H: number, dir = 'forward'): Case => {
    const G = kind === 'LSTM' ? 4 : 3, D = dir === 'bidirectional' ? 2 : 1;
    return {
      name: `${kind} hidden ${H}, ${S} steps, input ${I}${D === 2 ? ', bidirectional' : ''}`,
      spec: {
        opset: 14, inputs: [{ name: 'x', dtype: 'float32', shape: [S, 1, I] }], outputs: [{ name: 'y' }, { name: 'yh' }],
        initializers: {
          w: randomTensor('float32', [D, G * H, I], r, -0.1, 0.1), r: randomTensor('float32', [D, G * H, H], r, -0.1, 0.1),
          b: randomTensor('float32', [D, 2 * G * H], r, -0.1, 0.1),
        },
        nodes: [{ op: kind, inputs: ['x', 'w', 'r', 'b'], outputs: ['y', 'yh'], attrs: { hidden_size: H, direction: dir } }],
      },
      feeds: { x: randomTensor('float32', [S, 1, I], r) },
    };
  };
  const gemm = (M: number, K: number, N: number): Case => ({
    name: `Gemm ${M}x${K} by ${K}x${N} (transB, bias)`,
    spec: {
      opset: 13, inputs: [{ name: 'a', dtype: 'float32', shape: [M, K] }], outputs: [{ name: 'y' }],
      initializers: { w: randomTensor('float32', [N, K], r), c: randomTensor('float32', [N], r) },
      nodes: [{ op: 'Gemm', inputs: ['a', 'w', 'c'], outputs: ['y'], attrs: { transB: 1 } }],
    },
    feeds: { a: randomTensor('float32', [M, K], r) },
  });
  const matmul = (M: number, K: number, N: number): Case => ({
    name: `MatMul ${M}x${K} by ${K}x${N}`,
    spec: {
      opset: 13, inputs: [{ name: 'a', dtype: 'float32', shape: [M, K] }], outputs: [{ name: 'y' }],
      initializers: { w: randomTensor('float32', [K, N], r) },
      nodes: [{ op: 'MatMul', inputs: ['a', 'w'], outputs: ['y'] }],
    },
    feeds: { a: randomTensor('float32', [M, K], r) },
  });
  return [
    recurrent('LSTM', 50, 128, 128), recurrent('GRU', 50, 128, 128), gemm(1, 9216, 4096), matmul(1, 512, 2048),
    matmul(4, 512, 2048), matmul(1, 768, 3072), recurrent('LSTM', 50, 64, 128, 'bidirectional'), recurrent('GRU', 100, 40, 64),
  ];
}

const args = process.argv.slice(2);
const runsAt = args.indexOf('--runs');
const runs = runsAt >= 0 ? Number(args[runsAt + 1]) : 30;
const filter = args.find((a, i) => !a.startsWith('--') && args[i - 1] !== '--runs');
const chosen = cases().filter((c) => !filter || c.name.toLowerCase().includes(filter.toLowerCase()));
const dir = join('benchmarks', 'results', '.cache', 'rnn-gemv'); // not committed (benchmarks/results/)

if (!process.env.RNN_GEMV_MEASURE) {
  mkdirSync(dir, { recursive: true });
  for (const [i, c] of chosen.entries()) {
    const bytes = encodeModel(c.spec);
    writeFileSync(join(dir, `${i}.onnx`), bytes);
    writeFileSync(join(dir, `${i}.wasm`), (await compile(bytes)).wasm);
  }
  execFileSync(process.execPath, [...process.execArgv, process.argv[1], ...args], { stdio: 'inherit', env: { ...process.env, RNN_GEMV_MEASURE: '1' } });
} else {
  console.log('| configuration | ours ms | onnxruntime-web ms | ratio |\n| --- | --- | --- | --- |');
  for (const [i, c] of chosen.entries()) {
    const ours = createOurs(readFileSync(join(dir, `${i}.wasm`)), c.feeds);
    const web = await createOrtWeb(readFileSync(join(dir, `${i}.onnx`)), c.feeds);
    const start = performance.now();
    while (performance.now() - start < 1000) { ours.run(); await web.run(); }
    let tOurs = Infinity, tWeb = Infinity;
    for (let n = 0; n < runs; n++) {
      let t = performance.now(); ours.run(); tOurs = Math.min(tOurs, performance.now() - t);
      t = performance.now(); await web.run(); tWeb = Math.min(tWeb, performance.now() - t);
    }
    console.log(`| ${c.name} | ${tOurs.toFixed(3)} | ${tWeb.toFixed(3)} | ${(tOurs / tWeb).toFixed(2)} |`);
    await web.release();
  }
}
