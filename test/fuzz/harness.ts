// Runs a fuzz campaign in worker processes (worker.ts) with a heap cap, and a per-case time bound that is a
// safety bound on the harness, not a speed assertion: a case that makes no progress for that long is recorded as
// a hang, its worker killed, and the campaign goes on from the next case; a worker that dies is a crash.

import { spawn } from 'node:child_process';
import { rmSync } from 'node:fs';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';
import type { CaseResult, Outcome } from './worker.js';

export interface CampaignOptions {
  seed: number;
  count: number;
  /** A case running longer than this is a hang (default 120 s: a shared, busy machine is slow). */
  hangSeconds?: number;
  /** The worker's V8 heap cap (default 1024 MB). */
  heapMB?: number;
  onResult?: (r: CampaignResult) => void;
}

export type CampaignOutcome = Outcome | 'hang' | 'crash' | 'oracle-crash';
export interface CampaignResult { i: number; id: string; outcome: CampaignOutcome; detail?: string; maxRssMB?: number }

export interface CampaignSummary { results: CampaignResult[]; counts: Record<CampaignOutcome, number>; peakRssMB: number }

const WORKER_SOURCE = fileURLToPath(new URL('./worker.ts', import.meta.url));

/**
 * The worker bundled into one ES module beside its source (so that its relative paths hold), with packages left
 * to Node: running it through tsx would transpile binaryen's 10 MB of JavaScript in every worker, which alone
 * takes 1.6 GB of memory and would drown the memory figure of the code under test.
 */
async function bundleWorker(): Promise<string> {
  const out = fileURLToPath(new URL(`./.worker-${process.pid}.mjs`, import.meta.url));
  await build({ entryPoints: [WORKER_SOURCE], outfile: out, bundle: true, platform: 'node', format: 'esm', packages: 'external', logLevel: 'error' });
  return out;
}
const OUTCOMES: CampaignOutcome[] = ['ok', 'ok-unverified', 'error', 'wrong-code', 'wrong', 'internal', 'leftover', 'hang', 'crash', 'oracle-crash'];

export async function runCampaign(opts: CampaignOptions): Promise<CampaignSummary> {
  const worker = await bundleWorker();
  try {
    return await campaign(worker, opts);
  } finally {
    rmSync(worker, { force: true });
  }
}

async function campaign(worker: string, opts: CampaignOptions): Promise<CampaignSummary> {
  const results: CampaignResult[] = [];
  let peakRssMB = 0;
  let next = 0;
  while (next < opts.count) {
    const { done, failed } = await runWorker(worker, opts, next, (r) => {
      results.push(r);
      peakRssMB = Math.max(peakRssMB, r.maxRssMB ?? 0);
      opts.onResult?.(r);
    });
    next = done;
    if (failed) {
      results.push(failed);
      opts.onResult?.(failed);
      next = failed.i + 1;
    }
  }
  const counts = Object.fromEntries(OUTCOMES.map((o) => [o, results.filter((r) => r.outcome === o).length])) as Record<CampaignOutcome, number>;
  return { results, counts, peakRssMB };
}

/** One worker from case `from` on; resolves with the next case to run and, after a hang or crash, its result. */
function runWorker(worker: string, opts: CampaignOptions, from: number, report: (r: CampaignResult) => void): Promise<{ done: number; failed?: CampaignResult }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, [`--max-old-space-size=${opts.heapMB ?? 1024}`, worker, String(opts.seed), String(from), String(opts.count)], {
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let current = from, phase = 'start', stderr = '';
    let timer: NodeJS.Timeout | undefined;
    let hung = false;
    const arm = () => {
      clearTimeout(timer);
      timer = setTimeout(() => { hung = true; child.kill('SIGKILL'); }, (opts.hangSeconds ?? 120) * 1000);
    };
    arm();
    child.stderr.on('data', (d) => { stderr = (stderr + d).slice(-2000); });
    createInterface({ input: child.stdout }).on('line', (line) => {
      let event: { start?: number; phase?: string } & Partial<CaseResult>;
      try {
        event = JSON.parse(line);
      } catch {
        return; // stray output of a library
      }
      if (event.start !== undefined) {
        if (event.start !== current) arm(); // the time bound is per case
        current = event.start;
        phase = event.phase ?? phase;
      } else if (event.outcome) {
        report(event as CaseResult);
        current = event.i! + 1;
        arm();
      }
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      if (current >= opts.count) return resolve({ done: current });
      const outcome: CampaignOutcome = hung ? 'hang' : phase === 'oracle' ? 'oracle-crash' : 'crash';
      const detail = hung ? `no result after ${opts.hangSeconds ?? 120} s (phase ${phase})` : `worker exited with ${signal ?? code} in phase ${phase}: ${stderr.trim().split('\n').slice(-3).join(' | ')}`;
      resolve({ done: current, failed: { i: current, id: `case ${current}`, outcome, detail } });
    });
  });
}
