// runtime-min and the module ABI: bundle size, load() sources, feed checking, output lifetime, and the exports a C
// host uses without JavaScript (no imports; memory, run, input/output tables agreeing with the manifest).

import { describe, expect, it } from 'vitest';
import { build } from 'esbuild';
import { compile } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import { load, loadSync, type TypedArray } from '../runtime-min/index.js';
import { expectClose, randomTensor, rng, runOrt, type Feeds } from './helpers/oracle.js';

// Two float inputs and one int64 input, so feeds can be valid for one input and wrong for another.
const model = encodeModel({
  opset: 13,
  inputs: [
    { name: 'a', dtype: 'float32', shape: [2, 3] },
    { name: 'b', dtype: 'float32', shape: [3] },
    { name: 'ids', dtype: 'int64', shape: [4] },
  ],
  outputs: [{ name: 'y' }, { name: 'next_ids' }],
  nodes: [
    { op: 'Add', inputs: ['a', 'b'], outputs: ['s'] },
    { op: 'Relu', inputs: ['s'], outputs: ['y'] },
    { op: 'Add', inputs: ['ids', 'one'], outputs: ['next_ids'] },
  ],
  initializers: { one: { dtype: 'int64', shape: [1], data: BigInt64Array.of(1n) } },
});

function feedsFor(seed: number): Feeds {
  const r = rng(seed);
  // Values beyond 2^53 check that int64 travels as BigInt64Array, not through doubles.
  const ids = BigInt64Array.of(2n ** 60n + 1n, -5n, BigInt(seed), -(2n ** 62n));
  return { a: randomTensor('float32', [2, 3], r), b: randomTensor('float32', [3], r), ids: { dtype: 'int64', shape: [4], data: ids } };
}
const plain = (f: Feeds) => Object.fromEntries(Object.entries(f).map(([k, t]) => [k, t.data]));

const ABI_EXPORTS = ['input_bytes', 'input_count', 'input_ptr', 'memory', 'output_bytes', 'output_count', 'output_dims', 'output_ptr', 'run'];

describe('runtime-min bundle', () => {
  it('bundles with esbuild to under 10 KB, with no dependencies', async () => {
    const out = await build({ entryPoints: ['runtime-min/index.ts'], bundle: true, minify: true, format: 'esm', write: false, metafile: true });
    const bytes = out.outputFiles[0].contents.length;
    expect(bytes).toBeLessThan(10240);
    expect(Object.keys(out.metafile.inputs).sort()).toEqual(['runtime-min/checksum.ts', 'runtime-min/index.ts']);
  });
});

