// The command line, run in-process through main(argv, io) plus one spawned smoke test: the report, the files
// written, and user errors (one line on stderr, exit 1, no file written or left partial).

import { afterAll, describe, expect, it, vi } from 'vitest';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { main, type CliIO } from '../src/cli.js';
import { encodeModel, graph } from '../src/onnx/encode.js';
import { loadSync } from '../runtime-min/index.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx2wasm-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

let fileCounter = 0;
/** Writes a model into a fresh folder of its own (so tests can list exactly what the CLI left there). */
function modelFile(bytes: Uint8Array, name = 'model.onnx'): string {
  const sub = join(dir, `case${fileCounter++}`);
  mkdirSync(sub);
  const path = join(sub, name);
  writeFileSync(path, bytes);
  return path;
}

/** Runs main() capturing stdout and stderr. */
async function cli(argv: string[], tty = false): Promise<{ code: number; out: string; err: string }> {
  let out = '', err = '';
  const io: CliIO = { out: (t) => void (out += t), err: (t) => void (err += t), tty };
  const code = await main(argv, io);
  return { code, out, err };
}

/** A user error: exit 1 and exactly one line on stderr, with no stack trace. */
async function userError(argv: string[], message: RegExp): Promise<void> {
  const r = await cli(argv);
  expect(r.code, r.err).toBe(1);
  expect(r.out).toBe('');
  expect(r.err).toMatch(/^onnx2wasm: error: [^\n]+\n$/);
  expect(r.err).toMatch(message);
}

const weights = { dtype: 'float32' as const, shape: [3, 100], data: Float32Array.from({ length: 300 }, (_, i) => Math.cos(i)) };
const addRelu = encodeModel({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: ['batch', 3, 100] }],
  outputs: [{ name: 'y' }],
  nodes: [{ op: 'Add', inputs: ['x', 'w'], outputs: ['s'] }, { op: 'Relu', inputs: ['s'], outputs: ['y'] }],
  initializers: { w: weights },
});
const reshapeByInput = encodeModel({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: [2, 3] }, { name: 'dims', dtype: 'int64', shape: [2] }],
  outputs: [{ name: 'y' }],
  nodes: [{ op: 'Reshape', inputs: ['x', 'dims'], outputs: ['y'] }],
});
const unsupported = encodeModel({
  opset: 13,
  inputs: [{ name: 'x', dtype: 'float32', shape: [4] }],
  outputs: [{ name: 'y' }],
  nodes: [
    { op: 'Frobnicate', inputs: ['x'], outputs: ['a'], name: 'frob_1' },
    { op: 'Wibble', inputs: ['a'], outputs: ['y'], name: 'wib' },
  ],
});

