// `npm run profile -- model.onnx [--shape name=dims]... [--runs N] [--warmup N] [--cold] [--target simd|scalar]
// [--json FILE] [--top N]`: compiles a profiling build, runs it, prints its nodes by share of time (op type, kernel variant,
// output shape, ms, GFLOP/s or GB/s against the machine's measured peak) and writes the same as JSON.

import { existsSync, writeFileSync } from 'node:fs';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { CompileError } from '../src/errors.js';

const USAGE = `usage: npm run profile -- model.onnx [--shape name=dims]... [--runs N] [--warmup N] [--cold] [--target simd|scalar]
                            [--json FILE] [--top N]

  --shape name=dims  static shape for an input (as onnx2wasm --shape)
  --runs N           timed runs (default 20); node times are their means
  --warmup N         untimed runs first (default 3)
  --cold             evict the caches before each timed run (64 MB read, untimed), as another engine's run
                     does in the benchmark suite; without it, weights that fit the cache stay there between runs
  --target T         simd (default) or scalar
  --json FILE        where the JSON goes (default: MODEL.profile.json in the current folder; - prints it)
  --top N            nodes in the table (default 40; the JSON has all)`;

class UsageError extends Error {}

function whole(name: string, v: string | undefined, dflt: number, min: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new UsageError(`--${name} takes a whole number >= ${min}, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      allowPositionals: true,
      options: {
        shape: { type: 'string', multiple: true }, runs: { type: 'string' }, warmup: { type: 'string' }, cold: { type: 'boolean' }, target: { type: 'string' },
        json: { type: 'string' }, top: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values, positionals } = parsed;
  if (values.help) { console.log(USAGE); return; }
  if (positionals.length !== 1) throw new UsageError(positionals.length ? `expected one model file, got ${positionals.join(' ')}` : 'no model file given');
  const model = positionals[0];
  const runs = whole('runs', values.runs, 20, 1), warmup = whole('warmup', values.warmup, 3, 0), top = whole('top', values.top, 40, 1);
  if (!existsSync(model)) throw new UsageError(`${model}: no such file (see --help)`);
  // The compiler (and binaryen) load only once the arguments are good: a usage error answers at once.
  const [{ nameValue, parseDims }, { compile }, { measurePeak }, { formatProfile, profileModel }] = await Promise.all([
    import('../src/cli.js'), import('../src/index.js'), import('../src/profile/peak.js'), import('../src/profile/run.js'),
  ]);
  const target = values.target ?? 'simd';
  if (target !== 'simd' && target !== 'scalar') throw new UsageError(`--target must be simd or scalar, got "${target}"`);
  const shapes: Record<string, number[]> = {};
  for (const arg of values.shape ?? []) {
    const [name, dims] = nameValue('--shape', arg);
    shapes[name] = parseDims(`--shape ${name}`, dims);
  }
  const json = values.json ?? `${basename(model).replace(/\.onnx$/i, '')}.profile.json`;

  const { wasm, report } = await compile(model, { shapes, target, profile: true });
  const peak = measurePeak();
  const result = profileModel(wasm, { runs, warmup, peak, cold: values.cold });
  const text = JSON.stringify({ model, target, compile: { sizes: report.sizes, variants: report.variants }, ...result }, null, 2) + '\n';
  if (json === '-') { process.stdout.write(text); return; }
  process.stdout.write(`${model} (target ${target})\n\n${formatProfile(result, top)}`);
  writeFileSync(json, text);
  console.log(`wrote ${json}`);
}

main().catch((e: Error) => {
  const user = e instanceof UsageError || (e instanceof CompileError && e.code !== 'INTERNAL') || e.constructor?.name === 'UsageError';
  console.error(e instanceof UsageError ? `profile: ${e.message}` : `profile: ${user ? '' : 'internal error: '}${e.message.split('\n')[0]}`);
  if (process.env.DEBUG) console.error(e);
  process.exit(user ? 1 : 2);
});