describe('runtime-min with compiled modules', async () => {
  const { wasm, manifest } = await compile(model);

  it('load() accepts Uint8Array (also a view at an offset), ArrayBuffer, Module, Response and a Response promise', async () => {
    const padded = new Uint8Array(wasm.length + 7);
    padded.set(wasm, 7);
    const copyBuffer = () => wasm.slice().buffer;
    const sources = [
      wasm, padded.subarray(7), copyBuffer(), new WebAssembly.Module(wasm),
      new Response(copyBuffer()), Promise.resolve(new Response(copyBuffer())),
    ];
    const expected = await runOrt(model, feedsFor(1));
    for (const source of sources) {
      const m = await load(source);
      expect(m.inputs).toEqual([
        { name: 'a', dtype: 'float32', shape: [2, 3] }, { name: 'b', dtype: 'float32', shape: [3] }, { name: 'ids', dtype: 'int64', shape: [4] },
      ]);
      expect(m.outputs).toEqual([{ name: 'y', dtype: 'float32', shape: [2, 3] }, { name: 'next_ids', dtype: 'int64', shape: [4] }]);
      expectClose(m.run(plain(feedsFor(1))), expected);
    }
    for (const source of [wasm, copyBuffer(), new WebAssembly.Module(wasm)]) expectClose(loadSync(source).run(plain(feedsFor(1))), expected);
  });

  it('rejects a module without a manifest', async () => {
    const empty = Uint8Array.of(0, 0x61, 0x73, 0x6d, 1, 0, 0, 0);
    await expect(load(empty)).rejects.toThrow(/not an onnx2wasm module/);
  });

  it('wrong feeds throw an Error naming the input, before anything is written to memory', async () => {
    const m = await load(wasm);
    m.run(plain(feedsFor(1)));
    const good = plain(feedsFor(2)); // differs from what memory holds now
    const cases: [Record<string, unknown>, RegExp][] = [
      [{ a: good.a, ids: good.ids }, /missing input "b"/],
      [{ ...good, b: new Float64Array(3) }, /input "b" must be a Float32Array \(float32\), got Float64Array/],
      [{ ...good, b: new Float32Array(4) }, /input "b" has 4 elements, shape \[3\] needs 3/],
      [{ ...good, ids: new Int32Array(4) }, /input "ids" must be a BigInt64Array \(int64\)/],
      [{ ...good, c: new Float32Array(1) }, /unknown input "c" \(inputs: a, b, ids\)/],
      [{ ...good, b: [1, 2, 3] }, /input "b" must be a Float32Array/],
    ];
    const before = new Uint8Array(m.memory.buffer).slice();
    for (const [feeds, message] of cases) {
      expect(() => m.run(feeds as Record<string, TypedArray>)).toThrow(message);
      expect(Buffer.compare(new Uint8Array(m.memory.buffer), before), `memory changed by ${message}`).toBe(0);
    }
    expect(() => m.run(undefined as never)).toThrow(/run\(\) takes an object/);
  });

  it('outputs stay valid after the next run', async () => {
    const m = await load(wasm);
    const first = m.run(plain(feedsFor(1)));
    const firstCopy = { y: { data: first.y.data.slice(), shape: first.y.shape }, next_ids: { data: first.next_ids.data.slice(), shape: first.next_ids.shape } };
    const second = m.run(plain(feedsFor(2)));
    expectClose(first, firstCopy, 0, 0);
    expectClose(second, await runOrt(model, feedsFor(2)));
    expect(second.y.data).not.toEqual(first.y.data);
  });

  it('each run returns fresh arrays of their own, never views of the module memory or of an earlier result', async () => {
    const m = loadSync(wasm);
    const runs = [m.run(plain(feedsFor(1))), m.run(plain(feedsFor(1))), m.run(plain(feedsFor(2)))];
    const buffers = runs.flatMap((r) => [r.y.data.buffer, r.next_ids.data.buffer]);
    expect(new Set(buffers).size).toBe(buffers.length);
    expect(buffers).not.toContain(m.memory.buffer);
    for (const r of runs) expect([r.y.data.byteOffset, r.y.data.byteLength, r.next_ids.data.byteLength]).toEqual([0, 24, 32]);
    runs[0].y.shape.push(9); // a caller's edit to a returned shape does not leak into later runs
    expect(m.run(plain(feedsFor(1))).y.shape).toEqual([2, 3]);
    expectClose(runs[1], await runOrt(model, feedsFor(1)));
    expectClose(runs[2], await runOrt(model, feedsFor(2)));
  });

  it('runs correctly after memory.grow() (which detaches the old buffer and its views) and takes feeds at an offset or from another realm', async () => {
    const m = loadSync(wasm);
    m.run(plain(feedsFor(1)));
    const before = m.memory.buffer;
    m.memory.grow(0); // the module's memory has no room to grow; grow(0) detaches the buffer all the same
    expect(before.byteLength).toBe(0);
    expectClose(m.run(plain(feedsFor(2))), await runOrt(model, feedsFor(2)));
    // A feed that is a view into a larger buffer, and a Float32Array made in another realm (vm context)
    const f = plain(feedsFor(3));
    const wide = new Float32Array(16);
    wide.set(f.a as Float32Array, 5);
    const { runInNewContext } = await import('node:vm');
    const foreign = runInNewContext('new Float32Array(3)') as Float32Array;
    foreign.set(f.b as Float32Array);
    expectClose(m.run({ ...f, a: wide.subarray(5, 11), b: foreign }), await runOrt(model, feedsFor(3)));
    // Only own properties are feeds: an inherited one is neither an unknown input nor a feed
    expectClose(m.run(Object.assign(Object.create({ junk: 1 }), f)), await runOrt(model, feedsFor(3)));
  });

  it('int64 inputs and outputs keep BigInt64Array', async () => {
    const m = await load(wasm);
    const out = m.run(plain(feedsFor(3)));
    expect(out.next_ids.data).toBeInstanceOf(BigInt64Array);
    expect(manifest.inputs[2]).toMatchObject({ name: 'ids', dtype: 'int64', bytes: 32 });
    expect(manifest.outputs[1]).toMatchObject({ name: 'next_ids', dtype: 'int64', bytes: 32 });
    expectClose(out, await runOrt(model, feedsFor(3)), 0, 0);
  });

  for (const target of ['simd', 'scalar'] as const) {
    it(`the module imports nothing and exports the C-host ABI, agreeing with the manifest (${target})`, async () => {
      const { wasm: bytes, manifest: mf } = await compile(model, { target });
      const mod = new WebAssembly.Module(bytes);
      expect(WebAssembly.Module.imports(mod)).toEqual([]);
      const exports = WebAssembly.Module.exports(mod);
      expect(exports.map((e) => e.name).sort()).toEqual(ABI_EXPORTS);
      expect(exports.find((e) => e.name === 'memory')!.kind).toBe('memory');
      expect(mf.target).toBe(target);
      expect(mf.format).toBe(1);

      // Use the module the way a C host does: only exported functions and memory, no manifest.
      const abi = new WebAssembly.Instance(mod, {}).exports as Record<string, (i?: number, k?: number) => number> & { memory: WebAssembly.Memory };
      expect(abi.input_count()).toBe(mf.inputs.length);
      expect(abi.output_count()).toBe(mf.outputs.length);
      mf.inputs.forEach((e, i) => expect([abi.input_ptr(i), abi.input_bytes(i)]).toEqual([e.offset, e.bytes]));
      mf.outputs.forEach((e, i) => expect([abi.output_ptr(i), abi.output_bytes(i)]).toEqual([e.offset, e.bytes]));
      expect([abi.input_ptr(mf.inputs.length), abi.output_bytes(99)]).toEqual([0, 0]);
      mf.outputs.forEach((e, i) => expect(e.shape.map((_, k) => abi.output_dims(i, k))).toEqual(e.shape));
      expect([abi.output_dims(0, mf.outputs[0].shape.length), abi.output_dims(mf.outputs.length, 0)]).toEqual([0, 0]);
      const f = plain(feedsFor(4));
      mf.inputs.forEach((e, i) => {
        const x = f[e.name];
        new Uint8Array(abi.memory.buffer, abi.input_ptr(i), abi.input_bytes(i)).set(new Uint8Array(x.buffer, x.byteOffset, x.byteLength));
      });
      expect(abi.run()).toBe(0);
      const raw = new Uint8Array(abi.memory.buffer, abi.output_ptr(0), abi.output_bytes(0)).slice();
      expect(new Float32Array(raw.buffer)).toEqual(loadSync(bytes).run(f).y.data);
    });
  }
});

