// onnx2wasm/vite: real `vite build`s and a real dev server on a temporary project, and a plain Rollup build.
// The built bundles run here in Node; `fetch` of their file: URLs is served from disk (Node's fetch takes only
// http(s)), counting requests so that the lazy `?init` form is seen to load nothing until called.

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL, fileURLToPath } from 'node:url';
import { build, createServer, type InlineConfig } from 'vite';
import { rollup } from 'rollup';
import onnx2wasm, { type Onnx2WasmPluginOptions } from '../src/vite.js';
import { compile } from '../src/index.js';
import { encodeModel } from '../src/onnx/encode.js';
import type { Model } from '../runtime-min/index.js';
import { REPO_ROOT } from './helpers/shared.js';

const dir = mkdtempSync(join(tmpdir(), 'onnx2wasm-vite-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const sample = JSON.parse(readFileSync(join(REPO_ROOT, 'examples/digits_sample.json'), 'utf8')) as { images: number[][]; labels: number[]; scale: number };

/** y = x * 2 with x of shape [n, 3] (n symbolic unless bound). */
function doubler(n: number | string = 'n'): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'x', dtype: 'float32', shape: [n, 3] }],
    outputs: [{ name: 'y' }],
    nodes: [{ op: 'Mul', inputs: ['x', 'two'], outputs: ['y'], name: 'times_two' }],
    initializers: { two: { dtype: 'float32', shape: [], data: Float32Array.of(2) } },
  });
}

/** A model whose Add node has inputs of shapes that cannot broadcast: a compile error naming the node. */
function broken(): Uint8Array {
  return encodeModel({
    inputs: [{ name: 'a', dtype: 'float32', shape: [2, 3] }, { name: 'b', dtype: 'float32', shape: [4] }],
    outputs: [{ name: 'c' }],
    nodes: [{ op: 'Add', inputs: ['a', 'b'], outputs: ['c'], name: 'bad_add' }],
  });
}

/** A fresh project folder with the given files. */
function project(name: string, files: Record<string, string | Uint8Array>): string {
  const root = join(dir, name);
  mkdirSync(root, { recursive: true });
  for (const [f, data] of Object.entries(files)) writeFileSync(join(root, f), data);
  return root;
}

/** A Vite library-style build of entry.js (ES module, exports kept) into root/dist. */
async function viteBuild(root: string, plugin: Onnx2WasmPluginOptions = {}): Promise<void> {
  const config: InlineConfig = {
    root, logLevel: 'silent', configFile: false, base: './', // relative asset URLs: the bundle runs from disk here
    plugins: [onnx2wasm(plugin)],
    build: { outDir: 'dist', emptyOutDir: true, rollupOptions: { input: join(root, 'entry.js'), preserveEntrySignatures: 'strict', output: { entryFileNames: 'entry.js' } } },
  };
  await build(config);
}

// fetch() for file: URLs (the built bundles run from disk here), counting the requests.
const fetched: string[] = [];
const realFetch = globalThis.fetch;
beforeAll(() => {
  globalThis.fetch = (async (input: string | URL | Request) => {
    const url = String(input instanceof Request ? input.url : input);
    if (!url.startsWith('file:')) return realFetch(input as string);
    fetched.push(url);
    return new Response(readFileSync(fileURLToPath(url)), { headers: { 'Content-Type': 'application/wasm' } });
  }) as typeof fetch;
});
afterAll(() => { globalThis.fetch = realFetch; });

const argmax = (xs: ArrayLike<number>) => Array.from(xs).reduce((best, x, i, a) => (x > a[best] ? i : best), 0);
const classify = (model: Model) => sample.images.map((px) => argmax(model.run({ image: Float32Array.from(px, (v) => v * sample.scale) }).logits.data as Float32Array));

