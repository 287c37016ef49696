// The memory-bandwidth floor of an M = 1 Gemm (issue 10): how fast can anything read the weights once?
//
//   npx tsx benchmarks/gemv-floor.ts [--runs 30] [--k 9216] [--n 4096]
//
// Times, interleaved in one process (rotating order, min and median of N):
//  - stream-1/2/4: a wasm module (SIMD128, written here in WAT) that only reads the same number of bytes as the
//    Gemm's weights with v128 loads and sums them, as 1, 2 or 4 concurrent sequential streams;
//  - onnx2wasm: the compiled Gemm 1xK by KxN (transB, bias), the single-operator section's row;
//  - ort-web: onnxruntime-web (wasm, SIMD, 1 thread) on the same model;
// and, when gcc is on the PATH, benchmarks/floor/read-bandwidth.c at -O3 for the native read bandwidth of one
// core (16- and 32-byte loads). Prints one JSON object.

import { execFileSync } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import wabtInit from 'wabt';
import { compile } from '../src/index.js';
import { createOrtWeb, createOurs, type Engine } from './engines.js';
import { median } from './measure.js';
import { NetBuilder, randomInput } from './models/builder.js';

const arg = (name: string, dflt: number) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? Number(process.argv[i + 1]) : dflt;
};
const RUNS = arg('runs', 30), K = arg('k', 9216), N = arg('n', 4096);
const BYTES = K * N * 4;

/** A module that sums `bytes` bytes from address 0 in S interleaved sequential streams, 8 v128 loads a step. */
function streamWat(S: number): string {
  const PER = 8 / S; // loads per stream per step, 128 bytes a step in all
  const loads: string[] = [];
  for (let q = 0; q < 8; q++) {
    const s = Math.floor(q / PER), o = (q % PER) * 16;
    loads.push(`(local.set $a${q} (f32x4.add (local.get $a${q}) (v128.load offset=${o} (i32.add (local.get $p) (local.get $o${s})))))`);
  }
  const locals = Array.from({ length: 8 }, (_, q) => `(local $a${q} v128)`).join(' ');
  const offs = Array.from({ length: S }, (_, s) => `(local $o${s} i32)`).join(' ');
  const setOffs = Array.from({ length: S }, (_, s) => `(local.set $o${s} (i32.mul (local.get $chunk) (i32.const ${s})))`).join('\n');
  const sum = Array.from({ length: 7 }, (_, q) => `(local.set $a0 (f32x4.add (local.get $a0) (local.get $a${q + 1})))`).join('\n');
  return `(module
  (memory (export "memory") ${Math.ceil(BYTES / 65536) + 1})
  (func (export "stream") (param $bytes i32) (result f32)
    (local $p i32) (local $end i32) (local $chunk i32) ${locals} ${offs}
    (local.set $chunk (i32.div_u (local.get $bytes) (i32.const ${S})))
    ${setOffs}
    (local.set $end (local.get $chunk))
    (loop $L
      ${loads.join('\n      ')}
      (local.set $p (i32.add (local.get $p) (i32.const ${128 / S})))
      (br_if $L (i32.lt_u (local.get $p) (local.get $end))))
    ${sum}
    (f32.add (f32.add (f32x4.extract_lane 0 (local.get $a0)) (f32x4.extract_lane 1 (local.get $a0)))
             (f32.add (f32x4.extract_lane 2 (local.get $a0)) (f32x4.extract_lane 3 (local.get $a0))))))`;
}

async function streamEngine(S: number): Promise<{ name: string; run: () => unknown }> {
  const wabt = await wabtInit();
  const parsed = wabt.parseWat(`stream${S}.wat`, streamWat(S), { simd: true });
  const { buffer } = parsed.toBinary({});
  parsed.destroy();
  const instance = await WebAssembly.instantiate(new WebAssembly.Module(buffer as BufferSource), {});
  const mem = new Float32Array((instance.exports.memory as WebAssembly.Memory).buffer, 0, BYTES / 4);
  for (let i = 0; i < mem.length; i++) mem[i] = (i & 255) * 1e-3;
  const stream = instance.exports.stream as (bytes: number) => number;
  return { name: `stream-${S}`, run: () => stream(BYTES) };
}

function nativeFloor(): unknown {
  const src = fileURLToPath(new URL('./floor/read-bandwidth.c', import.meta.url));
  const exe = join(mkdtempSync(join(tmpdir(), 'floor-')), 'read-bandwidth');
  try {
    execFileSync('gcc', ['-O3', '-mavx2', src, '-o', exe], { stdio: 'pipe' });
  } catch {
    return 'gcc not available: native floor skipped';
  }
  return JSON.parse(execFileSync(exe, [String(BYTES), String(RUNS)]).toString());
}

async function main(): Promise<void> {
  const b = new NetBuilder(2005);
  const bytes = b.encode(13, [{ name: 'x', dtype: 'float32', shape: [1, K] }], [b.linear('x', K, N)]);
  const feeds = { x: randomInput([1, K], 3005) };
  const { wasm } = await compile(bytes, { target: 'simd' });
  const engines: { name: string; run: () => unknown }[] = [
    ...(await Promise.all([1, 2, 4].map(streamEngine))),
    createOurs(wasm, feeds),
    await createOrtWeb(bytes, feeds),
  ];
  const samples = new Map(engines.map((e) => [e.name, [] as number[]]));
  const WARMUP = 5;
  for (let i = 0; i < WARMUP + RUNS; i++) {
    for (const e of engines.slice(i % engines.length).concat(engines.slice(0, i % engines.length))) {
      const t0 = performance.now();
      await (e as Engine).run();
      if (i >= WARMUP) samples.get(e.name)!.push(performance.now() - t0);
    }
  }
  const ms = Object.fromEntries([...samples].map(([name, s]) => [name, {
    min: +Math.min(...s).toFixed(3), median: +median(s).toFixed(3), GBps: +(BYTES / Math.min(...s) / 1e6).toFixed(1),
  }]));
  const ort = ms['ort-web'].min, ours = ms['onnx2wasm'].min, floor = Math.min(ms['stream-1'].min, ms['stream-2'].min, ms['stream-4'].min);
  console.log(JSON.stringify({
    K, N, weightBytes: BYTES, runs: RUNS, ms,
    ratios: { 'onnx2wasm/ort-web': +(ours / ort).toFixed(3), 'stream-floor/ort-web': +(floor / ort).toFixed(3), 'onnx2wasm/stream-floor': +(ours / floor).toFixed(3) },
    native: nativeFloor(),
  }, null, 1));
}

await main();
