// The one place that talks to binaryen: a thin typed wrapper for building modules and kernel functions.
// Ops never import binaryen; they build code through Kernel (locals, loops, dtype-aware loads/stores, casts)
// and binaryen's instruction namespaces re-exposed on it (k.f32.add, k.i32.mul, k.f32x4.splat, ...).

import binaryen from 'binaryen';
import type { DType } from '../src/ir/dtype.js';

export type Expr = number;
export type WType = 'i32' | 'i64' | 'f32' | 'f64' | 'v128';
export type Target = 'simd' | 'scalar';

const TYPE: Record<WType | 'none', number> = {
  i32: binaryen.i32, i64: binaryen.i64, f32: binaryen.f32, f64: binaryen.f64, v128: binaryen.v128, none: binaryen.none,
};

/** The wasm value type a dtype is computed in (float16/bfloat16 widen to f32). */
export function computeType(dt: DType): WType {
  switch (dt) {
    case 'float32': case 'float16': case 'bfloat16': return 'f32';
    case 'float64': return 'f64';
    case 'int64': case 'uint64': return 'i64';
    default: return 'i32';
  }
}

export class Local {
  constructor(private readonly k: Kernel, readonly index: number, readonly type: WType) {}
  get(): Expr { return this.k.m.local.get(this.index, TYPE[this.type]); }
  set(v: Expr): Expr { return this.k.m.local.set(this.index, v); }
  tee(v: Expr): Expr { return this.k.m.local.tee(this.index, v, TYPE[this.type]); }
}

type Helper = (w: WasmModule) => void;

/** A module under construction: functions, memory, data segments, exports, custom sections. */
export class WasmModule {
  readonly m: binaryen.Module;
  readonly target: Target;
  private readonly functions = new Set<string>();
  private readonly helpersAdded = new Set<string>();
  private readonly segments: { offset: number; data: Uint8Array }[] = [];
  private labelCounter = 0;

  constructor(target: Target) {
    this.target = target;
    this.m = new binaryen.Module();
    let features = binaryen.Features.MutableGlobals | binaryen.Features.SignExt | binaryen.Features.NontrappingFPToInt;
    if (target === 'simd') features |= binaryen.Features.SIMD128 | binaryen.Features.BulkMemory | binaryen.Features.BulkMemoryOpt;
    this.m.setFeatures(features);
    // Loads and stores look the memory up when created; the real size is set in finish().
    this.m.setMemory(1, 1, null, [], false, false, 'mem');
  }

  hasFunction(name: string): boolean { return this.functions.has(name); }

  /** Define a function; build receives a Kernel with the parameters as locals 0..n-1. */
  addFunction(name: string, params: WType[], result: WType | 'none', build: (k: Kernel) => Expr | Expr[]): string {
    if (this.functions.has(name)) return name;
    this.functions.add(name); // mark first: build may recursively request helpers
    const k = new Kernel(this, params);
    const out = build(k);
    const body = Array.isArray(out) ? k.block(out, result) : out;
    this.m.addFunction(name, binaryen.createType(params.map((p) => TYPE[p])), TYPE[result], k.varTypes(), body);
    return name;
  }

  /** Add a shared helper function once (math library, float16 conversion...). */
  ensureHelper(name: string, define: Helper): string {
    if (!this.helpersAdded.has(name)) {
      this.helpersAdded.add(name);
      define(this);
    }
    return name;
  }

  private readonly outOfLine = new Set<string>();
  /**
   * Keep a function out of its callers when optimizing. Node kernels stay out of run(): V8 optimizes a function
   * once it is hot, and a run() that had absorbed every kernel would be one huge function, slow to optimize and
   * run in the baseline tier for the whole first inference.
   */
  keepOutOfLine(name: string): void { this.outOfLine.add(name); }

  exportFunction(name: string, external = name): void { this.m.addFunctionExport(name, external); }

  /** Import a host function (only profiling builds import anything: their clock); returns a call maker. */
  importFunction(name: string, module: string, base: string, params: WType[], result: WType | 'none'): (args: Expr[]) => Expr {
    this.m.addFunctionImport(name, module, base, binaryen.createType(params.map((p) => TYPE[p])), TYPE[result]);
    return (args) => this.m.call(name, args, TYPE[result]);
  }

