// Calibration data from disk (--calibrate PATH): a folder in the ONNX test layout (input_K.pb, or folders of them
// such as test_data_set_N/), .npy files, or raw little-endian .f32 files split by the input's shape.

import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import onnxProto from 'onnx-proto';
import { CompileError } from '../errors.js';
import { decodeTensor } from '../onnx/decode.js';
import { ARRAY_OF, DTYPE_SIZE, type DType, type TypedArray } from '../ir/dtype.js';
import { numel } from '../ir/graph.js';

export interface InputSpec { name: string; dtype: DType; shape: number[] }
type Feed = Record<string, TypedArray>;

const bad = (message: string) => new CompileError('BAD_CALIBRATION', message);

export function loadCalibration(path: string, inputs: InputSpec[]): Feed[] {
  let stat;
  try {
    stat = statSync(path);
  } catch {
    throw bad(`cannot read the calibration data ${path}: no such file or folder`);
  }
  if (stat.isFile()) return splitFile(path, inputs);
  const entries = readdirSync(path).sort(naturalOrder);
  const pbs = entries.filter((f) => /^input_\d+\.pb$/.test(f));
  if (pbs.length) return [pbFeed(path, pbs, inputs)];
  const feeds: Feed[] = [];
  for (const e of entries) {
    const full = join(path, e);
    if (statSync(full).isDirectory()) {
      const inner = readdirSync(full).sort(naturalOrder);
      const innerPbs = inner.filter((f) => /^input_\d+\.pb$/.test(f));
      if (innerPbs.length) feeds.push(pbFeed(full, innerPbs, inputs));
      else if (inner.some((f) => f.endsWith('.npy'))) feeds.push(npyFeed(full, inner, inputs));
    } else if (['.npy', '.f32'].includes(extname(e))) feeds.push(...splitFile(full, inputs));
  }
  if (!feeds.length) throw bad(`no calibration inputs in ${path} (expected input_K.pb files, folders of them such as test_data_set_0/, .npy or .f32 files)`);
  return feeds;
}

const naturalOrder = (a: string, b: string) => a.localeCompare(b, 'en', { numeric: true });

/** input_0.pb, input_1.pb, ... in the order of the model's inputs. */
function pbFeed(dir: string, files: string[], inputs: InputSpec[]): Feed {
  if (files.length !== inputs.length) throw bad(`${dir} holds ${files.length} input_K.pb files, the model has ${inputs.length} input${inputs.length === 1 ? '' : 's'}`);
  const feed: Feed = {};
  files.forEach((f, k) => {
    let t;
    try {
      t = decodeTensor(onnxProto.onnx.TensorProto.decode(readFileSync(join(dir, f))));
    } catch (e) {
      throw bad(`${join(dir, f)} is not an ONNX TensorProto (${(e as Error).message})`);
    }
    feed[inputs[k].name] = checked(join(dir, f), inputs[k], t.dtype, t.data);
  });
  return feed;
}

/** A folder of NAME.npy files, one per model input. */
function npyFeed(dir: string, files: string[], inputs: InputSpec[]): Feed {
  const feed: Feed = {};
  for (const input of inputs) {
    const f = files.find((x) => x === `${input.name}.npy`) ?? (inputs.length === 1 ? files.find((x) => x.endsWith('.npy')) : undefined);
    if (!f) throw bad(`${dir} has no ${input.name}.npy for the model input "${input.name}"`);
    const { dtype, data } = readNpy(join(dir, f));
    feed[input.name] = checked(join(dir, f), input, dtype, data);
  }
  return feed;
}

/** A .npy or .f32 file holding one or more inputs back to back (single-input models). */
function splitFile(path: string, inputs: InputSpec[]): Feed[] {
  if (inputs.length !== 1) throw bad(`${path}: a single data file can only calibrate a model with one input; this one has ${inputs.length} (use folders of input_K.pb)`);
  const input = inputs[0];
  let dtype: DType, data: TypedArray;
  if (extname(path) === '.npy') ({ dtype, data } = readNpy(path));
  else if (extname(path) === '.f32') {
    const bytes = readFileSync(path);
    if (bytes.length % 4) throw bad(`${path}: ${bytes.length} bytes is not a whole number of float32 values`);
    dtype = 'float32';
    data = new Float32Array(bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.length));
  } else throw bad(`${path}: calibration files are .npy, .f32 or folders of input_K.pb`);
  if (dtype !== input.dtype) throw bad(`${path} holds ${dtype} values, the model input "${input.name}" is ${input.dtype}`);
  const size = numel(input.shape);
  if (!data.length || data.length % size) throw bad(`${path} holds ${data.length} values, not a whole number of inputs of shape ${input.shape.join('x')} (${size} values each)`);
  return Array.from({ length: data.length / size }, (_, k) => ({ [input.name]: data.slice(k * size, (k + 1) * size) }));
}

function checked(file: string, input: InputSpec, dtype: DType, data: TypedArray): TypedArray {
  if (dtype !== input.dtype) throw bad(`${file} holds ${dtype} values, the model input "${input.name}" is ${input.dtype}`);
  if (data.length !== numel(input.shape)) throw bad(`${file} holds ${data.length} values, the model input "${input.name}" of shape ${input.shape.join('x')} needs ${numel(input.shape)}`);
  return data;
}

const NPY_DTYPES: Record<string, DType> = { '<f4': 'float32', '<f8': 'float64', '<i8': 'int64', '<i4': 'int32', '|i1': 'int8', '|u1': 'uint8', '|b1': 'bool' };

/** A NumPy .npy file (format 1.x-3.x, C order, little-endian). */
export function readNpy(path: string): { dtype: DType; shape: number[]; data: TypedArray } {
  const bytes = readFileSync(path);
  if (bytes.length < 10 || bytes[0] !== 0x93 || bytes.toString('latin1', 1, 6) !== 'NUMPY') throw bad(`${path} is not a .npy file`);
  const major = bytes[6];
  const headerLength = major === 1 ? bytes.readUInt16LE(8) : bytes.readUInt32LE(8);
  const start = (major === 1 ? 10 : 12) + headerLength;
  const header = bytes.toString('latin1', major === 1 ? 10 : 12, start);
  const descr = /'descr':\s*'([^']+)'/.exec(header)?.[1] ?? '';
  const dtype = NPY_DTYPES[descr];
  if (!dtype) throw bad(`${path}: .npy element type ${descr || '?'} is not supported (float32 <f4, int64 <i8, ...)`);
  if (/'fortran_order':\s*True/.test(header)) throw bad(`${path}: Fortran-ordered .npy files are not supported`);
  const shape = (/'shape':\s*\(([^)]*)\)/.exec(header)?.[1] ?? '').split(',').map((s) => s.trim()).filter(Boolean).map(Number);
  const count = numel(shape);
  if (bytes.length - start < count * DTYPE_SIZE[dtype]) throw bad(`${path}: the file is shorter than its shape ${shape.join('x')} needs`);
  const copy = bytes.buffer.slice(bytes.byteOffset + start, bytes.byteOffset + start + count * DTYPE_SIZE[dtype]);
  return { dtype, shape, data: new ARRAY_OF[dtype](copy) };
}
