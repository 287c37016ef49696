// Runs fuzz cases [from, to) of a seed in this process and prints one JSON line per event: {"start": i, "phase"}
// before each risky step (so the harness knows which case hung or crashed), then the case's result. The harness
// (harness.ts) runs this file in a child process with a heap cap and restarts it after a hang or a crash.
//
//   (bundled by the harness) node worker.mjs <seed> <from> <to>

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { compile, CompileError } from '../../src/index.js';
import { main as cli } from '../../src/cli.js';
import { encodeModel } from '../../src/onnx/encode.js';
import { readNumber, type TypedArray } from '../../src/ir/dtype.js';
import { load, loadSync, type Model } from '../../runtime-min/index.js';
import { firstMismatch, randomTensor, rng, runOrt, type Feeds } from '../helpers/oracle.js';
import { caseAt, DIGITS_ONNX, type ModelCase, type ModuleCase } from './cases.js';

export type Outcome =
  | 'ok'            // compiled (or loaded), ran, and agrees with onnxruntime-node
  | 'ok-unverified' // compiled and loads; onnxruntime-node refuses this model (no oracle), or it is too large to run here
  | 'error'         // a clean error: CompileError with a user code and a one-line message, or the runtime's Error
  | 'wrong-code'    // a hostile case that gave another error code (or none) than the one it must give
  | 'wrong'         // compiled, but the results differ from onnxruntime-node's
  | 'internal'      // CompileError INTERNAL, CLI exit 2, or a raw JS error: a bug
  | 'leftover';     // a file was left behind by a failed run

export interface CaseResult { i: number; id: string; outcome: Outcome; detail?: string; maxRssMB: number }

const say = (event: object) => process.stdout.write(JSON.stringify(event) + '\n');
let current = -1;
const phase = (name: string) => say({ start: current, phase: name });

async function runModelCase(c: ModelCase): Promise<[Outcome, string?]> {
  const dir = c.files || c.cli ? mkdtempSync(join(tmpdir(), 'onnx2wasm-fuzz-')) : undefined;
  const outside = dir ? mkdtempSync(join(tmpdir(), 'onnx2wasm-fuzz-outside-')) : undefined;
  try {
    let before: string[] = [];
    if (dir) {
      writeFileSync(join(dir, 'model.onnx'), c.bytes);
      for (const [name, f] of Object.entries(c.files ?? {})) {
        const path = join(dir, name);
        if (f.kind === 'bytes') writeFileSync(path, f.data);
        else if (f.kind === 'dir') mkdirSync(path);
        else if (f.kind === 'fifo') execFileSync('mkfifo', [path]);
        else {
          writeFileSync(join(outside!, 'secret.bin'), new Uint8Array(24).fill(0x41));
          symlinkSync(join(outside!, 'secret.bin'), path);
        }
      }
      before = listing(dir);
    }
    phase('compile');
    if (c.cli) {
      const args = c.cli.map((a, k) => (k > 0 && (c.cli![k - 1] === '-o' || c.cli![k - 1] === '--json') ? join(dir!, a) + (a.endsWith('/') ? '/' : '') : a));
      let err = '';
      const code = await cli([join(dir!, 'model.onnx'), ...args, '-q'], { out: () => {}, err: (t) => { err += t; }, tty: false });
      if (code === 2) return ['internal', err.trim()];
      if (code === 1) {
        if (!/^onnx2wasm: error: [^\n]+\n$/.test(err)) return ['internal', `CLI error output is not one line: ${JSON.stringify(err)}`];
        const left = listing(dir!).filter((f) => !before.includes(f));
        if (left.length) return ['leftover', left.join(', ')];
        return ['error', err.trim()];
      }
      if (c.expect) return ['wrong-code', `CLI exit ${code}, expected a ${c.expect} error`];
      return verify(c.bytes, readFileSync(join(dir!, 'm.wasm'))); // mutants run the CLI with -o m.wasm
    }
    let wasm: Uint8Array;
    try {
      ({ wasm } = await compile(dir ? join(dir, 'model.onnx') : c.bytes, { optimize: false }));
    } catch (e) {
      if (!(e instanceof CompileError) || e.code === 'INTERNAL') return ['internal', `${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`];
      if (e.message.includes('\n')) return ['internal', `message is not one line: ${e.message}`];
      if (dir) {
        const left = listing(dir).filter((f) => !before.includes(f));
        if (left.length) return ['leftover', left.join(', ')];
      }
      if (c.expect && e.code !== c.expect) return ['wrong-code', `${e.code}, expected ${c.expect}: ${e.message}`];
      return ['error', `${e.code}: ${e.message}`];
    }
    if (c.expect) return ['wrong-code', `compiled, expected ${c.expect}`];
    return await verify(c.bytes, wasm);
  } finally {
    if (dir) rmSync(dir, { recursive: true, force: true });
    if (outside) rmSync(outside, { recursive: true, force: true });
  }
}

const listing = (dir: string) => readdirSync(dir, { recursive: true }).map(String).sort();

const RUN_MAX_BYTES = 256 << 20;

