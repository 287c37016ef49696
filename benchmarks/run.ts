// `npm run bench [-- options]`: the size/speed suite, onnx2wasm against onnxruntime-web (and onnxruntime-node).

import { statSync } from 'node:fs';
import { parseArgs } from 'node:util';

const USAGE = `usage: npm run bench -- [--models DIR | --int8 DIR --fp32 DIR | --zoo | --ops] [--filter REGEX] [--runs N]
                          [--warmup N] [--cold N] [--target simd|scalar] [--out DIR]

  --models DIR   measure every DIR/*/model.onnx (inputs from test_data_set_0 when present);
                 default: the suite's built-in models (benchmarks/models)
  --int8 DIR     the int8 section: every QDQ model DIR/*/model.onnx against onnxruntime-web and
                 onnxruntime-node, and against onnx2wasm's module of the fp32 model of the same name
  --fp32 DIR     with --int8: where the fp32 models are (DIR/NAME/model.onnx)
  --zoo          the zoo section: whole networks the suite builds (U-Net, AlexNet-like, keyword spotting,
                 LSTM, detection neck, transformer decoder step), against issue 10's targets
  --ops          the single-operator section (issue 10's configurations and common Conv, Resize,
                 pooling, normalization and Softmax shapes); with --zoo, both in one run
  --filter RE    only models whose name matches RE
  --runs N       timed steady-state runs per engine (default 20)
  --warmup N     untimed runs first (default 5)
  --cold N       fresh processes per engine for the cold start (default 3, with --zoo/--ops 0; 0 skips)
  --target T     simd (default) or scalar
  --out DIR      where results.json, results.md and ratios.svg go (default benchmarks/results)`;

class UsageError extends Error {}

function count(name: string, v: string | undefined, dflt: number): number {
  if (v === undefined) return dflt;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new UsageError(`--${name} takes a whole number, got "${v}"`);
  return n;
}

async function main(): Promise<void> {
  let parsed;
  try {
    parsed = parseArgs({
      options: {
        models: { type: 'string' }, int8: { type: 'string' }, fp32: { type: 'string' }, filter: { type: 'string' }, runs: { type: 'string' }, warmup: { type: 'string' },
        zoo: { type: 'boolean' }, ops: { type: 'boolean' }, cold: { type: 'string' }, target: { type: 'string' }, out: { type: 'string' }, help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  const { values } = parsed;
  if (values.help) { console.log(USAGE); return; }
  const target = values.target ?? 'simd';
  if (target !== 'simd' && target !== 'scalar') throw new UsageError(`--target must be simd or scalar, got "${target}"`);
  const runs = count('runs', values.runs, 20);
  if (runs < 1) throw new UsageError('--runs must be at least 1');
  for (const option of ['models', 'int8', 'fp32'] as const) {
    const dir = values[option];
    if (dir !== undefined && !statSync(dir, { throwIfNoEntry: false })?.isDirectory()) throw new UsageError(`--${option}: ${dir} is not a folder`);
  }
  if (values.int8 !== undefined && values.models !== undefined) throw new UsageError('--models and --int8 are separate runs: give one of them');
  if ((values.zoo || values.ops) && (values.models !== undefined || values.int8 !== undefined)) {
    throw new UsageError('--zoo and --ops measure the suite\'s own models: give them without --models or --int8');
  }
  if ((values.int8 === undefined) !== (values.fp32 === undefined)) throw new UsageError('--int8 and --fp32 go together (the QDQ models and the fp32 models they were quantized from)');
  let filter: RegExp | undefined;
  try {
    filter = values.filter !== undefined ? new RegExp(values.filter) : undefined;
  } catch (e) {
    throw new UsageError(`--filter: ${(e as Error).message}`);
  }
  // The suite (the compiler, both onnxruntimes) loads only once the arguments are good: a usage error answers at once.
  const { runSuite } = await import('./suite.js');
  await runSuite({
    models: values.models,
    int8: values.int8 !== undefined ? { dir: values.int8, fp32: values.fp32!, builtin: true } : undefined,
    zoo: values.zoo || values.ops ? { zoo: values.zoo, ops: values.ops } : undefined,
    filter,
    runs,
    warmup: count('warmup', values.warmup, 5),
    coldReps: values.cold !== undefined ? count('cold', values.cold, 0) : undefined,
    target,
    out: values.out,
  });
}

main().catch((e: Error) => {
  // Failures inside one model never get here (they become rows); this is setup going wrong.
  console.error(e instanceof UsageError ? `bench: ${e.message}\n\n${USAGE}` : process.env.DEBUG ? e : `bench: ${e.message}`);
  process.exit(1);
});