  addGlobal(name: string, type: WType, mutable: boolean, init: number): void {
    const c = type === 'i32' ? this.m.i32.const(init) : type === 'f32' ? this.m.f32.const(init) : type === 'f64' ? this.m.f64.const(init) : this.m.i64.const(BigInt(init));
    this.m.addGlobal(name, TYPE[type], mutable, c);
  }

  addData(offset: number, data: Uint8Array): void {
    if (data.length) this.segments.push({ offset, data });
  }

  addCustomSection(name: string, contents: Uint8Array): void { this.m.addCustomSection(name, contents); }

  nextLabel(prefix: string): string { return `${prefix}${this.labelCounter++}`; }

  /** Set memory (exported as "memory"), validate, optimize, and return the binary. */
  finish(totalBytes: number, optimize: boolean): Uint8Array {
    const pages = Math.max(1, Math.ceil(totalBytes / 65536));
    const segs = this.segments.map((s) => ({ offset: this.m.i32.const(s.offset), data: s.data, passive: false }));
    this.m.setMemory(pages, pages, 'memory', segs, false, false, 'mem');
    if (!this.m.validate()) throw new Error('internal error: generated module does not validate');
    if (optimize) {
      binaryen.setOptimizeLevel(3);
      binaryen.setShrinkLevel(1);
      for (const name of this.outOfLine) {
        binaryen.setPassArgument('no-inline', name);
        this.m.runPasses(['no-inline']);
      }
      binaryen.clearPassArguments();
      this.m.optimize();
    }
    return this.m.emitBinary();
  }

  text(): string { return this.m.emitText(); }
  dispose(): void { this.m.dispose(); }
}

/** A function body under construction. */
export class Kernel {
  readonly m: binaryen.Module;
  readonly w: WasmModule;
  readonly params: Local[];
  private readonly vars: WType[] = [];
  // Instruction namespaces, re-exposed so that ops need not import binaryen.
  readonly i32: binaryen.Module['i32'];
  readonly i64: binaryen.Module['i64'];
  readonly f32: binaryen.Module['f32'];
  readonly f64: binaryen.Module['f64'];
  readonly v128: binaryen.Module['v128'];
  readonly f32x4: binaryen.Module['f32x4'];
  readonly f64x2: binaryen.Module['f64x2'];
  readonly i32x4: binaryen.Module['i32x4'];
  readonly i16x8: binaryen.Module['i16x8'];
  readonly i8x16: binaryen.Module['i8x16'];
  readonly i64x2: binaryen.Module['i64x2'];

  constructor(w: WasmModule, params: WType[]) {
    this.w = w;
    this.m = w.m;
    this.params = params.map((t, i) => new Local(this, i, t));
    const m = this.m;
    this.i32 = m.i32; this.i64 = m.i64; this.f32 = m.f32; this.f64 = m.f64;
    this.v128 = m.v128; this.f32x4 = m.f32x4; this.f64x2 = m.f64x2; this.i32x4 = m.i32x4;
    this.i16x8 = m.i16x8; this.i8x16 = m.i8x16; this.i64x2 = m.i64x2;
  }

  get simd(): boolean { return this.w.target === 'simd'; }

  varTypes(): number[] { return this.vars.map((t) => TYPE[t]); }

  local(type: WType): Local {
    const l = new Local(this, this.params.length + this.vars.length, type);
    this.vars.push(type);
    return l;
  }

  // --- constants ---
  c32(v: number): Expr { return this.m.i32.const(v | 0); }
  c64(v: number | bigint): Expr {
    // binaryen 132 takes one bigint (the (low, high) pair form aborts).
    return this.m.i64.const(BigInt.asIntN(64, BigInt(v)));
  }
  cf32(v: number): Expr { return this.m.f32.const(v); }
  cf64(v: number): Expr { return this.m.f64.const(v); }
  /** A constant of wasm type t. */
  const(t: WType, v: number): Expr {
    switch (t) {
      case 'i32': return this.c32(v);
      case 'i64': return this.c64(Number.isInteger(v) ? BigInt(v) : BigInt(Math.trunc(v)));
      case 'f32': return this.cf32(v);
      case 'f64': return this.cf64(v);
      case 'v128': return this.f32x4.splat(this.cf32(v));
    }
  }

