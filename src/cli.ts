#!/usr/bin/env node
// The command line: `onnx2wasm model.onnx [options]` compiles, writes the module atomically and prints a short
// report. User errors are one line on stderr and exit code 1; bugs in the compiler exit with 2.

import { splitSections } from '../codegen/sections.js';
import { realpathSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { gzipSync } from 'node:zlib';
import { compile, CompileError, VERSION, type CompileOptions, type CompileReport } from './index.js';
import { cHeader } from './c-header.js';

const USAGE = `Usage: onnx2wasm model.onnx [options]

Compiles an ONNX model into one self-contained WebAssembly module.

Options:
  -o, --output <file>          where to write the module (default: the model's path with .wasm)
      --shape <name=dims>      static shape for an input, dims joined by x: --shape input=1x3x224x224
                               (repeatable; binds the input's symbolic dimensions; "name=" is a scalar)
      --constant <name=values> fold an input into the model as a constant: --constant k=3 or
                               --constant axes=0,2 (shape [count]) or --constant m=1,2,3,4,5,6:2x3
                               (values in the input's dtype; ":" alone after the values means a scalar)
      --image-input <name=FMT:HxW>  the float32 image input takes an 8-bit frame instead, pre-processed in the
                               module: FMT is RGBA (canvas ImageData), RGB or GRAY: --image-input input=RGBA:480x640
      --resize <HxW>           the image tensor's height and width (default: the model's; binds symbolic dims)
      --crop                   cut the frame's centred region with the tensor's aspect ratio before resizing
      --normalize <mean,std>   (pixel / 255 - mean) / std; one mean and std, or all means then all stds per channel
      --layout <NCHW|NHWC>     where the model's image input has its channels (default NCHW)
      --target <simd|scalar>   simd: SIMD128 (default); scalar: no SIMD, for interpreters such as WAMR
      --profile                build an instrumented module that times each node (imports a clock; see
                               npm run profile and the runtime's model.profile())
      --no-optimize            skip binaryen's optimizer (faster compile, slower and larger module)
      --int8                   quantize to int8 after calibrating on --calibrate (weights per channel)
      --calibrate <path>       calibration inputs: a folder of input_K.pb (or of test_data_set_N/ folders),
                               .npy files, or a raw little-endian .f32 file split by the input's shape
      --calibration-method <m> minmax (default), percentile (99.999%) or entropy (KL divergence)
      --per-tensor             one weight scale per tensor instead of per output channel
      --exclude <node>         keep this node float (repeatable)
      --auto-float <n|XdB>     keep float the n layers that add the most error, or every layer adding > X dB
      --emit-onnx <file>       also write the quantized model as a standard QDQ ONNX file
      --max-memory <size>      fail when the module's linear memory exceeds this (8MB, 512KB; MB = 2^20 bytes)
      --c-header <file>        also write the inputs and outputs as a C header (for wasm2c, WAMR, wasmtime)
      --json <file>            also write the report as JSON ("-" prints it instead of the text report)
  -q, --quiet                  print nothing but errors
      --version                print the version
  -h, --help                   print this help
`;

/** Where the CLI writes; tests pass their own. */
export interface CliIO { out(text: string): void; err(text: string): void; tty: boolean }

const processIO: CliIO = {
  out: (text) => void process.stdout.write(text),
  err: (text) => void process.stderr.write(text),
  tty: !!process.stdout.isTTY,
};

/** A mistake in how the CLI was called (exit 1), as opposed to a bug (exit 2). */
class UsageError extends Error {}

interface CliOptions {
  model: string;
  output: string;
  json?: string;
  cHeader?: string;
  emitOnnx?: string;
  quiet: boolean;
  compile: CompileOptions;
}

export async function main(argv: string[], io: CliIO = processIO): Promise<number> {
  let progressShown = false;
  const clearProgress = () => {
    if (progressShown) io.out('\r\x1b[K');
    progressShown = false;
  };
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        output: { type: 'string', short: 'o' },
        shape: { type: 'string', multiple: true },
        constant: { type: 'string', multiple: true },
        target: { type: 'string' },
        'image-input': { type: 'string', multiple: true },
        resize: { type: 'string' },
        crop: { type: 'boolean' },
        normalize: { type: 'string' },
        layout: { type: 'string' },
        'no-optimize': { type: 'boolean' },
        profile: { type: 'boolean' },
        int8: { type: 'boolean' },
        calibrate: { type: 'string' },
        'calibration-method': { type: 'string' },
        'per-tensor': { type: 'boolean' },
        exclude: { type: 'string', multiple: true },
        'auto-float': { type: 'string' },
        'emit-onnx': { type: 'string' },
        'max-memory': { type: 'string' },
        json: { type: 'string' },
        'c-header': { type: 'string' },
        quiet: { type: 'boolean', short: 'q' },
        version: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    if (values.help) return io.out(USAGE), 0;
    if (values.version) return io.out(`onnx2wasm ${VERSION}\n`), 0;
    const opts = cliOptions(values, positionals);
    const showProgress = io.tty && !opts.quiet;
    opts.compile.onProgress = (stage) => {
      if (!showProgress) return;
      io.out(`\r\x1b[Kcompiling ${opts.model}: ${stage}...`);
      progressShown = true;
    };
    if (opts.compile.int8) {
      const passes = { ranges: 'ranges', histograms: 'histograms', error: 'per-layer error' };
      opts.compile.int8.onCalibrate = (done, total, pass) => {
        if (!showProgress) return;
        io.out(`\r\x1b[Kcalibrating ${opts.model}: ${passes[pass]} ${done}/${total} inputs`);
        progressShown = true;
      };
    }
    const t0 = performance.now();
    const { wasm, manifest, report, onnx } = await compile(opts.model, opts.compile);
    const file = measureSections(wasm);
    const json = JSON.stringify({ model: opts.model, output: opts.output, ...report, file }, null, 2) + '\n';
    writeAtomically([
      { path: opts.output, data: wasm },
      ...(opts.json && opts.json !== '-' ? [{ path: opts.json, data: json }] : []),
      ...(opts.cHeader ? [{ path: opts.cHeader, data: cHeader(manifest, basename(opts.model)) }] : []),
      ...(opts.emitOnnx && onnx ? [{ path: opts.emitOnnx, data: onnx }] : []),
    ]);
    clearProgress();
    if (opts.json === '-') io.out(json);
    else if (!opts.quiet) io.out(formatReport(opts, report, file, performance.now() - t0));
    return 0;
  } catch (e) {
    clearProgress();
    return reportError(e, io);
  }
}

