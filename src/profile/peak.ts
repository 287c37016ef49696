// The machine's peaks, measured once per profile in this engine: SIMD128 f32 arithmetic (independent f32x4
// mul + add chains, no FMA: wasm SIMD128 has none), integer arithmetic as the int8 kernels do it
// (i32x4.dot_i16x8_s + i32x4.add chains, 8 multiply-adds each) and memory bandwidth (memory.copy of a block larger
// than the caches). A profile rates each node's GFLOP/s (GOP/s for the integer ops) or GB/s against them.

import { WasmModule } from '../../codegen/wasm.js';

export interface Peak {
  /** f32 operations per second, billions (a mul and an add are two). */
  gflops: number;
  /** Integer operations per second as the int8 kernels do them (i32x4.dot_i16x8_s), billions; multiply-adds count two. */
  gops: number;
  /** Bytes read plus bytes written per second by memory.copy, billions. */
  gbps: number;
  /** How they were measured, for the report. */
  how: string;
}

const CHAINS = 10; // independent accumulators: more than latency x throughput of the mul/add ports
const COPY_BYTES = 64 << 20; // well beyond the last-level cache

function peakModule(): Uint8Array {
  const w = new WasmModule('simd');
  try {
    w.addFunction('arith', ['i32'], 'f32', (k) => {
      const acc = Array.from({ length: CHAINS }, () => k.local('v128'));
      const scale = k.local('v128'), offset = k.local('v128');
      let sum = acc[0].get();
      for (let c = 1; c < CHAINS; c++) sum = k.f32x4.add(sum, acc[c].get());
      return [
        scale.set(k.f32x4.splat(k.cf32(0.999))), offset.set(k.f32x4.splat(k.cf32(0.001))),
        ...acc.map((a, c) => a.set(k.f32x4.splat(k.cf32(c)))),
        k.dynLoop(k.c32(0), k.params[0].get(), () => acc.map((a) => a.set(k.f32x4.add(k.f32x4.mul(a.get(), scale.get()), offset.get())))),
        k.f32x4.extract_lane(sum, 0),
      ];
    });
    // Each chain's dot reads its own accumulator, so V8 cannot hoist it out of the loop.
    w.addFunction('dot', ['i32'], 'i32', (k) => {
      const acc = Array.from({ length: CHAINS }, () => k.local('v128'));
      const b = k.local('v128');
      let sum = acc[0].get();
      for (let c = 1; c < CHAINS; c++) sum = k.i32x4.add(sum, acc[c].get());
      return [
        b.set(k.i16x8.splat(k.c32(3))),
        ...acc.map((a, c) => a.set(k.i32x4.splat(k.c32(c)))),
        k.dynLoop(k.c32(0), k.params[0].get(), () => acc.map((a) => a.set(k.i32x4.add(a.get(), k.i32x4.dot_i16x8_s(a.get(), b.get()))))),
        k.i32x4.extract_lane(sum, 0),
      ];
    });
    w.addFunction('copy', [], 'none', (k) => k.copy(k.c32(COPY_BYTES), k.c32(0), COPY_BYTES));
    w.exportFunction('arith');
    w.exportFunction('dot');
    w.exportFunction('copy');
    return w.finish(2 * COPY_BYTES + 65536, true);
  } finally {
    w.dispose();
  }
}

/**
 * The best time of fn (ms) once it has settled: at least half a second of calls and then ten in a row without a
 * new best. V8 first runs wasm in its baseline tier and swaps in optimized code, compiled in the background
 * (late on a loaded machine), between calls.
 */
function settled(fn: () => void): number {
  let min = Infinity;
  const start = performance.now();
  for (let since = 0; since < 10 || performance.now() - start < 500; since++) {
    const t0 = performance.now();
    fn();
    const t = performance.now() - t0;
    if (t < min * 0.98) since = 0;
    min = Math.min(min, t);
    if (performance.now() - start > 5000) break;
  }
  return min;
}

export function measurePeak(): Peak {
  const bytes = peakModule();
  const instance = () => new WebAssembly.Instance(new WebAssembly.Module(bytes as BufferSource), {}).exports;
  const iters = 500_000;
  // A first instance gets hot: V8 then has optimized code for the module, which the measured instance uses too.
  const warm = instance() as { arith: (n: number) => number; dot: (n: number) => number };
  for (let i = 0; i < 20; i++) warm.arith(iters), warm.dot(iters);
  const { arith, dot, copy } = instance() as { arith: (n: number) => number; dot: (n: number) => number; copy: () => void };
  const arithMs = settled(() => arith(iters));
  const dotMs = settled(() => dot(iters));
  const copyMs = settled(() => copy());
  return {
    gflops: (iters * CHAINS * 8) / arithMs / 1e6,
    gops: (iters * CHAINS * 16) / dotMs / 1e6,
    gbps: (2 * COPY_BYTES) / copyMs / 1e6,
    how: `f32x4 mul+add and i32x4.dot_i16x8_s+add over ${CHAINS} independent chains; memory.copy of ${COPY_BYTES >> 20} MB (read + write); the best run once half a second and ten runs in a row brought no better one`,
  };
}