  // --- structure ---
  block(stmts: Expr[], result: WType | 'none' = 'none'): Expr {
    return this.m.block(null, stmts, TYPE[result]);
  }
  nop(): Expr { return this.m.nop(); }
  if(cond: Expr, then: Expr | Expr[], otherwise?: Expr | Expr[]): Expr {
    const t = Array.isArray(then) ? this.block(then) : then;
    const e = otherwise === undefined ? undefined : Array.isArray(otherwise) ? this.block(otherwise) : otherwise;
    return this.m.if(cond, t, e);
  }
  /**
   * cond ? a : b without branching. Wasm evaluates a, then b, then cond: a local set by a tee inside cond is
   * not yet set when a or b read it (set the local in a statement before the select instead).
   */
  select(cond: Expr, a: Expr, b: Expr): Expr { return this.m.select(cond, a, b); }
  return(v?: Expr): Expr { return this.m.return(v); }
  drop(v: Expr): Expr { return this.m.drop(v); }
  unreachable(): Expr { return this.m.unreachable(); }
  call(fn: string, args: Expr[], result: WType | 'none' = 'none'): Expr { return this.m.call(fn, args, TYPE[result]); }
  globalGet(name: string, t: WType): Expr { return this.m.global.get(name, TYPE[t]); }
  globalSet(name: string, v: Expr): Expr { return this.m.global.set(name, v); }

  /**
   * for (i = from; i < to; i += step) body, with bounds known at compile time: emitted in do-while form (no
   * entry test), or nothing when empty. Bounds computed at run time need dynFor/dynLoop: an Expr is a
   * number too, so it must not be passed here.
   */
  for(i: Local, from: number, to: number, step: number, body: (i: Local) => Expr | Expr[]): Expr {
    if (from >= to) return this.nop();
    const cst = (v: number) => (i.type === 'i64' ? this.c64(v) : this.c32(v));
    return this.block([i.set(cst(from)), this.counted(i, step, body, () => cst(to))]);
  }

  /** Counted loop with a fresh i32 counter and compile-time bounds. */
  loop(from: number, to: number, body: (i: Local) => Expr | Expr[], step = 1): Expr {
    return this.for(this.local('i32'), from, to, step, body);
  }

  /** for (i = from; i < to; i += step) body, with bounds computed at run time (tested before entry). */
  dynFor(i: Local, from: Expr, to: Expr, step: number, body: (i: Local) => Expr | Expr[]): Expr {
    const it = i.type === 'i64' ? this.i64 : this.i32;
    // The bound is used twice (entry test and back edge): binaryen trees must not share nodes.
    const toCopy = this.m.copyExpression(to);
    return this.block([i.set(from), this.if(it.lt_s(i.get(), to), this.counted(i, step, body, () => toCopy))]);
  }

  /** dynFor with a fresh i32 counter. */
  dynLoop(from: Expr, to: Expr, body: (i: Local) => Expr | Expr[], step = 1): Expr {
    return this.dynFor(this.local('i32'), from, to, step, body);
  }

  private counted(i: Local, step: number, body: (i: Local) => Expr | Expr[], to: () => Expr): Expr {
    const label = this.w.nextLabel('L');
    const b = body(i);
    const it = i.type === 'i64' ? this.i64 : this.i32;
    const stepE = i.type === 'i64' ? this.c64(step) : this.c32(step);
    return this.m.loop(label, this.block([
      ...(Array.isArray(b) ? b : [b]),
      i.set(it.add(i.get(), stepE)),
      this.m.br(label, it.lt_s(i.get(), to())),
    ]));
  }

  /** while (cond) body, testing first. */
  while(cond: () => Expr, body: Expr[]): Expr {
    const brk = this.w.nextLabel('B');
    const cont = this.w.nextLabel('C');
    return this.m.block(brk, [
      this.m.loop(cont, this.block([this.m.br(brk, this.i32.eqz(cond())), ...body, this.m.br(cont)])),
    ]);
  }