/** A compiled module must load, run, and (where onnxruntime-node takes the model) agree with it. */
async function verify(model: Uint8Array, wasm: Uint8Array): Promise<[Outcome, string?]> {
  phase('run');
  // A valid module may need gigabytes (a mutant's batch of 65536): correct, but not for this harness to run.
  const [manifest] = WebAssembly.Module.customSections(new WebAssembly.Module(wasm), 'onnx2wasm.manifest');
  const total = JSON.parse(new TextDecoder().decode(manifest)).memory.total as number;
  if (total > RUN_MAX_BYTES) return ['ok-unverified', `needs ${total >> 20} MB of memory; not run by the harness`];
  let m: Model;
  try {
    m = loadSync(wasm, { warmup: false });
  } catch (e) {
    return ['internal', `the compiled module does not load: ${(e as Error).message}`];
  }
  const r = rng(1234);
  const feeds: Feeds = Object.fromEntries(m.inputs.map((e) => [e.name, randomTensor(e.dtype, e.shape, r)]));
  let ours: ReturnType<Model['run']>;
  try {
    ours = m.run(Object.fromEntries(Object.entries(feeds).map(([k, t]) => [k, t.data])));
  } catch (e) {
    if (/status/.test((e as Error).message)) return ['ok-unverified', (e as Error).message]; // an index input out of range: reported, as documented
    return ['internal', `the compiled module fails to run: ${(e as Error).message}`];
  }
  phase('oracle');
  let expected: Awaited<ReturnType<typeof runOrt>>;
  try {
    expected = await runOrt(model, feeds);
  } catch (e) {
    return ['ok-unverified', `onnxruntime-node: ${String((e as Error).message).split('\n')[0]}`];
  }
  for (const [name, e] of Object.entries(expected)) {
    const a = ours[name];
    if (!a || a.shape.join() !== e.shape.join()) return ['wrong', `output ${name}: shape [${a?.shape}] vs onnxruntime's [${e.shape}]`];
    // Half floats travel as raw bits: compare their values (two NaNs may differ in payload bits).
    const dtype = m.outputs.find((o) => o.name === name)!.dtype;
    const values = (d: TypedArray) => (dtype === 'float16' || dtype === 'bfloat16' ? Float32Array.from(d as Uint16Array, (_, i) => readNumber(dtype, d, i)) : d);
    const bad = firstMismatch(values(a.data), values(e.data as TypedArray), 1e-3, 1e-4);
    if (bad) return ['wrong', `output ${name}: ${bad}`];
  }
  return ['ok'];
}

const baseModules: Record<string, Uint8Array> = {};
async function baseModule(base: 'digits' | 'small'): Promise<Uint8Array> {
  if (!baseModules[base]) {
    const model = base === 'digits' ? new Uint8Array(readFileSync(DIGITS_ONNX)) : encodeModel({
      opset: 13, inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }], outputs: [{ name: 'y' }],
      nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['s'] }, { op: 'Relu', inputs: ['s'], outputs: ['y'] }],
      initializers: { w: { dtype: 'float32', shape: [2, 3], data: Float32Array.of(1, -2, 3, -4, 5, -6) } },
    });
    baseModules[base] = (await compile(model)).wasm;
  }
  return baseModules[base];
}

/** The runtime's own errors (and a trap from corrupted code) are clean; a raw TypeError or SyntaxError is not. */
const RUNTIME_ERROR = /truncated module|not a (valid )?WebAssembly module|not an onnx2wasm module|manifest|malformed module|does not fit|load\(\) takes|corrupted module|model run failed/;

async function runModuleCase(c: ModuleCase): Promise<[Outcome, string?]> {
  let source: unknown;
  if ('raw' in c.damage) source = c.damage.raw;
  else {
    const wasm = (await baseModule(c.base)).slice();
    if (c.damage.truncate !== undefined) source = wasm.subarray(0, c.damage.truncate < 1 ? Math.floor(c.damage.truncate * wasm.length) : c.damage.truncate);
    else {
      for (const f of c.damage.flips ?? []) { const bit = Math.floor(f * wasm.length * 8); wasm[bit >> 3] ^= 1 << (bit & 7); }
      source = wasm;
    }
  }
  phase('load');
  try {
    const m = c.sync ? loadSync(source as Uint8Array) : await load(source as Uint8Array);
    m.run(Object.fromEntries(m.inputs.map((e) => [e.name, randomTensor(e.dtype, e.shape, rng(1)).data])));
  } catch (e) {
    const message = (e as Error)?.message ?? String(e);
    const clean = e instanceof Error && (e.constructor === Error || e instanceof RangeError || e instanceof WebAssembly.RuntimeError) && RUNTIME_ERROR.test(message);
    if (!clean && !(e instanceof WebAssembly.RuntimeError)) return ['internal', `${(e as Error)?.constructor?.name}: ${message}`];
    if (c.expect && !c.expect.test(message)) return ['wrong-code', `${message}, expected ${c.expect}`];
    return ['error', message];
  }
  if (c.expect) return ['wrong-code', `loaded, expected ${c.expect}`];
  return ['ok'];
}

async function workerMain(): Promise<void> {
  const [seed, from, to] = process.argv.slice(2).map(Number);
  for (let i = from; i < to; i++) {
    current = i;
    const c = caseAt(seed, i);
    say({ start: i, phase: 'generate' });
    let outcome: Outcome, detail: string | undefined;
    try {
      [outcome, detail] = c.kind === 'model' ? await runModelCase(c) : await runModuleCase(c);
    } catch (e) {
      [outcome, detail] = ['internal', `harness: ${(e as Error)?.stack ?? e}`];
    }
    const result: CaseResult = { i, id: c.id, outcome, detail, maxRssMB: Math.round(process.resourceUsage().maxRSS / 1024) };
    say(result);
  }
}

await workerMain();
