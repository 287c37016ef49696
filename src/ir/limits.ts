// Size limits, checked before anything is allocated: a tiny hostile model can declare tensors of any size.

import { CompileError } from '../errors.js';
import { DTYPE_SIZE, type DType } from './dtype.js';
import { fmtShape } from './graph.js';

/** wasm32 linear memory: 65536 pages of 64 KiB. No tensor, and no module's memory, can be larger. */
export const MAX_MEMORY_BYTES = 2 ** 32;
/**
 * A constant the compiler computes (folded values, Range) is stored in the module; engines refuse modules over
 * 1 GiB (V8's limit), so a constant larger than that could never be loaded.
 */
export const MAX_CONSTANT_BYTES = 2 ** 30;

/** What a size error is about, for its message: `tensor "w"`, `node "pad" (Pad, opset 13) output`. */
export interface SizeWhere { what: string; node?: string; op?: string }

/**
 * Checks that every dimension is a non-negative safe integer (else INVALID_MODEL) and that the tensor's bytes
 * stay within `limit` (else TOO_LARGE); returns the element count. The product is checked step by step, so it
 * never overflows on the way.
 */
export function checkedElements(dtype: DType, shape: readonly number[], where: SizeWhere, limit = MAX_MEMORY_BYTES): number {
  const ref = { node: where.node, op: where.op };
  for (const d of shape) {
    if (!Number.isSafeInteger(d) || d < 0) {
      throw new CompileError('INVALID_MODEL', `${where.what} has an invalid dimension ${d} (shape ${fmtShape(shape)}): dimensions are non-negative integers`, ref);
    }
  }
  if (shape.includes(0)) return 0;
  let n = 1;
  for (const d of shape) {
    n *= d;
    if (n * DTYPE_SIZE[dtype] > limit) throw tooLarge(where, `${dtype} of shape ${fmtShape(shape)}`, limit);
  }
  return n;
}

export function tooLarge(where: SizeWhere, what: string, limit: number): CompileError {
  const why = limit === MAX_CONSTANT_BYTES ? 'a constant stored in the module (engines load modules up to 1 GiB)' : 'WebAssembly (wasm32) memory';
  return new CompileError('TOO_LARGE', `${where.what}: ${what} is larger than ${formatBytes(limit)}, the limit of ${why}`, { node: where.node, op: where.op });
}

export const formatBytes = (n: number) => (n >= 2 ** 30 ? `${n / 2 ** 30} GiB` : `${n / 2 ** 20} MiB`);