  // --- memory access by ONNX dtype; values are in computeType(dt) ---
  /** Load element of dtype dt at byte address addr (+ static byte offset). */
  load(dt: DType, addr: Expr, offset = 0): Expr {
    const m = this.m;
    switch (dt) {
      case 'float32': return m.f32.load(offset, 4, addr);
      case 'float64': return m.f64.load(offset, 8, addr);
      case 'float16': return this.call(f16ToF32(this.w), [m.i32.load16_u(offset, 2, addr)], 'f32');
      case 'bfloat16': return m.f32.reinterpret(m.i32.shl(m.i32.load16_u(offset, 2, addr), this.c32(16)));
      case 'int8': return m.i32.load8_s(offset, 1, addr);
      case 'uint8': case 'bool': return m.i32.load8_u(offset, 1, addr);
      case 'int16': return m.i32.load16_s(offset, 2, addr);
      case 'uint16': return m.i32.load16_u(offset, 2, addr);
      case 'int32': case 'uint32': return m.i32.load(offset, 4, addr);
      case 'int64': case 'uint64': return m.i64.load(offset, 8, addr);
    }
  }

  /** Store a computeType(dt) value as dtype dt (float16/bfloat16 round to nearest even). */
  store(dt: DType, addr: Expr, value: Expr, offset = 0): Expr {
    const m = this.m;
    switch (dt) {
      case 'float32': return m.f32.store(offset, 4, addr, value);
      case 'float64': return m.f64.store(offset, 8, addr, value);
      case 'float16': return m.i32.store16(offset, 2, addr, this.call(f32ToF16(this.w), [value], 'i32'));
      case 'bfloat16': return m.i32.store16(offset, 2, addr, this.call(f32ToBf16(this.w), [value], 'i32'));
      case 'int8': case 'uint8': case 'bool': return m.i32.store8(offset, 1, addr, value);
      case 'int16': case 'uint16': return m.i32.store16(offset, 2, addr, value);
      case 'int32': case 'uint32': return m.i32.store(offset, 4, addr, value);
      case 'int64': case 'uint64': return m.i64.store(offset, 8, addr, value);
    }
  }

  /** ONNX Cast semantics between compute values: float->int truncates (saturating), ints wrap, bool is x != 0. */
  cast(v: Expr, from: DType, to: DType): Expr {
    const m = this.m;
    const ft = computeType(from);
    const tt = computeType(to);
    const fromUnsigned = from.startsWith('uint') || from === 'bool';
    if (to === 'bool') {
      switch (ft) {
        case 'f32': return m.f32.ne(v, this.cf32(0));
        case 'f64': return m.f64.ne(v, this.cf64(0));
        case 'i64': return m.i64.ne(v, this.c64(0));
        default: return m.i32.ne(v, this.c32(0));
      }
    }
    // Round through float32 first so that float64 -> float16 gives float16's nearest value.
    let x: Expr;
    if (ft === tt) x = v;
    else if (tt === 'f32') x = ft === 'f64' ? m.f32.demote(v) : ft === 'i64' ? (fromUnsigned ? m.f32.convert_u.i64(v) : m.f32.convert_s.i64(v)) : (fromUnsigned ? m.f32.convert_u.i32(v) : m.f32.convert_s.i32(v));
    else if (tt === 'f64') x = ft === 'f32' ? m.f64.promote(v) : ft === 'i64' ? (fromUnsigned ? m.f64.convert_u.i64(v) : m.f64.convert_s.i64(v)) : (fromUnsigned ? m.f64.convert_u.i32(v) : m.f64.convert_s.i32(v));
    else if (tt === 'i64') {
      const toU = to === 'uint64';
      x = ft === 'f32' ? (toU ? m.i64.trunc_u_sat.f32(v) : m.i64.trunc_s_sat.f32(v))
        : ft === 'f64' ? (toU ? m.i64.trunc_u_sat.f64(v) : m.i64.trunc_s_sat.f64(v))
        : fromUnsigned ? m.i64.extend_u(v) : m.i64.extend_s(v);
    } else {
      // to an i32-computed integer type
      const toU = to.startsWith('uint');
      if (ft === 'f32') x = toU && to === 'uint32' ? m.i32.trunc_u_sat.f32(v) : m.i32.trunc_s_sat.f32(v);
      else if (ft === 'f64') x = toU && to === 'uint32' ? m.i32.trunc_u_sat.f64(v) : m.i32.trunc_s_sat.f64(v);
      else if (ft === 'i64') x = m.i32.wrap(v);
      else x = v;
    }
    return this.normalize(x, to);
  }