describe('onnx2wasm CLI: success', () => {
  it('writes the module next to the model and prints sizes, operators, memory and time', async () => {
    const model = modelFile(addRelu);
    const r = await cli([model, '--shape', 'x=2x3x100']);
    expect(r.code, r.err).toBe(0);
    expect(r.err).toBe('');
    const wasmPath = model.replace(/\.onnx$/, '.wasm');
    const wasm = readFileSync(wasmPath);
    const m = loadSync(wasm);
    expect(m.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [2, 3, 100] }]);
    const lines = r.out.split('\n');
    expect(lines[0]).toMatch(new RegExp(`^${wasmPath.replace(/[.]/g, '\\.')}\\s+${(wasm.length / 1000).toFixed(2)} kB │ gzip: +\\d+\\.\\d\\d kB$`));
    for (const row of ['code', 'weights', 'manifest']) expect(r.out).toMatch(new RegExp(`^  ${row}\\s+\\d+\\.\\d\\d kB │ gzip: +\\d+\\.\\d\\d kB$`, 'm'));
    expect(r.out).toMatch(/^operators {2}Add ×1 {2}Relu ×1 {2}\(2 of 2 nodes after folding, 2 kernels\)$/m);
    expect(r.out).toMatch(/^memory {5}arena 2\.40 kB \(lower bound 2\.40 kB\) · weights 1\.20 kB · io 4\.80 kB · linear memory 64 KiB \(1 page\)$/m);
    expect(r.out).toMatch(/^target {5}simd$/m);
    expect(r.out).toMatch(/\n✓ compiled .*model\.onnx in \d+ ms\n$/);
    expect(r.out).not.toContain('\x1b'); // no progress lines when stdout is not a terminal
    expect(readdirSync(join(model, '..')).sort()).toEqual(['model.onnx', 'model.wasm']);
  });

  it('-o, --target scalar, --no-optimize, --json file, -q', async () => {
    const model = modelFile(addRelu);
    const out = join(model, '..', 'custom.wasm');
    const json = join(model, '..', 'report.json');
    const r = await cli([model, '-o', out, '--shape', 'x=1x3x100', '--target', 'scalar', '--no-optimize', '--json', json, '-q']);
    expect([r.code, r.out, r.err]).toEqual([0, '', '']);
    const report = JSON.parse(readFileSync(json, 'utf8'));
    const wasm = readFileSync(out);
    expect(report).toMatchObject({ model, output: out, target: 'scalar', ops: { Add: 1, Relu: 1 }, nodes: { model: 2, emitted: 2 } });
    expect(report.file.total.bytes).toBe(wasm.length);
    expect(report.file.code.bytes + report.file.weights.bytes + report.file.manifest.bytes).toBe(wasm.length);
    expect(report.file.weights.bytes).toBeGreaterThanOrEqual(1200);
    expect(loadSync(wasm).manifest.target).toBe('scalar');
  });

  it('--json - prints the report as JSON instead of text', async () => {
    const model = modelFile(addRelu);
    const r = await cli([model, '--shape', 'x=1x3x100', '--json', '-']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.out)).toMatchObject({ ops: { Add: 1, Relu: 1 }, memory: { weights: 1200 } });
  });

  it('shows progress on a terminal and clears it before the report', async () => {
    const model = modelFile(addRelu);
    const r = await cli([model, '--shape', 'x=1x3x100'], true);
    expect(r.code).toBe(0);
    for (const stage of ['decode', 'passes', 'codegen']) expect(r.out).toContain(`\r\x1b[Kcompiling ${model}: ${stage}...`);
    expect(r.out).toMatch(/\r\x1b\[K[^\r]*\.wasm +\d/);
  });

  it('--constant folds an input: values in the input dtype, shape [count] or given after ":"', async () => {
    const model = modelFile(reshapeByInput);
    const out = join(model, '..', 'm.wasm');
    expect((await cli([model, '-o', out, '--constant', 'dims=3,-1', '-q'])).code).toBe(0);
    const m = loadSync(readFileSync(out));
    expect(m.inputs.map((i) => i.name)).toEqual(['x']);
    expect(m.outputs[0].shape).toEqual([3, 2]);
    expect((await cli([model, '-o', out, '--constant', 'dims=6,1:2', '-q'])).code).toBe(0);
    expect(loadSync(readFileSync(out)).outputs[0].shape).toEqual([6, 1]);
    await userError([model, '-o', out, '--constant', 'dims=6,1:1x1'], /constant for input "dims" has 2 values, shape 1x1 needs 1/);
    await userError([model, '-o', out, '--constant', 'dims=6,abc'], /--constant dims: "abc" is not a number/);
    await userError([model, '-o', out, '--constant', 'dims=1.5,4'], /"dims" \(int64\) must hold integers, got 1.5/);
    await userError([model, '-o', out], /input "dims".*--constant dims=/);
  });

  it('--help and --version', async () => {
    const help = await cli(['--help']);
    expect(help.code).toBe(0);
    for (const opt of ['--output', '--shape', '--constant', '--target', '--no-optimize', '--json', '--quiet', '--version']) expect(help.out).toContain(opt);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8'));
    expect(await cli(['--version'])).toEqual({ code: 0, out: `onnx2wasm ${pkg.version}\n`, err: '' });
  });
});

