// Hostile and broken input (issue 13): a short, seeded fuzz campaign in worker processes (a heap cap and a hang
// bound are the harness's safety net, not speed assertions). Every hostile reproduction must give its own error;
// every mutant of the example model and of builder graphs, and every damaged module, must be a clean error or a
// correct module, with no file left behind. `npm run fuzz -- --count N` runs a longer campaign.

import { beforeAll, describe, expect, it } from 'vitest';
import { hostileCases, hostileCount, hostileModules } from './fuzz/cases.js';
import { runCampaign, type CampaignSummary } from './fuzz/harness.js';
import { diffCase } from './fuzz/diff.js';

const MUTANTS = 60;

describe('fuzz: hostile and broken input', () => {
  let summary: CampaignSummary;
  beforeAll(async () => {
    summary = await runCampaign({ seed: 20261129, count: hostileCount() + MUTANTS });
  });
  const show = (i: number) => {
    const r = summary.results.find((x) => x.i === i);
    return r ? `${r.outcome}: ${r.detail}` : 'no result';
  };

  // Case i of the corpus is the i-th hostile case; the worker checks its error code (or the runtime's message).
  const hostile = [...hostileCases().map((c) => `${c.id} -> ${c.expect}`), ...hostileModules().map((c) => `runtime: ${c.id} -> ${c.expect}`)];
  hostile.forEach((name, i) => {
    it(name, () => {
      expect(show(i)).toMatch(/^error: /);
    });
  });

  it(`${MUTANTS} seeded mutants of models and modules: clean errors or correct modules; no hang, crash, internal error or leftover file`, () => {
    const failures = summary.results.filter((r) => !['ok', 'ok-unverified', 'error'].includes(r.outcome));
    expect(failures.map((r) => `case ${r.i} ${r.outcome}: ${r.id} | ${r.detail}`)).toEqual([]);
    expect(summary.results).toHaveLength(hostileCount() + MUTANTS);
    // Not all errors: mutants that stay valid compile and agree with onnxruntime-node.
    expect(summary.counts.ok).toBeGreaterThan(0);
    expect(summary.peakRssMB).toBeLessThan(1024);
  });
});

describe('fuzz: random operator chains against onnxruntime-node', () => {
  it('12 seeded chains of 2-6 operators agree on both targets (npm run fuzz:diff runs more)', async () => {
    const results = [];
    // Chains whose results do not depend on the CPU's last bits (see DISCONTINUOUS in fuzz/diff.ts).
    for (let seed = 1; seed <= 12; seed++) results.push(await diffCase(seed, true));
    const bad = results.filter((r) => r.outcome === 'mismatch' || r.outcome === 'internal');
    expect(bad.map((r) => `seed ${r.seed} ${r.outcome}: ${r.labels.join(' -> ')} | ${r.detail} | ${r.repro}`)).toEqual([]);
    // The generator makes valid graphs: both sides run nearly all of them (a refusal is not an agreement).
    expect(results.filter((r) => r.outcome === 'agree').length).toBeGreaterThanOrEqual(10);
  });
});