  /** Bring an i32 compute value into the range of a narrow integer dtype (wrap, sign- or zero-extend). */
  normalize(v: Expr, dt: DType): Expr {
    switch (dt) {
      case 'int8': return this.i32.extend8_s(v);
      case 'int16': return this.i32.extend16_s(v);
      case 'uint8': return this.i32.and(v, this.c32(0xff));
      case 'uint16': return this.i32.and(v, this.c32(0xffff));
      case 'bool': return this.i32.ne(v, this.c32(0));
      default: return v;
    }
  }

  /** memcpy of a static or dynamic byte count (bulk memory on simd, a word loop on scalar). */
  copy(dst: Expr, src: Expr, bytes: number): Expr {
    if (bytes <= 0) return this.nop();
    if (this.simd) return this.m.memory.copy(dst, src, this.c32(bytes));
    return this.call(memcpyHelper(this.w), [dst, src, this.c32(bytes)]);
  }

  fill(dst: Expr, byte: number, bytes: number): Expr {
    return this.fillWith(dst, this.c32(byte), bytes);
  }

  /** memset of a static byte count with a run-time byte value. */
  fillWith(dst: Expr, value: Expr, bytes: number): Expr {
    if (bytes <= 0) return this.nop();
    if (this.simd) return this.m.memory.fill(dst, value, this.c32(bytes));
    return this.call(memsetHelper(this.w), [dst, value, this.c32(bytes)]);
  }
}

// --- shared helpers needed by the wrapper itself ---

function f16ToF32(w: WasmModule): string {
  return w.ensureHelper('f16_to_f32', () => {
    w.addFunction('f16_to_f32', ['i32'], 'f32', (k) => {
      const h = k.params[0];
      const { i32 } = k;
      const sign = k.local('i32'), exp = k.local('i32'), man = k.local('i32');
      return [
        sign.set(i32.shl(i32.and(h.get(), k.c32(0x8000)), k.c32(16))),
        exp.set(i32.and(i32.shr_u(h.get(), k.c32(10)), k.c32(0x1f))),
        man.set(i32.and(h.get(), k.c32(0x3ff))),
        k.if(i32.eq(exp.get(), k.c32(0)),
          // subnormal or zero: man * 2^-24
          k.return(k.f32.copysign(k.f32.mul(k.f32.convert_u.i32(man.get()), k.cf32(2 ** -24)), k.f32.reinterpret(sign.get())))),
        k.if(i32.eq(exp.get(), k.c32(31)),
          k.return(k.f32.reinterpret(i32.or(sign.get(), i32.or(k.c32(0x7f800000), i32.shl(man.get(), k.c32(13))))))),
        k.return(k.f32.reinterpret(i32.or(sign.get(), i32.or(i32.shl(i32.add(exp.get(), k.c32(112)), k.c32(23)), i32.shl(man.get(), k.c32(13)))))),
      ];
    });
  });
}

