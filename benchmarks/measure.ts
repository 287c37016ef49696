// Timing and checking: interleaved steady-state runs (so machine noise hits every engine alike), summary
// statistics, and the largest output difference against a reference engine.

import type { Engine, EngineName, Outputs } from './engines.js';

export interface Stats { runs: number; median: number; p90: number; mean: number; min: number }

/** Nearest-rank percentile of sorted samples (p in [0, 1]). */
function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))];
}

export function median(samples: number[]): number {
  const s = [...samples].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid] : (s[mid - 1] + s[mid]) / 2;
}

export function summarize(samples: number[]): Stats {
  const s = [...samples].sort((a, b) => a - b);
  return {
    runs: s.length, median: median(s), p90: percentile(s, 0.9),
    mean: s.reduce((a, b) => a + b, 0) / s.length, min: s[0],
  };
}

export async function timeRun(engine: Engine): Promise<{ ms: number; outputs: Outputs }> {
  const t0 = performance.now();
  const r = engine.run();
  const outputs = r instanceof Promise ? await r : r;
  return { ms: performance.now() - t0, outputs };
}

/**
 * Warm-up rounds, then `runs` rounds in which every engine runs once; the starting engine rotates each round
 * (A B C, B C A, C A B, ...) so no engine always follows the same neighbour. An engine that throws is dropped
 * from the rotation and its error returned.
 */
export async function interleaved(engines: Engine[], warmup: number, runs: number, onRound?: (i: number) => void) {
  const samples = new Map<EngineName, number[]>(engines.map((e) => [e.name, []]));
  const errors = new Map<EngineName, Error>();
  let active = [...engines];
  for (let i = 0; i < warmup + runs && active.length; i++) {
    for (const e of active.slice(i % active.length).concat(active.slice(0, i % active.length))) {
      try {
        const { ms } = await timeRun(e);
        if (i >= warmup) samples.get(e.name)!.push(ms);
      } catch (err) {
        errors.set(e.name, err as Error);
        active = active.filter((x) => x !== e);
      }
    }
    onRound?.(i);
  }
  for (const name of errors.keys()) samples.delete(name);
  return { samples, errors };
}

export interface Difference {
  /** Largest |ours - reference| over all outputs (Infinity if NaNs disagree or shapes differ). */
  maxAbsDiff: number;
  /** Largest |reference|: the scale the difference should be read against. */
  maxAbsRef: number;
  /**
   * Worst over the outputs of max |ours - reference| / (max(reference) - min(reference)): the int8 section's
   * measure (quantization error scales with an output's range, not with its largest value).
   */
  maxDiffOverRange: number;
  /** Set when outputs are missing or shaped differently. */
  problem?: string;
}

export function compareOutputs(actual: Outputs, reference: Outputs): Difference {
  let maxAbsDiff = 0, maxAbsRef = 0, maxDiffOverRange = 0;
  const problems: string[] = [];
  for (const [name, ref] of Object.entries(reference)) {
    const got = actual[name];
    if (!got) { problems.push(`output ${name} missing`); continue; }
    if (got.shape.join('x') !== ref.shape.join('x')) { problems.push(`output ${name} shape [${got.shape}] vs [${ref.shape}]`); continue; }
    let outputDiff = 0, lo = Infinity, hi = -Infinity;
    for (let i = 0; i < ref.data.length; i++) {
      const a = Number(got.data[i]), b = Number(ref.data[i]);
      if (Number.isNaN(a) && Number.isNaN(b)) continue;
      const d = a === b ? 0 : Math.abs(a - b);
      outputDiff = Math.max(outputDiff, Number.isNaN(d) ? Infinity : d);
      if (Number.isFinite(b)) { maxAbsRef = Math.max(maxAbsRef, Math.abs(b)); lo = Math.min(lo, b); hi = Math.max(hi, b); }
    }
    maxAbsDiff = Math.max(maxAbsDiff, outputDiff);
    const range = hi - lo;
    maxDiffOverRange = Math.max(maxDiffOverRange, outputDiff === 0 ? 0 : range > 0 ? outputDiff / range : Infinity);
  }
  if (problems.length) maxAbsDiff = maxDiffOverRange = Infinity;
  return { maxAbsDiff, maxAbsRef, maxDiffOverRange, problem: problems.length ? problems.join('; ') : undefined };
}
