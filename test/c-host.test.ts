// examples/c-host built the way its Makefile says (onnx2wasm --target scalar --c-header, wasm2c, gcc) and run on
// digits_cnn and mobilenet_v2: its output bytes must equal runtime-min's in Node for the same module and input.
// Skips with a notice where gcc, make or wasm2c is absent (CI installs wabt).

import { afterAll, describe, expect, it } from 'vitest';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { loadSync } from '../runtime-min/index.js';
import { compile, cHeader } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import { REPO_ROOT, sharedPath } from './helpers/shared.js';

const HOST = join(REPO_ROOT, 'examples/c-host');
const has = (tool: string) => spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0;
// Debian's wasm2c (wabt 1.0.32) with its runtime sources, as the Makefile uses them; npm's wabt has a wasm2c too.
const missing = [...['gcc', 'make'].filter((t) => !has(t)), ...(existsSync('/usr/bin/wasm2c') && existsSync('/usr/share/wabt/wasm2c/wasm-rt-impl.c') ? [] : ['wasm2c'])];
if (missing.length) console.warn(`[onnx2wasm tests] skipping the C host tests: ${missing.join(', ')} not found (apt-get install -y gcc make wabt)`);

const work = mkdtempSync(join(tmpdir(), 'onnx2wasm-c-host-'));
afterAll(() => rmSync(work, { recursive: true, force: true }));

/** Builds the host for a model into its own folder with the example's Makefile; returns that folder. */
function buildHost(name: string, model: string): string {
  const build = join(work, name);
  const r = spawnSync('make', ['-s', `MODEL=${model}`, `BUILD=${build}`, `ONNX2WASM=node ${join(REPO_ROOT, 'dist/src/cli.js')}`], { cwd: HOST, encoding: 'utf8' });
  if (r.status !== 0) throw new Error(`make failed for ${name}:\n${r.stdout}${r.stderr}`);
  return build;
}

/** Input bytes for every input of the module, from a seeded generator (floats in [-1, 1)). */
function inputBytes(wasm: Uint8Array, seed: number): Buffer {
  const model = loadSync(wasm, { warmup: false });
  let s = seed >>> 0;
  const parts = model.inputs.map((e) => {
    const n = e.shape.reduce((a, b) => a * b, 1);
    if (e.dtype !== 'float32') throw new Error(`test inputs are float32 only, ${e.name} is ${e.dtype}`);
    return Buffer.from(Float32Array.from({ length: n }, () => ((s = (Math.imul(s, 1664525) + 1013904223) >>> 0) / 2 ** 31) - 1).buffer);
  });
  return Buffer.concat(parts);
}

/** runtime-min's outputs, in manifest order, as one byte string. */
function runtimeOutput(wasm: Uint8Array, input: Buffer): Buffer {
  const model = loadSync(wasm, { warmup: false });
  let at = 0;
  const feeds = Object.fromEntries(model.manifest.inputs.map((e) => {
    const bytes = input.subarray(at, (at += e.bytes));
    return [e.name, new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length))];
  }));
  const out = model.run(feeds);
  return Buffer.concat(model.manifest.outputs.map((e) => Buffer.from(out[e.name].data.buffer)));
}

function runHost(build: string, input: Buffer): { output: Buffer; stderr: string } {
  writeFileSync(join(build, 'input.bin'), input);
  const r = spawnSync(join(build, 'host'), [join(build, 'model.wasm'), join(build, 'input.bin'), join(build, 'output.bin')], { encoding: 'utf8' });
  expect(r.status, r.stderr).toBe(0);
  return { output: readFileSync(join(build, 'output.bin')), stderr: r.stderr };
}