function f32ToF16(w: WasmModule): string {
  return w.ensureHelper('f32_to_f16', () => {
    w.addFunction('f32_to_f16', ['f32'], 'i32', (k) => {
      const { i32 } = k;
      const x = k.local('i32'), sign = k.local('i32'), e = k.local('i32'), man = k.local('i32');
      const half = k.local('i32'), shift = k.local('i32'), rem = k.local('i32'), mid = k.local('i32');
      // r and midv are called twice: an expression node may appear only once in the tree.
      const roundEven = (hv: Local, r: () => Expr, midv: () => Expr) =>
        k.if(i32.or(i32.gt_u(r(), midv()), i32.and(i32.eq(r(), midv()), i32.and(hv.get(), k.c32(1)))), hv.set(i32.add(hv.get(), k.c32(1))));
      return [
        x.set(i32.reinterpret(k.params[0].get())),
        sign.set(i32.and(i32.shr_u(x.get(), k.c32(16)), k.c32(0x8000))),
        e.set(i32.and(i32.shr_u(x.get(), k.c32(23)), k.c32(0xff))),
        man.set(i32.and(x.get(), k.c32(0x7fffff))),
        k.if(i32.eq(e.get(), k.c32(0xff)),
          k.return(i32.or(sign.get(), i32.or(k.c32(0x7c00), k.select(man.get(), k.c32(0x200), k.c32(0)))))),
        e.set(i32.sub(e.get(), k.c32(112))),
        k.if(i32.ge_s(e.get(), k.c32(31)), k.return(i32.or(sign.get(), k.c32(0x7c00)))),
        k.if(i32.le_s(e.get(), k.c32(0)), [
          k.if(i32.lt_s(e.get(), k.c32(-10)), k.return(sign.get())),
          man.set(i32.or(man.get(), k.c32(0x800000))),
          shift.set(i32.sub(k.c32(14), e.get())),
          half.set(i32.shr_u(man.get(), shift.get())),
          rem.set(i32.and(man.get(), i32.sub(i32.shl(k.c32(1), shift.get()), k.c32(1)))),
          mid.set(i32.shl(k.c32(1), i32.sub(shift.get(), k.c32(1)))),
          roundEven(half, () => rem.get(), () => mid.get()),
          k.return(i32.or(sign.get(), half.get())),
        ]),
        half.set(i32.or(sign.get(), i32.or(i32.shl(e.get(), k.c32(10)), i32.shr_u(man.get(), k.c32(13))))),
        rem.set(i32.and(man.get(), k.c32(0x1fff))),
        roundEven(half, () => rem.get(), () => k.c32(0x1000)),
        half.get(),
      ];
    });
  });
}

function f32ToBf16(w: WasmModule): string {
  return w.ensureHelper('f32_to_bf16', () => {
    w.addFunction('f32_to_bf16', ['f32'], 'i32', (k) => {
      const { i32 } = k;
      const x = k.local('i32');
      return [
        x.set(i32.reinterpret(k.params[0].get())),
        // NaN stays a (quiet) NaN; otherwise round to nearest even.
        k.if(i32.gt_u(i32.and(x.get(), k.c32(0x7fffffff)), k.c32(0x7f800000)),
          k.return(i32.or(i32.shr_u(x.get(), k.c32(16)), k.c32(0x40)))),
        i32.shr_u(i32.add(x.get(), i32.add(k.c32(0x7fff), i32.and(i32.shr_u(x.get(), k.c32(16)), k.c32(1)))), k.c32(16)),
      ];
    });
  });
}

function memcpyHelper(w: WasmModule): string {
  return w.ensureHelper('memcpy', () => {
    w.addFunction('memcpy', ['i32', 'i32', 'i32'], 'none', (k) => {
      const [dst, src, n] = k.params;
      const i = k.local('i32');
      return [
        i.set(k.c32(0)),
        k.while(() => k.i32.lt_u(i.get(), n.get()), [
          k.i32.store8(0, 1, k.i32.add(dst.get(), i.get()), k.i32.load8_u(0, 1, k.i32.add(src.get(), i.get()))),
          i.set(k.i32.add(i.get(), k.c32(1))),
        ]),
      ];
    });
  });
}

function memsetHelper(w: WasmModule): string {
  return w.ensureHelper('memset', () => {
    w.addFunction('memset', ['i32', 'i32', 'i32'], 'none', (k) => {
      const [dst, val, n] = k.params;
      const i = k.local('i32');
      return [
        i.set(k.c32(0)),
        k.while(() => k.i32.lt_u(i.get(), n.get()), [
          k.i32.store8(0, 1, k.i32.add(dst.get(), i.get()), val.get()),
          i.set(k.i32.add(i.get(), k.c32(1))),
        ]),
      ];
    });
  });
}