function reportError(e: unknown, io: CliIO): number {
  const isUserError = (e instanceof CompileError && e.code !== 'INTERNAL') || e instanceof UsageError ||
    (e instanceof TypeError && String((e as NodeJS.ErrnoException).code).startsWith('ERR_PARSE_ARGS'));
  const message = oneLine((e as Error)?.message ?? String(e));
  if (isUserError) {
    io.err(`onnx2wasm: error: ${message}\n`);
    return 1;
  }
  io.err(`onnx2wasm: internal error: ${message}\n` +
    `This is a bug in onnx2wasm ${VERSION}; please report it with the model and the command line` +
    `${process.env.ONNX2WASM_DEBUG ? '' : ' (ONNX2WASM_DEBUG=1 shows the stack trace)'}.\n`);
  if (process.env.ONNX2WASM_DEBUG) io.err(`${(e as Error)?.stack ?? e}\n`);
  return 2;
}

const oneLine = (s: string) => s.replace(/\s*\n\s*/g, ' ').trim();

// --- arguments ---

function cliOptions(values: Record<string, string | string[] | boolean | undefined>, positionals: string[]): CliOptions {
  if (positionals.length !== 1) {
    throw new UsageError(positionals.length ? `expected one model file, got ${positionals.length}: ${positionals.join(' ')}`
      : 'no model file given (usage: onnx2wasm model.onnx [options]; see --help)');
  }
  const model = positionals[0];
  const output = (values.output as string | undefined) ?? model.replace(/\.onnx$/i, '') + '.wasm';
  if (resolve(output) === resolve(model)) throw new UsageError(`the output ${output} would overwrite the model; choose another with -o`);
  const target = (values.target as string | undefined) ?? 'simd';
  if (target !== 'simd' && target !== 'scalar') throw new UsageError(`--target must be simd or scalar, got "${target}"`);
  const shapes: Record<string, number[]> = {};
  for (const arg of (values.shape as string[] | undefined) ?? []) {
    const [name, dims] = nameValue('--shape', arg);
    if (name in shapes) throw new UsageError(`--shape ${name} is given twice`);
    shapes[name] = parseDims(`--shape ${name}`, dims);
  }
  const constants: NonNullable<CompileOptions['constants']> = {};
  for (const arg of (values.constant as string[] | undefined) ?? []) {
    const [name, spec] = nameValue('--constant', arg);
    if (name in constants) throw new UsageError(`--constant ${name} is given twice`);
    constants[name] = parseConstant(name, spec);
  }
  const json = values.json as string | undefined;
  // Checked before compiling, so that a bad path fails before anything is written.
  checkOutputPath('-o', output);
  if (json !== undefined && json !== '-') {
    checkOutputPath('--json', json);
    if (resolve(json) === resolve(output) || resolve(json) === resolve(model)) throw new UsageError(`--json ${json} would overwrite the ${resolve(json) === resolve(output) ? 'module' : 'model'}`);
  }
  const cHeader = values['c-header'] as string | undefined;
  if (cHeader !== undefined) checkOutputPath('--c-header', cHeader);
  const imageInputs = parseImageInputs(values);
  const { int8, emitOnnx } = parseInt8(values, model, output);
  const maxMemory = values['max-memory'] as string | undefined;
  return {
    model, output, json, cHeader, emitOnnx, quiet: !!values.quiet,
    compile: { shapes, constants, target, optimize: !values['no-optimize'], profile: !!values.profile, ...(imageInputs && { imageInputs }), ...(int8 && { int8 }), ...(maxMemory !== undefined && { maxMemory }) },
  };
}