describe('loading a model with weights and GEMM kernels', async () => {
  const r = rng(11);
  const weights = (shape: number[]) => randomTensor('float32', shape, r);
  const convNet = encodeModel({
    opset: 13,
    inputs: [{ name: 'x', dtype: 'float32', shape: [1, 3, 8, 8] }],
    outputs: [{ name: 'y' }],
    nodes: [
      { op: 'Conv', inputs: ['x', 'w1', 'b1'], outputs: ['c1'], attrs: { pads: [1, 1, 1, 1] } },
      { op: 'Relu', inputs: ['c1'], outputs: ['r1'] },
      { op: 'Conv', inputs: ['r1', 'w2'], outputs: ['c2'], attrs: { strides: [2, 2] , kernel_shape: [3, 3] } },
      { op: 'Flatten', inputs: ['c2'], outputs: ['f'] },
      { op: 'Gemm', inputs: ['f', 'w3', 'b3'], outputs: ['y'], attrs: { transB: 1 } },
    ],
    initializers: { w1: weights([8, 3, 3, 3]), b1: weights([8]), w2: weights([6, 8, 3, 3]), w3: weights([5, 54]), b3: weights([5]) },
  });
  const feeds = { x: randomTensor('float32', [1, 3, 8, 8], r) };

  for (const target of ['simd', 'scalar'] as const) {
    it(`load() places the weights itself and primes the kernels; the result is the plain instantiation's (${target})`, async () => {
      const { wasm } = await compile(convNet, { target });
      const mod = new WebAssembly.Module(wasm);
      expect(WebAssembly.Module.exports(mod).map((e) => e.name)).toContain('prime');

      // A C host's way: the engine applies the data segments, prime() is never called.
      const plainInstance = new WebAssembly.Instance(mod, {}).exports as { memory: WebAssembly.Memory; run(): number; input_ptr(i: number): number; output_ptr(i: number): number; output_bytes(i: number): number };
      const initial = new Uint8Array(plainInstance.memory.buffer).slice();
      new Float32Array(plainInstance.memory.buffer, plainInstance.input_ptr(0), 192).set(feeds.x.data as Float32Array);
      expect(plainInstance.run()).toBe(0);
      const plainOut = new Float32Array(plainInstance.memory.buffer, plainInstance.output_ptr(0), plainInstance.output_bytes(0) / 4).slice();

      // runtime-min's way: code compiled without the data section, weights copied from the bytes, prime() run.
      for (const loaded of [await load(wasm, { warmup: false }), loadSync(wasm.slice().buffer, { warmup: false }), await load(mod, { warmup: false })]) {
        expect(new Uint8Array(loaded.memory.buffer)).toEqual(initial); // every segment in its place; prime() wrote only zeros to its own area
        expect(loaded.run({ x: feeds.x.data }).y.data).toEqual(plainOut);
      }
      expectClose({ y: { data: plainOut, shape: [1, 5] } } as never, await runOrt(convNet, feeds));
    });
  }

  it('a data segment that does not fit the memory is refused, as the engine refuses it', async () => {
    const name = new TextEncoder().encode('onnx2wasm.manifest');
    const json = new TextEncoder().encode(JSON.stringify({ format: 1, inputs: [], outputs: [], memory: {} }));
    const bytes = Uint8Array.of(
      0, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
      1, 5, 1, 0x60, 0, 1, 0x7f, // type section: () -> i32
      3, 2, 1, 0, // function section: one function of that type
      5, 3, 1, 0, 1, // memory section: one memory of one page
      7, 16, 2, 6, ...new TextEncoder().encode('memory'), 2, 0, 3, ...new TextEncoder().encode('run'), 0, 0, // export "memory", "run"
      10, 6, 1, 4, 0, 0x41, 0, 0x0b, // code: run() returns 0
      11, 18, 1, 0, 0x41, 0xfa, 0xff, 0x03, 0x0b, 10, ...new Array(10).fill(7), // 10 bytes at 65530
      0, 1 + name.length + json.length, name.length, ...name, ...json, // the manifest (no inputs or outputs)
    );
    expect(() => new WebAssembly.Instance(new WebAssembly.Module(bytes), {})).toThrow();
    await expect(load(bytes)).rejects.toThrow(/does not fit/);
    expect(() => loadSync(bytes)).toThrow(/does not fit/);
  });
});

