// `npm run fuzz -- [--count N] [--seed S] [--hang-seconds T]`: a fuzz campaign of the compiler and the runtime on
// broken and hostile input. Prints each case that is not a clean error or a correct module, then a table.
// Exits 1 when any case hangs, crashes, errs internally, gives the wrong code or result, or leaves a file.

import { parseArgs } from 'node:util';
import { runCampaign, type CampaignOutcome } from './harness.js';

const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' }, 'hang-seconds': { type: 'string' }, verbose: { type: 'boolean', short: 'v' } } });
const count = Number(values.count ?? 2000), seed = Number(values.seed ?? 1);
const t0 = performance.now();
let seen = 0;
const summary = await runCampaign({
  seed, count, hangSeconds: values['hang-seconds'] ? Number(values['hang-seconds']) : undefined,
  onResult(r) {
    seen++;
    const quiet: CampaignOutcome[] = ['ok', 'error', 'ok-unverified'];
    if (!quiet.includes(r.outcome) || values.verbose) console.log(`case ${r.i} ${r.outcome}: ${r.id} | ${r.detail ?? ''}`.slice(0, 400));
    if (process.stderr.isTTY) process.stderr.write(`\r${seen}/${count}`);
  },
});
if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');

const c = summary.counts;
const rows: [string, number | string][] = [
  ['cases', summary.results.length],
  ['clean errors', c.error],
  ['ok modules (agree with onnxruntime-node)', c.ok],
  ['ok modules, unverified (onnxruntime-node refuses the model, or it needs over 256 MB)', c['ok-unverified']],
  ['hangs', c.hang],
  ['crashes', c.crash],
  ['internal errors', c.internal],
  ['wrong error code (hostile cases)', c['wrong-code']],
  ['wrong results', c.wrong],
  ['leftover files', c.leftover],
  ['onnxruntime-node crashes (oracle, not counted)', c['oracle-crash']],
  ['peak memory (worker max RSS)', `${summary.peakRssMB} MB`],
  ['time', `${Math.round((performance.now() - t0) / 1000)} s`],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\nfuzz campaign, seed ${seed}, ${count} cases\n` + rows.map(([k, v]) => `  ${k.padEnd(width)}  ${String(v).padStart(8)}`).join('\n'));
const bad = c.hang + c.crash + c.internal + c['wrong-code'] + c.wrong + c.leftover;
process.exitCode = bad ? 1 : 0;
