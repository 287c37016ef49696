// Runs a profiling build (compile(..., { profile: true })) and rates its nodes: each node's mean milliseconds
// over the timed runs, its share of the run, and its GFLOP/s (GEMM-like ops and recurrent layers) or GB/s (the
// rest) against the machine's peaks. The whole run is timed around model.run() (inputs copied in, outputs out).

import { loadSync, type DType, type Model, type ProfiledNode, type TypedArray } from '../../runtime-min/index.js';
import type { Peak } from './peak.js';

export interface NodeProfile extends ProfiledNode {
  /** Mean milliseconds per run. */
  ms: number;
  /** ms / the whole run's mean. */
  share: number;
  /** Billions of arithmetic operations per second (float, or integer for INTEGER_OPS), multiply-adds counting two. */
  gflops?: number;
  gbps: number;
  /** gflops over the f32 or integer arithmetic peak when the node has FLOPs, else GB/s over the copy bandwidth. */
  ofPeak?: number;
}

export interface ProfileResult {
  runs: number;
  warmup: number;
  /** Bytes read before each timed run to evict the caches (0: runs back to back, weights may stay cached). */
  evictBytes: number;
  /** Mean ms of a whole model.run(). */
  totalMs: number;
  /** Sum of the nodes' mean ms, and its fraction of totalMs (the rest is run()'s own work and the copies). */
  nodesMs: number;
  coverage: number;
  peak?: Peak;
  /** Slowest first. */
  nodes: NodeProfile[];
  /** Per op type: nodes, ms and share, slowest first. */
  byOp: { op: string; nodes: number; ms: number; share: number }[];
}

// float16 and bfloat16 inputs travel as their 16-bit patterns, bool as bytes (as runtime-min takes them).
const ARRAYS: Record<DType, new (n: number) => TypedArray> = {
  float32: Float32Array, float64: Float64Array, float16: Uint16Array, bfloat16: Uint16Array, int8: Int8Array, int16: Int16Array,
  int32: Int32Array, int64: BigInt64Array, uint8: Uint8Array, uint16: Uint16Array, uint32: Uint32Array, uint64: BigUint64Array, bool: Uint8Array,
};

/**
 * Seeded inputs for the manifest's inputs: float32/float64 in [-1, 1), 16-bit floats 1.0, integers in [0, 10)
 * (valid as small indices), bool 0/1, image bytes in [0, 256).
 */
export function syntheticFeeds(model: Model): Record<string, TypedArray> {
  let s = 0x2545f491;
  const random = () => ((s = (Math.imul(s ^ (s >>> 15), 0x2c1b3c6d) + 0x6d2b79f5) >>> 0), s / 4294967296);
  const feeds: Record<string, TypedArray> = {};
  for (const e of model.manifest.inputs) {
    const array = new ARRAYS[e.dtype](e.shape.reduce((a, b) => a * b, 1));
    for (let i = 0; i < array.length; i++) {
      const v = e.dtype === 'float32' || e.dtype === 'float64' ? random() * 2 - 1 : e.dtype === 'float16' ? 0x3c00 : e.dtype === 'bfloat16' ? 0x3f80
        : Math.floor(random() * (e.image ? 256 : e.dtype === 'bool' ? 2 : 10));
      array[i] = (typeof array[0] === 'bigint' ? BigInt(v) : v) as never;
    }
    feeds[e.name] = array;
  }
  return feeds;
}

/** Ops whose arithmetic is integer (the int8 GEMM's i32x4.dot_i16x8_s): rated in GOP/s against the integer peak. */
const INTEGER_OPS = new Set(['QLinearConv', 'ConvInteger', 'QLinearMatMul', 'MatMulInteger', 'QGemm']);

/** What `cold: true` reads before each timed run: twice a 32 MB last-level cache. */
export const EVICT_BYTES = 64 << 20;

/**
 * Reads one int per 64-byte line of `buffer`, so that whatever the caches held (the model's weights) is gone. It
 * reads rather than writes, as another engine's inference mostly does: written lines would be written back to
 * memory during the next run and slow it down more than the suite sees. The sum goes back into the buffer's
 * first element (one written line), so the engine cannot drop the reads.
 */
function evict(buffer: Int32Array): void {
  let sum = 0;
  for (let i = 16; i < buffer.length; i += 16) sum += buffer[i];
  buffer[0] = sum;
}

/**
 * Runs the profiling build `warmup` times, then `runs` timed times. `cold`: before each timed run (outside its
 * timing), evict the caches, as another engine's run does in the benchmark suite's alternation: a model whose
 * weights fit the last-level cache (a transformer decoder step's 26 MB in 32 MB) runs faster back to back than
 * the suite measures it, and the difference is memory bandwidth inside the kernels, not overhead outside them.
 */