describe('onnx2wasm CLI: user errors', () => {
  it('unreadable, not-ONNX and truncated files', async () => {
    await userError([join(dir, 'missing.onnx')], /cannot read .*missing\.onnx: ENOENT/);
    await userError([modelFile(new TextEncoder().encode('hello, world\n'))], /not an ONNX model/);
    await userError([modelFile(addRelu.subarray(0, addRelu.length - 100))], /not an ONNX model.*truncated/);
  });

  it('an If on an input with branches of different shapes: one line naming the If and the --constant to give', async () => {
    const out = (name: string, value: number[]) => graph({ inputs: [], outputs: [{ name }], nodes: [{ op: 'Constant', inputs: [], outputs: [name], attrs: { value: { dtype: 'float32', shape: [value.length], data: Float32Array.from(value) } } }] });
    const model = modelFile(encodeModel({
      opset: 13,
      inputs: [{ name: 'c', dtype: 'bool', shape: [] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'If', name: 'pick', inputs: ['c'], outputs: ['y'], attrs: { then_branch: out('a', [1, 2]), else_branch: out('b', [3]) } }],
    }));
    await userError([model], /node "pick" \(If, opset 13\): its branches give output "y" different types \(then float32 2, else float32 1\).*--constant c=/);
    expect(readdirSync(join(model, '..'))).toEqual(['model.onnx']);
    expect((await cli([model, '--constant', 'c=true', '-q'])).code).toBe(0);
    expect(loadSync(readFileSync(model.replace(/\.onnx$/, '.wasm'))).run({}).y.data).toEqual(Float32Array.of(1, 2));
  });

  it('unsupported operators: every node in one line', async () => {
    await userError([modelFile(unsupported)], /2 node\(s\) use unsupported operators: Frobnicate \(opset 13; nodes "frob_1"\); Wibble \(opset 13; nodes "wib"\)/);
  });

  it('symbolic dimensions without --shape, and bad --shape values', async () => {
    const model = modelFile(addRelu);
    await userError([model], /input "x" has shape batchx3x100 with unknown dimension "batch"; give a static shape with --shape x=1x3x100/);
    await userError([model, '--shape', 'x=1x3'], /rank 3/);
    await userError([model, '--shape', 'x=1xtwox100'], /--shape x: dimensions are non-negative integers joined by x/);
    await userError([model, '--shape', 'x'], /--shape takes name=value, got "x"/);
    await userError([model, '--shape', 'y=1x3x100'], /the model has no input "y" \(its inputs: x\)/);
    await userError([model, '--shape', 'x=1x3x100', '--shape', 'x=2x3x100'], /--shape x is given twice/);
    expect(readdirSync(join(model, '..'))).toEqual(['model.onnx']);
  });

  it('bad arguments', async () => {
    const model = modelFile(addRelu);
    await userError([], /no model file given/);
    await userError([model, model], /expected one model file, got 2/);
    await userError([model, '--target', 'avx'], /--target must be simd or scalar, got "avx"/);
    await userError([model, '--frobnicate'], /Unknown option '--frobnicate'/);
    await userError([model, '-o'], /argument missing/);
    await userError([model, '-o', model], /would overwrite the model/);
  });

  it('no output file is written on error, and an existing one is left untouched', async () => {
    const model = modelFile(unsupported);
    const out = join(model, '..', 'model.wasm');
    await userError([model], /unsupported operators/);
    expect(existsSync(out)).toBe(false);
    writeFileSync(out, 'previous build');
    await userError([model], /unsupported operators/);
    expect(readFileSync(out, 'utf8')).toBe('previous build');
  });

  it('a write that fails leaves no partial or temporary file', async () => {
    const model = modelFile(addRelu);
    const folder = join(model, '..');
    mkdirSync(join(folder, 'taken.wasm'));
    await userError([model, '--shape', 'x=1x3x100', '-o', join(folder, 'taken.wasm')], /cannot write .*taken\.wasm: it is a folder/);
    await userError([model, '--shape', 'x=1x3x100', '-o', join(folder, 'no/such/dir/m.wasm')], /cannot write .*m\.wasm: its folder does not exist/);
    // The report cannot be written: the module is not written either.
    await userError([model, '--shape', 'x=1x3x100', '--json', join(folder, 'nodir/r.json')], /cannot write .*r\.json/);
    expect(readdirSync(folder).sort()).toEqual(['model.onnx', 'taken.wasm']);
  });
});

describe('onnx2wasm CLI: internal errors', () => {
  it('an unexpected exception exits with 2 and asks for a report', async () => {
    vi.resetModules();
    vi.doMock('../src/index.js', async (original) => ({
      ...(await original<typeof import('../src/index.js')>()),
      compile: async () => { throw new RangeError('boom'); },
    }));
    try {
      const { main: mockedMain } = await import('../src/cli.js');
      let err = '';
      const code = await mockedMain([modelFile(addRelu)], { out: () => {}, err: (t) => void (err += t), tty: false });
      expect(code).toBe(2);
      expect(err).toMatch(/^onnx2wasm: internal error: boom\nThis is a bug in onnx2wasm .*please report it/);
      expect(err).not.toMatch(/^\s+at /m);
    } finally {
      vi.doUnmock('../src/index.js');
      vi.resetModules();
    }
  });
});

describe('onnx2wasm CLI: as a process', () => {
  it('runs through tsx: exit 0 with a report, exit 1 with one stderr line', () => {
    const model = modelFile(addRelu);
    const run = (...args: string[]) => spawnSync(process.execPath, ['--import', 'tsx', 'src/cli.ts', ...args], { encoding: 'utf8' });
    const ok = run(model, '--shape', 'x=1x3x100');
    expect(ok.status, ok.stderr).toBe(0);
    expect(ok.stdout).toMatch(/✓ compiled .* in \d+ ms/);
    expect(existsSync(model.replace(/\.onnx$/, '.wasm'))).toBe(true);
    const bad = run(model);
    expect(bad.status).toBe(1);
    expect(bad.stdout).toBe('');
    expect(bad.stderr).toMatch(/^onnx2wasm: error: input "x" has shape batchx3x100[^\n]*\n$/);
  });
});