describe('damaged modules', () => {
  it('a flipped bit in the code or the manifest is refused by the checksum before the code runs', async () => {
    const { wasm } = await compile(model);
    const codeStart = 8, manifestAt = wasm.length - 60;
    for (const at of [codeStart + 20, codeStart + 40, manifestAt]) {
      const bad = wasm.slice();
      bad[at] ^= 4;
      expect(() => loadSync(bad)).toThrow(/corrupted module|not a valid WebAssembly module/);
      await expect(load(bad)).rejects.toThrow(/corrupted module|not a valid WebAssembly module/);
    }
    const manifestFlip = wasm.slice();
    manifestFlip[manifestAt] ^= 4; // still a valid module: only the checksum can tell
    expect(() => new WebAssembly.Module(manifestFlip)).not.toThrow();
    expect(() => loadSync(manifestFlip)).toThrow(/corrupted module: its checksum does not match/);
    expect(loadSync(wasm).outputs.length).toBe(2); // the undamaged module loads
  });
});

describe('graph outputs that are constants', () => {
  it('an initializer listed as a graph output lies inside memory and reads back as its values', async () => {
    const w = Float32Array.from({ length: 70000 }, (_, i) => i % 97); // larger than the page slack after the arena
    const m = encodeModel({
      opset: 13,
      inputs: [{ name: 'x', dtype: 'float32', shape: [2] }],
      outputs: [{ name: 'y' }, { name: 'w' }],
      nodes: [{ op: 'Relu', inputs: ['x'], outputs: ['y'] }],
      initializers: { w: { dtype: 'float32', shape: [70000], data: w } },
    });
    const model = await load((await compile(m)).wasm);
    const out = model.run({ x: Float32Array.of(-1, 2) });
    expect(Array.from(out.y.data as Float32Array)).toEqual([0, 2]);
    expect(out.w.data).toEqual(w);
  });
});
