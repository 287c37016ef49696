// The npm tarball as a user gets it: `npm pack` holds the plugin and its types; installed into a fresh project
// (npm install of the .tgz; its dependencies from npm's cache where it has them), the library, the runtime and
// `onnx2wasm/vite` work: a TypeScript check of `.onnx` imports against onnx2wasm/client, and a `vite build`.
// The project sits in test/output/ so that vite and typescript resolve from this repo's node_modules (they are
// not the package's dependencies). Skips with a notice when npm cannot reach the packages (offline, empty cache).

import { beforeAll, describe, expect, it } from 'vitest';
import { spawnSync } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from './helpers/shared.js';

const OUT = join(REPO_ROOT, 'test/output/package');
const PROJECT = join(OUT, 'project');
const npm = (args: string[], cwd: string) => spawnSync('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, encoding: 'utf8' });

let tarball = '';
let installed: string | undefined; // why it could not be installed, when it could not

beforeAll(() => {
  rmSync(OUT, { recursive: true, force: true });
  mkdirSync(PROJECT, { recursive: true });
  // --ignore-scripts: pack the dist/ that `npm install` built, without rebuilding it under other running tests.
  const pack = npm(['pack', '--ignore-scripts', '--json', '--pack-destination', OUT], REPO_ROOT);
  expect(pack.status, pack.stderr).toBe(0);
  tarball = join(OUT, JSON.parse(pack.stdout)[0].filename);
  writeFileSync(join(PROJECT, 'package.json'), JSON.stringify({ name: 'fresh-project', private: true, type: 'module' }, null, 2));
  let r = npm(['install', '--offline', tarball], PROJECT);
  if (r.status !== 0) r = npm(['install', '--prefer-offline', tarball], PROJECT);
  if (r.status !== 0) {
    if (/ENOTFOUND|EAI_AGAIN|ETIMEDOUT|ECONNREFUSED|ENOTCACHED|network/i.test(r.stderr)) {
      installed = r.stderr.split('\n').find((l) => l.trim()) ?? 'npm install failed';
      console.warn(`[onnx2wasm tests] skipping the installed-package tests: npm cannot fetch the dependencies (${installed})`);
    } else throw new Error(`npm install of the tarball failed:\n${r.stderr}`);
  }
});

describe('npm package', () => {
  it('the tarball holds the library, the runtime, the vite plugin and the types', () => {
    const list = spawnSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).stdout.split('\n');
    for (const f of ['dist/src/index.js', 'dist/src/index.d.ts', 'dist/runtime-min/index.js', 'dist/runtime-min/index.d.ts',
      'dist/src/vite.js', 'dist/src/vite.d.ts', 'dist/src/cli.js', 'client.d.ts', 'package.json', 'README.md']) {
      expect(list, f).toContain(`package/${f}`);
    }
    expect(list.some((f) => f.startsWith('package/test/') || f.startsWith('package/src/') && f.endsWith('.ts') && !f.endsWith('.d.ts'))).toBe(false);
  });

  it('installed in a fresh project: types check, vite build emits the model, library and runtime run', (ctx) => {
    if (installed) return ctx.skip();
    copyFileSync(join(REPO_ROOT, 'examples/digits_cnn.onnx'), join(PROJECT, 'digits.onnx'));
    writeFileSync(join(PROJECT, 'index.html'), '<script type="module" src="./main.ts"></script>\n');
    writeFileSync(join(PROJECT, 'main.ts'), [
      "import model from './digits.onnx';",
      "import url from './digits.onnx?url';",
      "import init from './digits.onnx?init';",
      "import type { Model } from 'onnx2wasm/runtime';",
      'const m: Model = model;',
      'const u: string = url;',
      'const later: Promise<Model> = init({ warmup: false });',
      'const logits = m.run({ image: new Float32Array(256) }).logits.data;',
      'console.log(u, logits.length, later);',
    ].join('\n'));
    writeFileSync(join(PROJECT, 'tsconfig.json'), JSON.stringify({
      compilerOptions: { target: 'ES2022', module: 'ESNext', moduleResolution: 'bundler', strict: true, noEmit: true, lib: ['ES2022', 'DOM'], types: ['onnx2wasm/client'], skipLibCheck: false },
      include: ['main.ts', 'vite.config.ts'],
    }));
    // A typed config: the plugin must be a Vite plugin to TypeScript too.
    writeFileSync(join(PROJECT, 'vite.config.ts'), "import { defineConfig } from 'vite';\nimport onnx2wasm from 'onnx2wasm/vite';\n" +
      "export default defineConfig({ plugins: [onnx2wasm({ options: { target: 'scalar' }, models: { 'digits.onnx': { optimize: true } } })] });\n");

    const tsc = (config: string) => spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/typescript/bin/tsc'), '-p', join(PROJECT, config)], { encoding: 'utf8' });
    const ok = tsc('tsconfig.json');
    expect(ok.status, ok.stdout + ok.stderr).toBe(0);
    // The types are real (not `any`): misuses are errors.
    writeFileSync(join(PROJECT, 'bad.ts'), "import url from './digits.onnx?url';\nimport init from './digits.onnx?init';\nexport const n: number = url;\nexport const m: string = await init();\n");
    writeFileSync(join(PROJECT, 'tsconfig.bad.json'), JSON.stringify({ extends: './tsconfig.json', include: ['bad.ts'] }));
    const bad = tsc('tsconfig.bad.json');
    expect(bad.status).not.toBe(0);
    expect(bad.stdout).toMatch(/bad\.ts\(3,14\): error TS2322: Type 'string' is not assignable to type 'number'/);
    expect(bad.stdout).toMatch(/bad\.ts\(4,14\): error TS2322: Type 'Model' is not assignable to type 'string'/);

    const build = spawnSync(process.execPath, [join(REPO_ROOT, 'node_modules/vite/bin/vite.js'), 'build', '--logLevel', 'error'], { cwd: PROJECT, encoding: 'utf8' });
    expect(build.status, build.stdout + build.stderr).toBe(0);
    const assets = readdirSync(join(PROJECT, 'dist/assets'));
    const wasmFile = assets.find((f) => /^digits-[\w-]+\.wasm$/.test(f));
    expect(wasmFile, assets.join(', ')).toBeDefined();
    // The generated code imports the installed package's runtime.
    const js = assets.filter((f) => f.endsWith('.js')).map((f) => readFileSync(join(PROJECT, 'dist/assets', f), 'utf8')).join('\n');
    expect(js).toContain('onnx2wasm.manifest');

    // The installed library compiles the same module; the installed runtime runs it.
    writeFileSync(join(PROJECT, 'check.mjs'), [
      "import { readFileSync } from 'node:fs';",
      "import { compile } from 'onnx2wasm';",
      "import { load } from 'onnx2wasm/runtime';",
      "const { wasm } = await compile('digits.onnx', { target: 'scalar' });",
      `const built = readFileSync('dist/assets/${wasmFile}');`,
      'const model = await load(built);',
      "console.log(JSON.stringify({ same: Buffer.compare(built, wasm) === 0, outputs: model.outputs, n: model.run({ image: new Float32Array(256) }).logits.data.length }));",
    ].join('\n'));
    const check = spawnSync(process.execPath, ['check.mjs'], { cwd: PROJECT, encoding: 'utf8' });
    expect(check.status, check.stderr).toBe(0);
    expect(JSON.parse(check.stdout)).toEqual({ same: true, outputs: [{ name: 'logits', dtype: 'float32', shape: [1, 10] }], n: 10 });
    // It really is the tarball's copy that ran, not this checkout.
    expect(existsSync(join(PROJECT, 'node_modules/onnx2wasm/dist/src/vite.js'))).toBe(true);
  });
});