describe('vite plugin: build', () => {
  it('default import gives a loaded model, ?url the hashed asset, ?init a lazy loader; per-file and query options apply', async () => {
    const root = project('build', {
      'digits.onnx': readFileSync(join(REPO_ROOT, 'examples/digits_cnn.onnx')),
      'doubler.onnx': doubler(),
      'entry.js': [
        "import model from './digits.onnx';",
        "import url from './digits.onnx?url';",
        "import init from './doubler.onnx?init';",
        "import scalarInit from './doubler.onnx?target=scalar&shape.x=2x3&init';",
        'export { model, url, init, scalarInit };',
      ].join('\n'),
    });
    // Per-file options: the doubler's symbolic batch is bound to 4 in the plugin's options.
    await viteBuild(root, { models: { 'doubler.onnx': { shapes: { x: [4, 3] } } } });
    const assets = readdirSync(join(root, 'dist/assets'));
    const wasmAssets = assets.filter((f) => f.endsWith('.wasm'));
    // Emitted, hashed, never inlined: three modules (digits; doubler with two option sets).
    expect(wasmAssets).toHaveLength(3);
    for (const f of wasmAssets) expect(f).toMatch(/^(digits|doubler)-[\w-]{8,}\.wasm$/);
    const entryCode = readFileSync(join(root, 'dist/entry.js'), 'utf8');
    expect(entryCode).not.toMatch(/base64/);

    fetched.length = 0;
    const mod = await import(pathToFileURL(join(root, 'dist/entry.js')).href);
    // The top-level await loaded the digits model; the ?init loaders fetched nothing yet.
    expect(fetched.map((u) => u.split('/').pop())).toEqual([expect.stringMatching(/^digits-/)]);
    expect(classify(mod.model)).toEqual(sample.labels);
    // ?url: the emitted file, byte-identical to compile()'s output.
    const { wasm } = await compile(join(REPO_ROOT, 'examples/digits_cnn.onnx'));
    expect(String(mod.url)).toMatch(/\/assets\/digits-[\w-]+\.wasm$/);
    expect(Buffer.compare(readFileSync(fileURLToPath(new URL(mod.url, pathToFileURL(join(root, 'dist/entry.js'))))), wasm)).toBe(0);

    const doubler4: Model = await mod.init();
    expect(fetched).toHaveLength(2);
    expect(doubler4.inputs).toEqual([{ name: 'x', dtype: 'float32', shape: [4, 3] }]);
    expect(doubler4.manifest.target).toBe('simd');
    expect(Array.from(doubler4.run({ x: new Float32Array(12).fill(1.5) }).y.data)).toEqual(new Array(12).fill(3));
    // The query's options win over the plugin's for that import.
    const doubler2: Model = await mod.scalarInit({ warmup: false });
    expect(doubler2.inputs[0].shape).toEqual([2, 3]);
    expect(doubler2.manifest.target).toBe('scalar');
  });

  it('a compile error fails the build naming the file and the node', async () => {
    const root = project('broken', { 'model.onnx': broken(), 'entry.js': "import m from './model.onnx';\nexport { m };" });
    const err = await viteBuild(root).then(() => undefined, (e: Error) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err!.message).toMatch(/model\.onnx/);
    expect(err!.message).toMatch(/node "bad_add" \(Add/);
    expect(err!.message).toMatch(/INVALID_MODEL/);
  });

  it('?options=<JSON> passes any compile options through (here shapes and target)', async () => {
    const options = { shapes: { x: [3, 3] }, target: 'scalar' };
    const root = project('json', { 'doubler.onnx': doubler(), 'entry.js': `import url from './doubler.onnx?options=${JSON.stringify(options)}&url';\nexport { url };` });
    await viteBuild(root);
    const mod = await import(pathToFileURL(join(root, 'dist/entry.js')).href);
    const wasm = readFileSync(fileURLToPath(new URL(mod.url, pathToFileURL(join(root, 'dist/entry.js')))));
    expect(Buffer.compare(wasm, (await compile(doubler(), options as never)).wasm)).toBe(0);
  });

  it('a bad query option is a build error naming the parameter', async () => {
    const root = project('badquery', { 'doubler.onnx': doubler(2), 'entry.js': "import m from './doubler.onnx?tagret=scalar&url';\nexport { m };" });
    const err = await viteBuild(root).then(() => undefined, (e: Error) => e);
    expect(err?.message).toMatch(/doubler\.onnx: import query: unknown parameter "tagret"/);
  });

  it('works as a plain Rollup plugin', async () => {
    const root = project('rollup', {
      'doubler.onnx': doubler(),
      'entry.js': "import url from './doubler.onnx?url';\nimport init from './doubler.onnx?init';\nexport { url, init };",
    });
    const bundle = await rollup({ input: join(root, 'entry.js'), plugins: [onnx2wasm({ options: { shapes: { x: [1, 3] }, target: 'scalar' } }) as never] });
    await bundle.write({ dir: join(root, 'out'), format: 'es', assetFileNames: 'assets/[name]-[hash][extname]' });
    await bundle.close();
    expect(readdirSync(join(root, 'out/assets'))).toEqual([expect.stringMatching(/^doubler-[\w-]+\.wasm$/)]);
    const mod = await import(pathToFileURL(join(root, 'out/entry.js')).href);
    const model: Model = await mod.init();
    expect(model.manifest.target).toBe('scalar');
    expect(Array.from(model.run({ x: Float32Array.of(1, 2, 3) }).y.data)).toEqual([2, 4, 6]);
    expect(fetched.at(-1)).toBe(String(mod.url));
  });
});

describe('vite plugin: dev server', () => {
  it('serves the compiled module from a middleware, cached by content, and recompiles a changed .onnx', async () => {
    const root = project('dev', { 'model.onnx': doubler(2), 'index.html': '<script type="module" src="./main.js"></script>', 'main.js': "import url from './model.onnx?url';\nexport { url };" });
    // A probe plugin after ours: Vite calls hotUpdate once it has invalidated the changed file's modules.
    let updated = (_file: string) => {};
    const probe = { name: 'probe', hotUpdate({ file }: { file: string }) { updated(file); } };
    const server = await createServer({ root, logLevel: 'silent', configFile: false, plugins: [onnx2wasm(), probe], server: { host: '127.0.0.1', port: 0 } });
    try {
      await server.listen();
      const address = server.httpServer!.address() as { port: number };
      const origin = `http://127.0.0.1:${address.port}`;
      const urlOf = async () => {
        const code = (await server.transformRequest('/model.onnx?url'))!.code;
        return JSON.parse(/export default ("[^"]+")/.exec(code)![1]) as string;
      };
      const first = await urlOf();
      expect(first).toMatch(/^\/@onnx2wasm\/model-\w+\.wasm$/);
      const served = new Uint8Array(await (await realFetch(origin + first)).arrayBuffer());
      expect(Buffer.compare(served, (await compile(doubler(2))).wasm)).toBe(0);
      // The same content gives the same URL (the cache); the page's module graph is served as usual.
      expect(await urlOf()).toBe(first);
      expect((await realFetch(`${origin}/main.js`)).status).toBe(200);

      // Change the model on disk: the watcher invalidates the module and the next request compiles the new one.
      const changed = new Promise<void>((done) => { updated = (f) => { if (f.endsWith('model.onnx')) done(); }; });
      writeFileSync(join(root, 'model.onnx'), doubler(5));
      // The file watcher may still be scanning (a loaded machine): report the change to it as the OS would, so the
      // test never waits on an event that was missed.
      server.watcher.emit('change', join(root, 'model.onnx'));
      await changed;
      const second = await urlOf();
      expect(second).not.toBe(first);
      const servedNew = new Uint8Array(await (await realFetch(origin + second)).arrayBuffer());
      expect(Buffer.compare(servedNew, (await compile(doubler(5))).wasm)).toBe(0);
      expect((await realFetch(`${origin}/@onnx2wasm/nothing.wasm`)).status).toBe(404);

      // A model that does not compile: the request fails with Vite's error naming the file and the node.
      const failed = new Promise<void>((done) => { updated = (f) => { if (f.endsWith('model.onnx')) done(); }; });
      writeFileSync(join(root, 'model.onnx'), broken());
      server.watcher.emit('change', join(root, 'model.onnx'));
      await failed;
      const err = await server.transformRequest('/model.onnx?url').then(() => undefined, (e: Error) => e);
      expect(err?.message).toMatch(/model\.onnx: node "bad_add" \(Add, opset \d+\): .*\[INVALID_MODEL\]/);
    } finally {
      await server.close();
    }
  });
});