export function profileModel(
  wasm: Uint8Array,
  options: { runs?: number; warmup?: number; feeds?: Record<string, TypedArray>; peak?: Peak; cold?: boolean } = {},
): ProfileResult {
  const model = loadSync(wasm);
  if (!model.manifest.profile) throw new Error('not a profiling build: compile with { profile: true } (onnx2wasm --profile)');
  const runs = options.runs ?? 20, warmup = options.warmup ?? 3;
  const feeds = options.feeds ?? syntheticFeeds(model);
  for (let i = 0; i < warmup; i++) model.run(feeds);
  const sums = new Float64Array(model.manifest.profile.nodes.length);
  // Filled, so that its pages are real memory (untouched pages all read the one zero page and evict nothing)
  const junk = options.cold ? new Int32Array(EVICT_BYTES / 4).fill(1) : undefined;
  let total = 0;
  for (let r = 0; r < runs; r++) {
    if (junk) evict(junk);
    const t0 = performance.now();
    model.run(feeds);
    total += performance.now() - t0;
    model.profile().forEach((n, i) => (sums[i] += n.ms));
  }
  const totalMs = total / runs;
  const peak = options.peak;
  const nodes: NodeProfile[] = model.manifest.profile.nodes.map((n, i) => {
    const ms = sums[i] / runs;
    const gflops = n.flops !== undefined && ms > 0 ? n.flops / ms / 1e6 : undefined;
    const gbps = ms > 0 ? n.bytes / ms / 1e6 : 0;
    const ofPeak = peak && ms > 0 ? (gflops !== undefined ? gflops / (INTEGER_OPS.has(n.op) ? peak.gops : peak.gflops) : gbps / peak.gbps) : undefined;
    return { ...n, ms, share: ms / totalMs, ...(gflops !== undefined && { gflops }), gbps, ...(ofPeak !== undefined && { ofPeak }) };
  });
  const nodesMs = nodes.reduce((a, n) => a + n.ms, 0);
  const ops = new Map<string, { op: string; nodes: number; ms: number; share: number }>();
  for (const n of nodes) {
    const o = ops.get(n.op) ?? ops.set(n.op, { op: n.op, nodes: 0, ms: 0, share: 0 }).get(n.op)!;
    o.nodes++;
    o.ms += n.ms;
    o.share += n.share;
  }
  return {
    runs, warmup, evictBytes: junk ? junk.byteLength : 0, totalMs, nodesMs, coverage: nodesMs / totalMs, ...(peak && { peak }),
    nodes: nodes.sort((a, b) => b.ms - a.ms), byOp: [...ops.values()].sort((a, b) => b.ms - a.ms),
  };
}

const pct = (v: number) => `${(100 * v).toFixed(1)}%`;
const fixed = (v: number) => (v >= 100 ? v.toFixed(0) : v >= 10 ? v.toFixed(1) : v.toFixed(2));

/** The terminal table: nodes by share of time (the top `limit`), then the per-op summary and the totals. */
export function formatProfile(r: ProfileResult, limit = 40): string {
  const head = ['share', 'ms', 'op', 'variant', 'output shape', 'rate', 'of peak', 'node'];
  const rows = r.nodes.slice(0, limit).map((n) => [
    pct(n.share), n.ms.toFixed(3), n.op, n.variant, n.shape.join('x') || 'scalar',
    n.gflops !== undefined ? `${fixed(n.gflops)} ${INTEGER_OPS.has(n.op) ? 'GOP/s' : 'GFLOP/s'}` : `${fixed(n.gbps)} GB/s`,
    n.ofPeak !== undefined ? pct(n.ofPeak) : '–', n.name,
  ]);
  const lines = table([head, ...rows], 2);
  if (r.nodes.length > limit) lines.push(`... ${r.nodes.length - limit} more nodes (all in the JSON)`);
  lines.push('', ...table([['op', 'nodes', 'ms', 'share'], ...r.byOp.map((o) => [o.op, String(o.nodes), o.ms.toFixed(3), pct(o.share)])], 0, 1), '');
  const cold = r.evictBytes ? `, caches evicted before each (${r.evictBytes >> 20} MB read)` : '';
  lines.push(`run ${r.totalMs.toFixed(3)} ms (mean of ${r.runs} after ${r.warmup} warm-up${cold}); nodes ${r.nodesMs.toFixed(3)} ms = ${pct(r.coverage)} of it`);
  if (r.peak) lines.push(`peak: ${r.peak.gflops.toFixed(1)} GFLOP/s f32, ${r.peak.gbps.toFixed(1)} GB/s, ${r.peak.gops.toFixed(1)} GOP/s int8 (${r.peak.how})`);
  lines.push('FLOPs count the multiply-adds of the direct computation: a Winograd kernel does fewer, and can rate above 100% of peak');
  return lines.join('\n') + '\n';
}

/** Columns padded to their widest cell; numbers (columns [from, to)) aligned right. */
function table(rows: string[][], numbersTo: number, numbersFrom = 0): string[] {
  const widths = rows[0].map((_, c) => Math.max(...rows.map((row) => row[c].length)));
  const right = (c: number) => c >= numbersFrom && c < (numbersTo || rows[0].length);
  return rows.map((row) => row.map((cell, c) => (right(c) ? cell.padStart(widths[c]) : cell.padEnd(widths[c]))).join('  ').trimEnd());
}
