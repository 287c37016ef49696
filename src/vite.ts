// onnx2wasm/vite: a Vite plugin, and a Rollup plugin (it uses only Rollup's hooks, plus Vite's dev server when
// there is one). `.onnx` imports compile to a .wasm module:
//   import model from './m.onnx'        a loaded model (top-level await)
//   import url from './m.onnx?url'      the .wasm's URL
//   import init from './m.onnx?init'    () => Promise<Model>, loading on first call
// as Vite's own `.wasm?init` / `?url` and @rollup/plugin-wasm do for plain wasm. In a build the .wasm is an
// emitted asset with a content hash (never inlined); in dev a middleware serves it, compiled once per content
// and options, and a changed .onnx is recompiled (Vite reloads the importer). Compile options per file come from
// the plugin's options or from the query (`?target=scalar`, `?shape.input=1x3x224x224`, `?options=<json>`).

import { createHash } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { basename, relative, resolve, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CompileError } from './errors.js';
import type { CompileOptions } from './index.js';

export type { CompileOptions };

export interface Onnx2WasmPluginOptions {
  /** Compile options for every model. */
  options?: CompileOptions;
  /**
   * Compile options per model, by its path relative to the project root (`src/models/digits.onnx`) or its file
   * name (`digits.onnx`); merged over `options`, and the query's over these.
   */
  models?: Record<string, CompileOptions>;
}

/** The hooks' `this` (the parts of Rollup's plugin context used here; Vite's and Rolldown's have them too). */
interface PluginContext {
  resolve(source: string, importer?: string, options?: { skipSelf?: boolean }): Promise<{ id: string } | null>;
  emitFile(file: { type: 'asset'; name: string; source: Uint8Array }): string;
  addWatchFile(id: string): void;
  error(error: { message: string; id?: string; plugin?: string } | string): never;
}

interface DevServer {
  middlewares: { use(fn: (req: { url?: string }, res: DevResponse, next: () => void) => void): void };
}
interface DevResponse { statusCode: number; setHeader(name: string, value: string | number): void; end(body?: Uint8Array): void }

/** The plugin object: Rollup's hooks, and Vite's (`enforce`, `configResolved`, `configureServer`). */
export interface Onnx2WasmPlugin {
  name: string;
  enforce: 'pre';
  configResolved(config: { command: string; root: string; base: string }): void;
  configureServer(server: DevServer): void;
  resolveId(this: PluginContext, source: string, importer?: string): Promise<string | null>;
  load(this: PluginContext, id: string): Promise<string | null>;
}

const ONNX = /\.onnx(?:\?(.*))?$/;
/** Where the dev server serves compiled modules, under Vite's base. */
const DEV_PREFIX = '@onnx2wasm/';
/** Query parameters that Vite adds itself (cache busting, HMR): not compile options. */
const VITE_QUERY = new Set(['t', 'v', 'import', 'direct', 'used']);

// The runtime that generated modules import: beside this file in dist/ (an installed package), or, running from
// the sources of a checkout (the tests), the built one in dist/ (Rollup reads JavaScript only), else the source.
const RUNTIME = ['../runtime-min/index.js', '../dist/runtime-min/index.js', '../runtime-min/index.ts']
  .map((p) => fileURLToPath(new URL(p, import.meta.url)))
  .find((p) => existsSync(p))!;

