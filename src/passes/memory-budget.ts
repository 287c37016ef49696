// The memory budget (--max-memory / maxMemory): a device with 8 MB for model plus activations needs to know at
// compile time, not at load time, that the module's linear memory (weights + activation arena + io) does not fit.

import { CompileError } from '../errors.js';
import { byteSize, isStatic, type Graph } from '../ir/graph.js';
import type { Manifest } from '../../codegen/module.js';

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1024, kb: 1024, kib: 1024, m: 2 ** 20, mb: 2 ** 20, mib: 2 ** 20, g: 2 ** 30, gb: 2 ** 30, gib: 2 ** 30 };

/** "8MB", "512KB", "1.5GiB", 8388608 -> bytes (KB, MB, GB are binary: 1 MB = 1,048,576 bytes). */
export function parseBytes(v: number | string, what = 'maxMemory'): number {
  if (typeof v === 'number' && Number.isFinite(v) && v > 0) return Math.floor(v);
  const m = typeof v === 'string' ? /^\s*(\d+(?:\.\d+)?)\s*([a-z]*)\s*$/i.exec(v) : null;
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  if (!m || unit === undefined || !(Number(m[1]) > 0)) throw new CompileError('BAD_OPTION', `${what} takes a size such as 8MB, 512KB or a number of bytes, got "${v}"`);
  return Math.floor(Number(m[1]) * unit);
}

const mb = (n: number) => `${(n / 2 ** 20).toFixed(2)} MB`;

/** Throws OVER_BUDGET naming the biggest parts when the planned linear memory exceeds `budget` bytes. */
export function checkMemoryBudget(graph: Graph, memory: Manifest['memory'], budget: number, quantized: boolean): void {
  if (memory.total <= budget) return;
  const used = new Set(graph.nodes.flatMap((n) => n.inputs));
  const sized = [...graph.values.values()].filter((v) => isStatic(v.shape)).map((v) => ({ v, bytes: byteSize(v.dtype, v.shape as number[]) }));
  const top = (list: typeof sized) => list.sort((a, b) => b.bytes - a.bytes).slice(0, 3).map(({ v, bytes }) => `${v.name} ${mb(bytes)}`).join(', ');
  const weights = top(sized.filter(({ v }) => v.const && used.has(v.name)));
  const activations = top(sized.filter(({ v }) => !v.const));
  // int8 stores weights and activations in one byte instead of four.
  const int8 = memory.weights / 4 + memory.arena / 4 + memory.io;
  const hint = quantized ? '' : int8 <= budget
    ? `; with --int8 (int8 weights and activations) it would need about ${mb(int8)}, which fits`
    : `; even int8 would need about ${mb(int8)}`;
  throw new CompileError('OVER_BUDGET', `the module needs ${mb(memory.total)} of linear memory, over the ${mb(budget)} budget (--max-memory): ` +
    `weights ${mb(memory.weights)} (largest: ${weights || 'none'}), activation arena ${mb(memory.arena)} (largest: ${activations || 'none'}), ` +
    `inputs/outputs ${mb(memory.io)}${hint}`);
}
