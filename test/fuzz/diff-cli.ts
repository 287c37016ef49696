// `npm run fuzz:diff -- [--count N] [--seed S]`: random operator chains against onnxruntime-node on both targets.
// Prints each mismatch or internal error with its minimised reproduction (a builder spec), then a table; exits 1
// on any mismatch or internal error.

import { parseArgs } from 'node:util';
import { diffCase, type DiffOutcome } from './diff.js';

const { values } = parseArgs({ options: { count: { type: 'string' }, seed: { type: 'string' }, verbose: { type: 'boolean', short: 'v' } } });
const count = Number(values.count ?? 500), first = Number(values.seed ?? 1);
const counts: Record<DiffOutcome, number> = { agree: 0, mismatch: 0, internal: 0, 'we-refuse': 0, 'ort-refuses': 0 };
const t0 = performance.now();
for (let seed = first; seed < first + count; seed++) {
  const r = await diffCase(seed);
  counts[r.outcome]++;
  if (r.outcome !== 'agree' || values.verbose) {
    console.log(`seed ${seed} ${r.outcome}: ${r.labels.join(' -> ')}${r.detail ? ` | ${r.detail}` : ''}`);
    if (r.repro) console.log(`  minimised: ${r.repro}`);
  }
  if (process.stderr.isTTY) process.stderr.write(`\r${seed - first + 1}/${count}`);
}
if (process.stderr.isTTY) process.stderr.write('\r\x1b[K');
const rows: [string, number | string][] = [
  ['graphs', count],
  ['agree on both targets', counts.agree],
  ['mismatches', counts.mismatch],
  ['internal errors', counts.internal],
  ['refused by onnx2wasm (clean error)', counts['we-refuse']],
  ['refused by onnxruntime-node', counts['ort-refuses']],
  ['time', `${Math.round((performance.now() - t0) / 1000)} s`],
];
const width = Math.max(...rows.map(([k]) => k.length));
console.log(`\ndifferential fuzzing, seeds ${first}..${first + count - 1}, simd and scalar against onnxruntime-node\n` +
  rows.map(([k, v]) => `  ${k.padEnd(width)}  ${String(v).padStart(6)}`).join('\n'));
process.exitCode = counts.mismatch + counts.internal ? 1 : 0;