export default function onnx2wasm(pluginOptions: Onnx2WasmPluginOptions = {}): Onnx2WasmPlugin {
  let root = process.cwd();
  let base = '/';
  let serving = false;
  // Compile results by content hash (the model's bytes and the options), and the dev server's files by name.
  const compiled = new Map<string, Promise<{ wasm: Uint8Array; hash: string }>>();
  const devFiles = new Map<string, Uint8Array>();

  function optionsFor(file: string, query: URLSearchParams): CompileOptions {
    const rel = relative(root, file).split(sep).join('/');
    const perFile = pluginOptions.models?.[rel] ?? pluginOptions.models?.[basename(file)];
    return { ...pluginOptions.options, ...perFile, ...queryOptions(query) };
  }

  async function compileCached(file: string, options: CompileOptions): Promise<{ wasm: Uint8Array; hash: string }> {
    const bytes = readFileSync(file);
    const hash = createHash('sha256').update(bytes).update(stableJson(options)).digest('hex').slice(0, 16);
    let result = compiled.get(hash);
    if (!result) {
      // The compiler (and binaryen) load on the first .onnx import, not with the config.
      result = import('./index.js').then(({ compile }) => compile(bytes, { baseDir: resolve(file, '..'), ...options })).then((r) => ({ wasm: r.wasm, hash }));
      compiled.set(hash, result);
      result.catch(() => compiled.delete(hash)); // a failed compile is retried on the next load
    }
    return result;
  }

  return {
    name: 'onnx2wasm',
    enforce: 'pre', // before Vite's own `?url` handling of assets
    configResolved(config) {
      root = config.root;
      base = config.base;
      serving = config.command === 'serve';
    },
    configureServer(server) {
      server.middlewares.use((req, res, next) => {
        const path = req.url?.split('?')[0] ?? '';
        const at = path.indexOf(DEV_PREFIX);
        if (at < 0) return next();
        const wasm = devFiles.get(path.slice(at + DEV_PREFIX.length));
        if (!wasm) {
          res.statusCode = 404; // not the page's HTML fallback: a module that was never compiled here
          return res.end();
        }
        res.statusCode = 200;
        res.setHeader('Content-Type', 'application/wasm');
        res.setHeader('Content-Length', wasm.length);
        res.setHeader('Cache-Control', 'no-cache');
        res.end(wasm);
      });
    },
    async resolveId(source, importer) {
      const m = ONNX.exec(source);
      if (!m || source.startsWith('\0')) return null;
      const path = source.slice(0, source.length - (m[1] === undefined ? 0 : m[1].length + 1));
      const resolved = await this.resolve(path, importer, { skipSelf: true });
      if (!resolved) return null;
      return m[1] === undefined ? resolved.id : `${resolved.id}?${m[1]}`;
    },
    async load(id) {
      const m = ONNX.exec(id);
      if (!m) return null;
      const file = id.slice(0, id.length - (m[1] === undefined ? 0 : m[1].length + 1));
      const query = new URLSearchParams(m[1] ?? '');
      const kind = query.has('url') ? 'url' : query.has('init') ? 'init' : 'model';
      this.addWatchFile(file);
      let result: { wasm: Uint8Array; hash: string };
      try {
        result = await compileCached(file, optionsFor(file, query));
      } catch (e) {
        const rel = relative(root, file) || file;
        if (e instanceof CompileError) {
          const where = e.node !== undefined && !e.message.includes(`"${e.node}"`) ? ` (node "${e.node}", ${e.op})` : '';
          this.error({ message: `${rel}: ${e.message}${where} [${e.code}]`, id: file });
        }
        this.error({ message: `${rel}: ${(e as Error).message}`, id: file });
      }
      const name = `${basename(file, '.onnx')}-${result.hash}.wasm`;
      let url: string;
      if (serving) {
        devFiles.set(name, result.wasm);
        url = JSON.stringify(`${base}${DEV_PREFIX}${name}`);
      } else {
        // Rollup (and Vite's build) turn this into the emitted asset's URL, with its content hash in the name.
        url = `import.meta.ROLLUP_FILE_URL_${this.emitFile({ type: 'asset', name: `${basename(file, '.onnx')}.wasm`, source: result.wasm })}`;
      }
      if (kind === 'url') return `export default ${url};\n`;
      const runtime = `import { load } from ${JSON.stringify(RUNTIME)};\n`;
      if (kind === 'init') return `${runtime}export default (options) => load(fetch(${url}), options);\n`;
      return `${runtime}export default await load(fetch(${url}));\n`;
    },
  };
}

/** Compile options from the query: target, optimize, shape.<input>=1x3x224x224, options=<JSON of CompileOptions>. */
function queryOptions(query: URLSearchParams): CompileOptions {
  let out: CompileOptions & { shapes?: Record<string, number[]> } = {};
  const bad = (message: string) => new CompileError('BAD_OPTION', `import query: ${message}`);
  for (const [key, value] of query) {
    if (key === 'url' || key === 'init' || VITE_QUERY.has(key)) continue;
    if (key === 'options') {
      let parsed: unknown;
      try {
        parsed = JSON.parse(value);
      } catch {
        throw bad(`options=${value} is not JSON`);
      }
      if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw bad('options must be a JSON object of compile options');
      out = { ...out, ...(parsed as CompileOptions) };
    } else if (key === 'target') out.target = value as CompileOptions['target'];
    else if (key === 'optimize') {
      if (value !== 'true' && value !== 'false') throw bad(`optimize must be true or false, got "${value}"`);
      out.optimize = value === 'true';
    } else if (key.startsWith('shape.')) {
      if (!/^\d+(x\d+)*$|^$/.test(value)) throw bad(`${key} takes dimensions joined by x (like 1x3x224x224), got "${value}"`);
      out.shapes = { ...out.shapes, [key.slice(6)]: value === '' ? [] : value.split('x').map(Number) };
    } else throw bad(`unknown parameter "${key}" (known: url, init, target, optimize, shape.<input>, options)`);
  }
  return out;
}

/** JSON with sorted keys, and typed arrays as lists, so that equal options hash alike. */
function stableJson(x: unknown): string {
  return JSON.stringify(x, (_, v) => {
    if (ArrayBuffer.isView(v)) return { [v.constructor.name]: Array.from(v as unknown as ArrayLike<number | bigint>, String) };
    if (typeof v === 'bigint') return `${v}n`;
    if (typeof v === 'function') return String(v);
    if (v && typeof v === 'object' && !Array.isArray(v)) return Object.fromEntries(Object.keys(v).sort().map((k) => [k, v[k]]));
    return v;
  });
}
