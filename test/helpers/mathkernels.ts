// Builds a tiny module exposing the math library's functions to JS, for accuracy tests:
// f64 helpers as exports taking f64, and each fast f32 function in scalar and f32x4 form over a memory array.

import { callFast, ensureMath, MATH_FNS, simdFast, type FastFn, type MathFn } from '../../codegen/mathlib.js';
import { WasmModule } from '../../codegen/wasm.js';

export interface MathKernels {
  f64: Record<MathFn, (...args: number[]) => number>;
  /** Applies a fast f32 function to every element (in place), scalar or SIMD. */
  fast(fn: FastFn, xs: Float32Array, simd: boolean): Float32Array;
}

const FAST_FNS: FastFn[] = ['exp', 'sigmoid', 'tanh', 'erf', 'gelu', 'gelu_tanh', 'gate_sigmoid', 'gate_tanh'];

export function buildMathKernels(): MathKernels {
  const w = new WasmModule('simd');
  for (const fn of Object.keys(MATH_FNS) as MathFn[]) w.exportFunction(ensureMath(w, fn), fn);
  for (const fn of FAST_FNS) {
    w.addFunction(`fast_${fn}`, ['i32', 'i32'], 'none', (k) => {
      const [p, end] = k.params;
      // (Kernel.loop takes static bounds; walk the pointer to the end address instead)
      return k.while(() => k.i32.lt_u(p.get(), end.get()), [
        k.f32.store(0, 4, p.get(), callFast(k, fn, k.f32.load(0, 4, p.get()))),
        p.set(k.i32.add(p.get(), k.c32(4))),
      ]);
    });
    w.addFunction(`simd_${fn}`, ['i32', 'i32'], 'none', (k) => {
      const [p, end] = k.params;
      return k.while(() => k.i32.lt_u(p.get(), end.get()), [
        k.v128.store(0, 4, p.get(), simdFast(k, fn, k.v128.load(0, 4, p.get()))),
        p.set(k.i32.add(p.get(), k.c32(16))),
      ]);
    });
    w.exportFunction(`fast_${fn}`);
    w.exportFunction(`simd_${fn}`);
  }
  const bytes = w.finish(1 << 20, false);
  w.dispose();
  const inst = new WebAssembly.Instance(new WebAssembly.Module(bytes), {});
  const ex = inst.exports as Record<string, CallableFunction> & { memory: WebAssembly.Memory };
  return {
    f64: Object.fromEntries(Object.keys(MATH_FNS).map((fn) => [fn, ex[fn] as (...a: number[]) => number])) as MathKernels['f64'],
    fast(fn, xs, simd) {
      const n = Math.ceil(xs.length / 4) * 4;
      const mem = new Float32Array(ex.memory.buffer, 1024, n);
      mem.fill(0);
      mem.set(xs);
      (ex[`${simd ? 'simd' : 'fast'}_${fn}`] as (p: number, n: number) => void)(1024, 1024 + 4 * (simd ? n : xs.length));
      return mem.slice(0, xs.length);
    },
  };
}