/** --int8 --calibrate PATH [--calibration-method M] [--per-tensor] [--exclude NODE]... [--auto-float N] [--emit-onnx FILE] */
function parseInt8(values: Record<string, string | string[] | boolean | undefined>, model: string, output: string): { int8?: CompileOptions['int8']; emitOnnx?: string } {
  const emitOnnx = values['emit-onnx'] as string | undefined;
  if (!values.int8) {
    const stray = ['calibrate', 'calibration-method', 'per-tensor', 'exclude', 'auto-float', 'emit-onnx'].find((o) => values[o] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --int8`);
    return {};
  }
  const calibration = values.calibrate as string | undefined;
  if (!calibration) throw new UsageError('--int8 needs calibration inputs: --calibrate PATH (a folder of input_K.pb, .npy or .f32 files)');
  const method = (values['calibration-method'] as string | undefined) ?? 'minmax';
  if (!['minmax', 'percentile', 'entropy'].includes(method)) throw new UsageError(`--calibration-method must be minmax, percentile or entropy, got "${method}"`);
  const autoText = values['auto-float'] as string | undefined;
  const autoDb = autoText === undefined ? undefined : /^(\d+(?:\.\d+)?)\s*dB$/i.exec(autoText);
  if (autoText !== undefined && !/^\d+$/.test(autoText) && !autoDb) throw new UsageError(`--auto-float takes a number of layers (2) or a loss in dB (6dB), got "${autoText}"`);
  if (emitOnnx !== undefined) {
    checkOutputPath('--emit-onnx', emitOnnx);
    if ([output, model].some((p) => resolve(p) === resolve(emitOnnx))) throw new UsageError(`--emit-onnx ${emitOnnx} would overwrite the ${resolve(emitOnnx) === resolve(output) ? 'module' : 'model'}`);
  }
  return {
    emitOnnx,
    int8: {
      calibration, method: method as 'minmax', perChannel: !values['per-tensor'],
      ...(values.exclude && { exclude: values.exclude as string[] }), ...(autoText !== undefined && { autoFloat: autoDb ? { addedDb: Number(autoDb[1]) } : Number(autoText) }),
    },
  };
}

/** An output path must name a file (not a folder) in a folder that exists. */
function checkOutputPath(option: string, path: string): void {
  const stat = (p: string) => {
    try {
      return statSync(p, { throwIfNoEntry: false });
    } catch {
      return undefined; // ENOTDIR, EACCES: the write would fail; say so below
    }
  };
  if (path.endsWith('/') || stat(path)?.isDirectory()) throw new UsageError(`cannot write ${path}: it is a folder (${option})`);
  if (!stat(dirname(resolve(path)))?.isDirectory()) throw new UsageError(`cannot write ${path}: its folder does not exist (${option})`);
}

/** --image-input name=RGBA:480x640 with --resize, --crop, --normalize and --layout (which apply to each). */
function parseImageInputs(values: Record<string, string | string[] | boolean | undefined>): CompileOptions['imageInputs'] {
  const specs = (values['image-input'] as string[] | undefined) ?? [];
  if (!specs.length) {
    const stray = ['resize', 'crop', 'normalize', 'layout'].find((o) => values[o] !== undefined);
    if (stray) throw new UsageError(`--${stray} goes with --image-input`);
    return undefined;
  }
  const resize = values.resize === undefined ? undefined : parseDims('--resize', values.resize as string);
  if (resize && resize.length !== 2) throw new UsageError(`--resize takes HxW (like 224x224), got "${values.resize}"`);
  let mean: number[] | undefined, std: number[] | undefined;
  if (values.normalize !== undefined) {
    const xs = (values.normalize as string).split(',').map(Number);
    if (xs.length % 2 || xs.some((x) => !Number.isFinite(x))) throw new UsageError(`--normalize takes mean,std or all means then all stds (like 0.485,0.456,0.406,0.229,0.224,0.225), got "${values.normalize}"`);
    [mean, std] = [xs.slice(0, xs.length / 2), xs.slice(xs.length / 2)];
  }
  const images: NonNullable<CompileOptions['imageInputs']> = {};
  for (const arg of specs) {
    const [name, spec] = nameValue('--image-input', arg);
    const m = /^(RGBA|RGB|GRAY):(\d+)x(\d+)$/i.exec(spec);
    if (!m) throw new UsageError(`--image-input takes name=FORMAT:HxW with FORMAT RGBA, RGB or GRAY (like input=RGBA:480x640), got "${arg}"`);
    if (name in images) throw new UsageError(`--image-input ${name} is given twice`);
    images[name] = {
      format: m[1].toUpperCase() as 'RGBA', height: Number(m[2]), width: Number(m[3]), crop: !!values.crop,
      ...(resize && { resize: resize as [number, number] }), ...(mean && { mean, std }),
      ...(values.layout !== undefined && { layout: (values.layout as string).toUpperCase() as 'NCHW' }),
    };
  }
  return images;
}

/** "name=value", split at the last "=" (input names may contain "=", values never do). */
export function nameValue(option: string, arg: string): [string, string] {
  const at = arg.lastIndexOf('=');
  if (at <= 0) throw new UsageError(`${option} takes name=value, got "${arg}"`);
  return [arg.slice(0, at), arg.slice(at + 1)];
}

/** "1x3x224x224" -> [1, 3, 224, 224]; "" -> [] (a scalar). */
export function parseDims(what: string, text: string): number[] {
  if (text === '') return [];
  return text.split('x').map((d) => {
    if (!/^\d+$/.test(d) || !Number.isSafeInteger(Number(d))) throw new UsageError(`${what}: dimensions are non-negative integers joined by x (like 1x3x224x224), got "${text}"`);
    return Number(d);
  });
}

/** "1,2,3" -> shape [3]; "1,2,3,4,5,6:2x3" -> shape [2, 3]; "7:" -> a scalar. */
function parseConstant(name: string, spec: string): { data: (number | bigint)[]; shape: number[] } {
  const colon = spec.indexOf(':');
  const valueText = colon < 0 ? spec : spec.slice(0, colon);
  const data = valueText === '' ? [] : valueText.split(',').map((t) => parseNumber(name, t.trim()));
  const shape = colon < 0 ? [data.length] : parseDims(`--constant ${name}`, spec.slice(colon + 1));
  return { data, shape };
}

/** Integers beyond 2^53 stay exact as bigint (int64 inputs); nan, inf and true/false are accepted. */
function parseNumber(name: string, t: string): number | bigint {
  if (/^[+-]?\d+$/.test(t)) {
    const n = Number(t);
    return Number.isSafeInteger(n) ? n : BigInt(t);
  }
  const word = t.toLowerCase().replace(/^\+/, '');
  const special: Record<string, number> = { nan: NaN, inf: Infinity, infinity: Infinity, '-inf': -Infinity, '-infinity': -Infinity, true: 1, false: 0 };
  if (word in special) return special[word];
  const n = Number(t);
  if (t === '' || Number.isNaN(n)) throw new UsageError(`--constant ${name}: "${t}" is not a number`);
  return n;
}

// --- output ---

/** Writes every file to a temporary name beside it, then renames: on failure no partial file is left. */
function writeAtomically(files: { path: string; data: Uint8Array | string }[]): void {
  const temps: string[] = [];
  let current = '';
  try {
    for (const f of files) {
      current = f.path;
      const tmp = join(dirname(f.path), `.${basename(f.path)}.${process.pid}-${Math.random().toString(36).slice(2, 8)}.tmp`);
      temps.push(tmp);
      writeFileSync(tmp, f.data);
    }
    files.forEach((f, i) => {
      current = f.path;
      renameSync(temps[i], f.path);
    });
  } catch (e) {
    for (const t of temps) rmSync(t, { force: true });
    const code = (e as NodeJS.ErrnoException).code ?? '';
    const why = { ENOENT: 'its folder does not exist', EISDIR: 'it is a folder', EACCES: 'permission denied', EPERM: 'permission denied', ENOSPC: 'no space left' }[code];
    throw new UsageError(`cannot write ${current}: ${why ?? (e as Error).message}`);
  }
}

interface SectionSizes { bytes: number; gzip: number }
/** The module split by section kind: weights = the data section, manifest = custom sections, code = the rest. */
export interface FileSizes { total: SectionSizes; code: SectionSizes; weights: SectionSizes; manifest: SectionSizes }

export function measureSections(wasm: Uint8Array): FileSizes {
  const parts = splitSections(wasm);
  const measure = (chunks: Uint8Array[]): SectionSizes => {
    const bytes = Buffer.concat(chunks);
    return { bytes: bytes.length, gzip: bytes.length ? gzipSync(bytes).length : 0 };
  };
  return { total: measure([wasm]), code: measure(parts.code), weights: measure(parts.weights), manifest: measure(parts.manifest) };
}

const kB = (n: number) => `${(n / 1000).toFixed(2)} kB`;

function formatReport(opts: CliOptions, report: CompileReport, file: FileSizes, ms: number): string {
  const rows: [string, SectionSizes][] = [[opts.output, file.total], ['  code', file.code], ['  weights', file.weights], ['  manifest', file.manifest]];
  const nameWidth = Math.max(...rows.map(([n]) => n.length));
  const sizeWidth = Math.max(...rows.map(([, s]) => kB(s.bytes).length));
  const gzipWidth = Math.max(...rows.map(([, s]) => kB(s.gzip).length));
  const lines = rows.map(([n, s]) => `${n.padEnd(nameWidth)}  ${kB(s.bytes).padStart(sizeWidth)} │ gzip: ${kB(s.gzip).padStart(gzipWidth)}`);
  const ops = Object.entries(report.ops).sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]));
  const m = report.memory;
  lines.push(
    '',
    `operators  ${ops.map(([op, n]) => `${op} ×${n}${variantsOf(report, op)}`).join('  ') || 'none'}  ` +
      `(${report.nodes.emitted} of ${report.nodes.model} nodes after folding, ${report.kernels} kernels)`,
    `memory     arena ${kB(m.arena)} (lower bound ${kB(m.arenaLowerBound)}${m.scratch ? `; kernel scratch up to ${kB(m.scratch)} of it` : ''}) · ` +
      `weights ${kB(m.weights)} · io ${kB(m.io)} · linear memory ${m.total / 1024} KiB (${m.total / 65536} page${m.total === 65536 ? '' : 's'})`,
    ...quantizationLines(report),
    ...int8Lines(report),
    `target     ${report.target}${opts.compile.profile ? ' · profiling build: times each node, imports a clock (onnx2wasm.now); for measuring, not shipping' : ''}`,
    '',
    `✓ compiled ${opts.model} in ${Math.round(ms)} ms`,
  );
  return lines.join('\n') + '\n';
}

/** ' (winograd-f2x2-3x3 ×8, im2col-gemm ×12)': the kernel variants an op's nodes run, when it has several. */
function variantsOf(report: CompileReport, op: string): string {
  const mine = Object.entries(report.variants).filter(([k]) => k.startsWith(`${op}:`));
  return mine.length ? ` (${mine.map(([k, n]) => `${k.slice(op.length + 1)} ×${n}`).join(', ')})` : '';
}

/** QDQ models: which float ops now run in int8, and which stayed float and why (grouped by reason). */
function quantizationLines(report: CompileReport): string[] {
  const q = report.quantization;
  const int8 = Object.entries(q.int8).sort((a, b) => b[1] - a[1]);
  if (!int8.length && !q.float.length) return [];
  const lines = [`int8       ${int8.map(([op, n]) => `${op} ×${n}`).join('  ') || 'none'} run in int8`];
  const byReason = new Map<string, string[]>();
  for (const f of q.float) (byReason.get(f.reason) ?? byReason.set(f.reason, []).get(f.reason)!).push(f.op);
  for (const [reason, ops] of byReason) {
    const counts = [...new Set(ops)].map((op) => `${op} ×${ops.filter((o) => o === op).length}`).join('  ');
    lines.push(`           stayed float: ${counts} (${reason})`);
  }
  return lines;
}

/** --int8: the calibration, the model outputs' error against float, and the layers that add the most error. */
function int8Lines(report: CompileReport): string[] {
  const r = report.int8;
  if (!r) return [];
  const db = (x: number) => `${x.toFixed(1)} dB`;
  return [
    `calibrate  ${r.method} on ${r.calibrationInputs} input${r.calibrationInputs === 1 ? '' : 's'}, weights ${r.perChannel ? 'per channel' : 'per tensor'}; ` +
      `against float: ${r.outputs.map((o) => `${o.name} SQNR ${db(o.sqnr)}, cosine ${o.cosine.toFixed(5)}`).join('; ')}`,
    `           worst layers (SQNR at the layer · dB it adds): ${r.worst.map((l) => `${l.node} (${l.op}) ${db(l.sqnr)} · +${db(l.addedDb)}`).join(', ')}`,
    ...(r.float.length ? [`           float by choice: ${r.float.map((f) => `${f.node} (${f.op}: ${f.reason})`).slice(0, 6).join(', ')}${r.float.length > 6 ? ` and ${r.float.length - 6} more (--json)` : ''}`] : []),
  ];
}

// Run when executed (node dist/src/cli.js, the npm bin link, tsx src/cli.ts), not when imported by tests.
function invokedDirectly(): boolean {
  try {
    return !!process.argv[1] && realpathSync(process.argv[1]) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (invokedDirectly()) process.exitCode = await main(process.argv.slice(2));