describe.skipIf(missing.length > 0)('C host (wasm2c + gcc)', () => {
  it('digits_cnn: byte-identical to runtime-min, and classifies the sample digits', () => {
    const build = buildHost('digits', join(REPO_ROOT, 'examples/digits_cnn.onnx'));
    const wasm = readFileSync(join(build, 'model.wasm'));
    // The weights were not translated to C: the module given to wasm2c has no data section.
    expect(readFileSync(join(build, 'model-code.wasm')).length).toBeLessThan(wasm.length / 10);
    expect(readFileSync(join(build, 'model-wasm.c'), 'utf8')).not.toMatch(/data_segment_data/);
    for (const seed of [1, 2]) {
      const input = inputBytes(wasm, seed);
      expect(Buffer.compare(runHost(build, input).output, runtimeOutput(wasm, input))).toBe(0);
    }
    const sample = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/digits_sample.json'), 'utf8')) as { images: number[][]; labels: number[]; scale: number };
    const predicted = sample.images.map((px) => {
      const { output, stderr } = runHost(build, Buffer.from(Float32Array.from(px, (v) => v * sample.scale).buffer));
      expect(stderr).toMatch(/logits float32 \[1x10\]: 40 bytes/);
      const logits = new Float32Array(output.buffer, output.byteOffset, 10);
      return logits.indexOf(Math.max(...logits));
    });
    expect(predicted).toEqual(sample.labels);
  });

  const mobilenet = sharedPath('models/mobilenet_v2/model.onnx', 'the C host on mobilenet_v2');
  it.skipIf(!mobilenet)('mobilenet_v2 (14 MB of weights copied at start): byte-identical to runtime-min', () => {
    const build = buildHost('mobilenet', mobilenet!);
    const wasm = readFileSync(join(build, 'model.wasm'));
    expect(wasm.length).toBeGreaterThan(13e6);
    expect(readFileSync(join(build, 'model-code.wasm')).length).toBeLessThan(100e3);
    const input = inputBytes(wasm, 7);
    const { output } = runHost(build, input);
    expect(output.length).toBe(4000);
    expect(Buffer.compare(output, runtimeOutput(wasm, input))).toBe(0);
  });

  it('the host refuses an input file of the wrong size, with one line', () => {
    const build = join(work, 'digits');
    if (!existsSync(join(build, 'host'))) buildHost('digits', join(REPO_ROOT, 'examples/digits_cnn.onnx'));
    writeFileSync(join(build, 'short.bin'), Buffer.alloc(10));
    const r = spawnSync(join(build, 'host'), [join(build, 'model.wasm'), join(build, 'short.bin'), join(build, 'never.bin')], { encoding: 'utf8' });
    expect(r.status).toBe(1);
    expect(r.stderr).toBe(`host: ${join(build, 'short.bin')} has 10 bytes, the inputs take 1024\n`);
    expect(existsSync(join(build, 'never.bin'))).toBe(false);
  });
});

describe('C header (--c-header)', () => {
  it('lists inputs and outputs with names, dtypes, shapes and sizes; gcc accepts it where present', async () => {
    const model = encodeModel({
      inputs: [{ name: 'input-ids', dtype: 'int64', shape: [1, 8] }, { name: 'mask', dtype: 'float32', shape: [1, 8] }],
      outputs: [{ name: 'y' }],
      nodes: [{ op: 'Cast', inputs: ['input-ids'], outputs: ['f'], attrs: { to: 1 } }, { op: 'Mul', inputs: ['f', 'mask'], outputs: ['y'] }],
    });
    const { manifest } = await compile(model);
    const h = cHeader(manifest, 'm.onnx');
    expect(h).toContain('#define MODEL_INPUT_COUNT 2');
    expect(h).toContain('#define MODEL_INPUT_0_NAME "input-ids"');
    expect(h).toContain('#define MODEL_INPUT_INPUT_IDS_DTYPE "int64"');
    expect(h).toContain('#define MODEL_INPUT_INPUT_IDS_ELEMENT_BYTES 8u');
    expect(h).toContain('#define MODEL_INPUT_INPUT_IDS_BYTES 64u');
    expect(h).toContain('#define MODEL_INPUT_MASK_SHAPE { 1, 8 }');
    expect(h).toContain(`#define MODEL_OUTPUT_Y_OFFSET ${manifest.outputs[0].offset}u`);
    expect(h).toContain('#define MODEL_INPUTS_TOTAL_BYTES 96u');
    expect(h).toContain(`{ "y", "float32", 4u, 2u, { 1, 8 }, 8u, 32u, ${manifest.outputs[0].offset}u },`);
    if (has('gcc')) {
      const dir = mkdtempSync(join(work, 'header-'));
      writeFileSync(join(dir, 'model.h'), h);
      writeFileSync(join(dir, 'check.c'), '#include "model.h"\nint main(void) { return MODEL_INPUTS[1].bytes == MODEL_INPUT_MASK_BYTES && MODEL_OUTPUTS[0].rank == 2 ? 0 : 1; }\n');
      execFileSync('gcc', ['-std=c99', '-Wall', '-Werror', '-o', join(dir, 'check'), join(dir, 'check.c')], { cwd: dir });
      expect(spawnSync(join(dir, 'check')).status).toBe(0);
    }
  });
});
