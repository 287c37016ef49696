// The float32 recurrent kernel of RNN, GRU and LSTM (kernel variant 'gemm-gemv'), for constant weights.
//
//  1. The input projection of every time step and both directions is one GEMM (codegen/gemm.ts):
//     XW[S*B, D*G*Hp] = X x W^T + bias, with W^T packed at compile time and the biases that stay outside the
//     recurrence (Wb + Rb; only Wbh for a GRU with linear_before_reset) folded into the GEMM's column bias.
//  2. Each time step multiplies the state H[B, H] by R^T, packed at compile time into the GEMV's panels
//     (codegen/gemv.ts; the GEMM when the batch has more than 4 rows).
//  3. A gate function per batch row fuses the rest in SIMD: pre-activations, peepholes, clip, the activations
//     (sigmoid and tanh from codegen/mathlib.ts's fast functions, the same as the scalar fallback), the cell
//     and state updates. It writes the new state in place; a copy puts it into Y.
// Each gate occupies Hp = H rounded up to whole vectors of columns (zero weights in the padding), so the gate
// math runs on whole vectors; the padding lanes never reach an output (copies take H values, the GEMV reads
// H values of the state).

import { callFast, simdFast } from '../codegen/mathlib.js';
import { callGemm, gemmKernel, gemmNR, lanes, MR, NO_ACT, packB, packBias, type Lanes } from '../codegen/gemm.js';
import { callGemv, ensureGemvSlack, gemvKernel, gemvPanel, GEMV_MAX_ROWS } from '../codegen/gemv.js';
import type { Expr, Kernel, Local } from '../codegen/wasm.js';
import { ensureSlack } from './matmul.js';
import { activate, DEFAULT_ACTS, type Activation, type Dims, type Kind, type RnnAttrs } from './rnn.js';
import type { EmitCtx, InferCtx, Operand } from './types.js';

/** Whether this node runs here: float32 with W, R, B and P known at compile time. */
export function rnnF32Applies(ctx: InferCtx<RnnAttrs>): boolean {
  const ins = ctx.inputs;
  return ins[0]!.dtype === 'float32' && !!ins[1]?.const && !!ins[2]?.const && (!ins[3] || !!ins[3].const) && (!ins[7] || !!ins[7].const);
}

/** Hidden size rounded up to whole vectors. */
const padded = (H: number, simd: boolean) => (simd ? Math.ceil(H / 4) * 4 : H);

interface Layout { Hp: number; xw: number; h: number; c: number; g: number; rh: number; lens: number; total: number }

function scratchLayout(d: Dims, simd: boolean): Layout {
  const Hp = padded(d.H, simd);
  const align = (n: number) => Math.ceil(n / 16) * 16;
  let at = 0;
  const take = (bytes: number) => { const o = at; at += align(bytes) + 64; return o; }; // 64: a vector's over-read
  const xw = take(d.S * d.B * d.D * d.G * Hp * 4);
  const h = take(d.B * Hp * 4), c = take(d.B * Hp * 4), g = take(d.B * d.G * Hp * 4), rh = take(d.B * Hp * 4), lens = take(d.B * 4);
  return { Hp, xw, h, c, g, rh, lens, total: at };
}

export function rnnF32Scratch(d: Dims, simd: boolean): number {
  return scratchLayout(d, simd).total;
}

/**
 * Rows (output columns) of a weight tensor [D, G*H, cols] re-laid as [D][G][Hp] rows, zero padding rows;
 * `gates` picks and orders the gates. Returned row-major [rows][cols].
 */
function padGateRows(w: Float32Array, d: Dims, Hp: number, cols: number, dirs: number[], gates: number[]): Float32Array {
  const out = new Float32Array(dirs.length * gates.length * Hp * cols);
  let row = 0;
  for (const dir of dirs) {
    for (const g of gates) {
      for (let j = 0; j < Hp; j++, row++) {
        if (j < d.H) out.set(w.subarray(((dir * d.G + g) * d.H + j) * cols, ((dir * d.G + g) * d.H + j + 1) * cols), row * cols);
      }
    }
  }
  return out;
}

const range = (n: number) => Array.from({ length: n }, (_, i) => i);

/** Input slots: X W R B sequence_lens initial_h initial_c P; output slots Y Y_h Y_c. */
export function emitRnnF32(kind: Kind, ctx: EmitCtx<RnnAttrs>, d: Dims): void {
  const { S, B, I, H, D, G } = d;
  const at = ctx.attrs;
  const simd = ctx.target === 'simd';
  const L = scratchLayout(d, simd);
  const { Hp } = L;
  const ins = ctx.inputs as (Operand | undefined)[];
  const outs = ctx.outputs as (Operand | undefined)[];
  const has = (i: number) => !!ins[i];
  const lbr = kind === 'GRU' && at.linearBeforeReset !== 0;
  const scratch = ctx.scratch();
  const W = ins[1]!.const!.data as Float32Array, R = ins[2]!.const!.data as Float32Array;
  const Bv = ins[3]?.const?.data as Float32Array | undefined;

  // 1. Projection GEMM: bias per column (Wb + Rb, except Rbh of a GRU with linear_before_reset).
  const NX = D * G * Hp;
  const NR = gemmNR(ctx.target);
  const wPacked = packB({ data: padGateRows(W, d, Hp, I, range(D), range(G)), rows: I, cols: NX, rs: 1, cs: I }, ctx.target);
  const xBias = new Float32Array(NX);
  if (Bv) {
    for (let dir = 0; dir < D; dir++) {
      for (let g = 0; g < G; g++) {
        for (let j = 0; j < H; j++) {
          const wb = Bv[dir * 2 * G * H + g * H + j], rb = Bv[dir * 2 * G * H + (G + g) * H + j];
          xBias[(dir * G + g) * Hp + j] = wb + (lbr && g === 2 ? 0 : rb);
        }
      }
    }
  }
  // The GEMM's 4-row tiles would compute a last partial tile in full (S*B = 50: 52 rows); the rows past the last
  // whole tile go through the GEMV instead, which reads the same packed panels (width NR).
  const projRows = S * B, projMain = projRows - (projRows % MR), projRest = projRows - projMain;
  const projGemm = projMain ? gemmKernel(ctx, { a: 'rows', bias: 'col', residual: false, act: NO_ACT }) : '';
  const projGemv = projRest ? gemvKernel(ctx, { M: projRest, PW: NR, bias: 'col', residual: false, act: NO_ACT }) : '';
  ensureSlack(ctx);
  ensureGemvSlack(ctx);
  const wPtr = ctx.data(wPacked.bytes), xBiasPtr = ctx.data(packBias(xBias, NX, NR));

  // 2. Recurrent products, per direction: the gates of R^T that one product computes (GRU without
  // linear_before_reset: z and r first, then h from r * H).
  const parts = kind === 'GRU' && !lbr ? [[0, 1], [2]] : [range(G)];
  const products = range(D).map((dir) => parts.map((gates) => {
    const N = gates.length * Hp;
    const gemv = B <= GEMV_MAX_ROWS;
    const width = gemv ? gemvPanel(B, N, ctx.target) : NR;
    const packed = packB({ data: padGateRows(R, d, Hp, H, [dir], gates), rows: H, cols: N, rs: 1, cs: H }, ctx.target, 1, width);
    // GRU with linear_before_reset: Rbh is added to H x Rh^T before the reset gate multiplies it
    const hasRecBias = lbr && gates.includes(2);
    const recBias = hasRecBias ? (() => {
      const v = new Float32Array(N);
      for (let j = 0; j < H; j++) v[2 * Hp + j] = Bv ? Bv[dir * 2 * G * H + (G + 2) * H + j] : 0;
      return ctx.data(packBias(v, N, width));
    })() : 0;
    const fn = gemv
      ? gemvKernel(ctx, { M: B, PW: width, bias: hasRecBias ? 'col' : 'none', residual: false, act: NO_ACT })
      : gemmKernel(ctx, { a: 'rows', bias: hasRecBias ? 'col' : 'none', residual: false, act: NO_ACT });
    return { gemv, fn, N, b: ctx.data(packed.bytes), ldb: packed.ldb, pB: packed.pB, bias: recBias, col: gates[0] * Hp };
  }));

  const pPtr = has(7) ? ctx.data(new Uint8Array(padGateRows(ins[7]!.const!.data as Float32Array, { ...d, G: 3 }, Hp, 1, range(D), [0, 1, 2]).buffer)) : 0;
  // The gate functions write Y's rows too when they hold whole vectors (a partial vector would spill into the
  // next row); otherwise a copy per step does.
  const yInGates = !!outs[0] && Hp === H;
  const gateFns = range(D).map((dir) => gateFunctions(ctx, kind, at, at.acts.slice(dir * DEFAULT_ACTS[kind].length), Hp, has(7), yInGates));

  const inSlots = [0, 4, 5, 6].filter((i) => i < ins.length && ins[i]);
  const outSlots = [0, 1, 2].filter((i) => outs[i]);
  const params = [...inSlots, ...outSlots.map((o) => 8 + o)];
  const key = `rnn_f32:${kind}:${S}.${B}.${I}.${H}.${D}:${at.layout}:${at.direction}:${inSlots}:${outSlots}:${ins[4]?.dtype}:${scratch}:` +
    `${wPtr}:${xBiasPtr}:${pPtr}:${products.flat().map((p) => `${p.fn}/${p.b}/${p.bias}`)}:${gateFns.flat()}`;
  const fn = ctx.kernel(key, params.map(() => 'i32' as const), (k) => {
    const ptr = (slot: number) => k.params[params.indexOf(slot)];
    const { i32 } = k;
    // The per-step functions stay out of this driver: V8 optimizes them once hot, within the first run, while
    // the driver's long loop would run in the baseline tier for all of it.
    for (const name of [...products.flat().map((p) => p.fn), ...gateFns.flat()]) k.w.keepOutOfLine(name);
    const ci = (v: number) => k.c32(v);
    const addr = (base: number) => ci(scratch + base);
    const b = k.local('i32'), s = k.local('i32'), t = k.local('i32'), len = k.local('i32');
    const rowBytes = NX * 4;
    // xw row of (t, b): X's rows are (t, b) for layout 0, (b, t) for layout 1
    const xwRow = (dir: number) => i32.add(addr(L.xw + dir * G * Hp * 4),
      i32.mul(at.layout ? i32.add(i32.mul(b.get(), ci(S)), t.get()) : i32.add(i32.mul(t.get(), ci(B)), b.get()), ci(rowBytes)));
    const yRow = (dir: number) => i32.add(ptr(8).get(), i32.mul(at.layout
      ? i32.add(i32.mul(i32.add(i32.mul(b.get(), ci(S)), t.get()), ci(D)), ci(dir))
      : i32.add(i32.mul(i32.add(i32.mul(t.get(), ci(D)), ci(dir)), ci(B)), b.get()), ci(H * 4)));
    const stateRow = (slot: number, dir: number) => i32.add(ptr(slot).get(),
      i32.mul(at.layout ? i32.add(i32.mul(b.get(), ci(D)), ci(dir)) : i32.add(ci(dir * B), b.get()), ci(H * 4)));
    const hRow = (base: number) => i32.add(addr(base), i32.mul(b.get(), ci(Hp * 4)));
    const gRow = () => i32.add(addr(L.g), i32.mul(b.get(), ci(G * Hp * 4)));

    const product = (p: (typeof products)[number][number], a: number) => {
      const c = addr(L.g + p.col * 4);
      if (p.gemv) {
        return callGemv(k, p.fn, { a: addr(a), sA: ci(Hp * 4), b: ci(p.b), ldb: ci(p.ldb), pB: ci(p.pB), c, ldc: ci(G * Hp * 4), N: ci(p.N), K: ci(H), bias: ci(p.bias) });
      }
      return callGemm(k, p.fn, { a: addr(a), sA: ci(Hp * 4), pA: ci(MR * Hp * 4), b: ci(p.b), ldb: ci(p.ldb), pB: ci(p.pB), c, ldc: ci(G * Hp * 4), M: ci(B), N: ci(p.N), K: ci(H), bias: ci(p.bias) });
    };

    const stmts: Expr[] = [
      k.fill(addr(L.h), 0, L.rh - L.h + B * Hp * 4), // states, gates: padding lanes start finite
      ...(projMain ? [callGemm(k, projGemm, {
        a: ptr(0).get(), sA: ci(I * 4), pA: ci(MR * I * 4), b: ci(wPtr), ldb: ci(wPacked.ldb), pB: ci(wPacked.pB),
        c: addr(L.xw), ldc: ci(rowBytes), M: ci(projMain), N: ci(NX), K: ci(I), bias: ci(xBiasPtr),
      })] : []),
      ...(projRest ? [callGemv(k, projGemv, {
        a: i32.add(ptr(0).get(), ci(projMain * I * 4)), sA: ci(I * 4), b: ci(wPtr), ldb: ci(wPacked.ldb), pB: ci(wPacked.pB),
        c: addr(L.xw + projMain * rowBytes), ldc: ci(rowBytes), N: ci(NX), K: ci(I), bias: ci(xBiasPtr),
      })] : []),
    ];
    if (has(4)) {
      // sequence_lens clamped to [0, S]
      const raw = ins[4]!.dtype === 'int64' ? i32.wrap(k.load('int64', i32.add(ptr(4).get(), i32.shl(b.get(), ci(3)))))
        : k.i32.load(0, 4, i32.add(ptr(4).get(), i32.shl(b.get(), ci(2))));
      stmts.push(k.for(b, 0, B, 1, () => [
        len.set(raw),
        len.set(k.select(i32.lt_s(len.get(), ci(0)), ci(0), k.select(i32.gt_s(len.get(), ci(S)), ci(S), len.get()))),
        k.i32.store(0, 4, i32.add(addr(L.lens), i32.shl(b.get(), ci(2))), len.get()),
      ]));
      if (outs[0]) stmts.push(k.fill(ptr(8).get(), 0, S * D * B * H * 4)); // steps past a sequence's end stay 0
    }

    for (let dir = 0; dir < D; dir++) {
      const reverse = at.direction === 'reverse' || dir === 1;
      const fns = gateFns[dir];
      const p = pPtr ? ci(pPtr + dir * 3 * Hp * 4) : ci(0);
      // per batch row: the time step it is at (sequences of different lengths reverse from their own ends)
      const rowStep = (body: Expr[]): Expr => {
        if (!has(4)) return k.for(b, 0, B, 1, () => body);
        return k.for(b, 0, B, 1, () => [
          len.set(k.i32.load(0, 4, i32.add(addr(L.lens), i32.shl(b.get(), ci(2))))),
          k.if(i32.lt_s(s.get(), len.get()), [
            t.set(reverse ? i32.sub(i32.sub(len.get(), ci(1)), s.get()) : s.get()),
            ...body,
          ]),
        ]);
      };
      const gateCall = (f: string) => k.call(f, [xwRow(dir), gRow(), hRow(L.h), hRow(kind === 'GRU' && !lbr ? L.rh : L.c), p, yInGates ? yRow(dir) : ci(0)]);
      const stepBody: Expr[] = [];
      if (!has(4)) stepBody.push(t.set(reverse ? i32.sub(ci(S - 1), s.get()) : s.get()));
      stepBody.push(product(products[dir][0], L.h));
      if (fns.length === 2) stepBody.push(rowStep([gateCall(fns[0])]), product(products[dir][1], L.rh));
      stepBody.push(rowStep([gateCall(fns[fns.length - 1]), ...(outs[0] && !yInGates ? [k.copy(yRow(dir), hRow(L.h), H * 4)] : [])]));

      stmts.push(
        k.for(b, 0, B, 1, () => [
          ...(has(5) ? [k.copy(hRow(L.h), stateRow(5, dir), H * 4)] : [k.fill(hRow(L.h), 0, H * 4)]),
          ...(kind === 'LSTM' ? [has(6) ? k.copy(hRow(L.c), stateRow(6, dir), H * 4) : k.fill(hRow(L.c), 0, H * 4)] : []),
        ]),
        k.for(s, 0, S, 1, () => stepBody),
        k.for(b, 0, B, 1, () => [
          ...(outs[1] ? [k.copy(stateRow(9, dir), hRow(L.h), H * 4)] : []),
          ...(outs[2] ? [k.copy(stateRow(10, dir), hRow(L.c), H * 4)] : []),
        ]),
      );
    }
    return stmts;
  });
  ctx.call(fn, params.map((p) => (p < 8 ? ins[p]!.ptr : outs[p - 8]!.ptr)));
}

/** Vector-or-scalar float operations beyond codegen/gemm.ts's Lanes. */
interface Ops extends Lanes {
  sub(a: Expr, b: Expr): Expr;
  min(a: Expr, b: Expr): Expr;
  max(a: Expr, b: Expr): Expr;
  c(v: number): Expr;
}

function ops(k: Kernel): Ops {
  const V = lanes(k);
  if (k.simd) {
    return { ...V, sub: k.f32x4.sub, min: k.f32x4.min, max: k.f32x4.max, c: (v) => k.f32x4.splat(k.cf32(v)) };
  }
  return { ...V, sub: k.f32.sub, min: k.f32.min, max: k.f32.max, c: (v) => k.cf32(v) };
}

/** An ONNX recurrent activation on a vector (f32x4) or, on the scalar target, one f32. */
function activateV(k: Kernel, a: Activation, x: Expr): Expr {
  if (!k.simd) return a.name === 'tanh' || a.name === 'sigmoid' ? callFast(k, `gate_${a.name}`, x) : activate(k, a, x, 'f32');
  const v = k.f32x4;
  const c = (n: number) => v.splat(k.cf32(n));
  const l = k.local('v128');
  const bound = (e: Expr) => k.block([l.set(x), e], 'v128');
  switch (a.name) {
    case 'relu': return v.max(x, c(0));
    case 'tanh': return simdFast(k, 'gate_tanh', x);
    case 'sigmoid': return simdFast(k, 'gate_sigmoid', x);
    case 'affine': return v.add(v.mul(c(a.alpha), x), c(a.beta));
    case 'leakyrelu': return bound(k.v128.bitselect(l.get(), v.mul(c(a.alpha), l.get()), v.ge(l.get(), c(0))));
    case 'thresholdedrelu': return bound(k.v128.and(l.get(), v.gt(l.get(), c(a.alpha))));
    case 'scaledtanh': return v.mul(c(a.alpha), simdFast(k, 'tanh', v.mul(c(a.beta), x)));
    case 'hardsigmoid': return v.min(v.max(v.add(v.mul(c(a.alpha), x), c(a.beta)), c(0)), c(1));
    case 'elu': return bound(k.v128.bitselect(l.get(), v.mul(c(a.alpha), v.sub(simdFast(k, 'exp', l.get()), c(1))), v.ge(l.get(), c(0))));
    case 'softsign': return bound(v.div(l.get(), v.add(c(1), v.abs(l.get()))));
    default: {
      // softplus (log1p has no vector form): lane by lane through the scalar version
      let out: Expr = v.splat(activate(k, a, v.extract_lane(l.get(), 0), 'f32'));
      for (let i = 1; i < 4; i++) out = v.replace_lane(out, i, activate(k, a, v.extract_lane(l.get(), i), 'f32'));
      return bound(out);
    }
  }
}

/**
 * The gate functions of one direction, each called per batch row with (xw row, gate row, h row, c row or
 * GRU's r*h row, peepholes): one function, or two for a GRU without linear_before_reset (z and r before the
 * second product, the new state after it).
 */
function gateFunctions(ctx: EmitCtx<RnnAttrs>, kind: Kind, at: RnnAttrs, acts: Activation[], Hp: number, peep: boolean, storeY: boolean): string[] {
  const lbr = kind === 'GRU' && at.linearBeforeReset !== 0;
  const phases = kind === 'GRU' && !lbr ? ['zr', 'h'] : ['all'];
  return phases.map((phase) => {
    const y = storeY && phase !== 'zr';
    const key = `rnn_gates:${kind}:${phase}:${Hp}:${acts.map((a) => `${a.name}/${a.alpha}/${a.beta}`)}:${at.clip}:${lbr}:${at.inputForget}:${peep}:${y}`;
    return ctx.kernel(key, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32'], (k) => {
      // Two vectors a pass, their statements interleaved: two independent chains of gate math in the
      // out-of-order window at once.
      const O = ops(k);
      const j = k.local('i32');
      const unroll = (Hp / O.L) % 2 === 0 ? 2 : 1;
      const copies = range(unroll).map((u) => gateStep(k, O, kind, phase, at, acts, Hp, peep, y, j, u * O.L * 4));
      const body = copies[0].flatMap((_, i) => copies.map((c) => c[i]));
      return [k.for(j, 0, Hp * 4, unroll * O.L * 4, () => body)];
    });
  });
}

/**
 * The gate math of one vector of hidden units, at byte offset j + off of each gate: params (xw row, gate row,
 * h row, c row or GRU's r*h row, peepholes, Y row). Every statement list of one kind and phase has the same length.
 */
function gateStep(k: Kernel, O: Ops, kind: Kind, phase: string, at: RnnAttrs, acts: Activation[], Hp: number, peep: boolean,
  storeY: boolean, j: Local, off: number): Expr[] {
  const [xw, g, h, c, p, yOut] = k.params;
  const { i32 } = k;
  const [f, gAct, hAct] = acts;
  const clip = (v: Expr) => (at.clip === undefined ? v : O.min(O.max(v, O.c(-at.clip)), O.c(at.clip)));
  const at4 = (base: Local, gate: number) => i32.add(base.get(), i32.add(j.get(), k.c32(gate * Hp * 4 + off)));
  const ld = (base: Local, gate = 0) => O.load(at4(base, gate));
  const pre = (gate: number) => O.add(ld(xw, gate), ld(g, gate));
  const x = k.local(O.type), y = k.local(O.type), z = k.local(O.type), cc = k.local(O.type), hNew = k.local(O.type);
  /** The new state: into the state row, and into Y's row when the kernel writes Y here. */
  const storeH = (v: Expr): Expr[] => [hNew.set(v), O.store(at4(h, 0), hNew.get()), ...(storeY ? [O.store(at4(yOut, 0), hNew.get())] : [])];
  if (kind === 'RNN') return storeH(activateV(k, f, clip(pre(0))));
  if (kind === 'GRU') {
    if (phase === 'zr') {
      // z (kept in the gate row) and r * H (the second product's input row)
      return [
        O.store(at4(g, 0), activateV(k, f, clip(pre(0)))),
        O.store(at4(c, 0), O.mul(activateV(k, f, clip(pre(1))), ld(h))),
      ];
    }
    const hh = phase === 'h'
      ? activateV(k, gAct, clip(pre(2)))
      : activateV(k, gAct, clip(O.add(ld(xw, 2), O.mul(activateV(k, f, clip(pre(1))), ld(g, 2)))));
    return [
      z.set(phase === 'h' ? ld(g, 0) : activateV(k, f, clip(pre(0)))),
      x.set(hh),
      y.set(ld(h)),
      // (1 - z) * hh + z * H
      ...storeH(O.add(x.get(), O.mul(z.get(), O.sub(y.get(), x.get())))),
    ];
  }
  // LSTM gates in ONNX order i, o, f, c; peepholes P = [Pi, Po, Pf]
  const pe = (which: number, cell: Expr) => (peep ? O.mul(ld(p, which), cell) : undefined);
  const withPeep = (v: Expr, which: number, cell: () => Expr) => { const q = pe(which, cell()); return q === undefined ? v : O.add(v, q); };
  return [
    y.set(ld(c)),
    x.set(activateV(k, f, clip(withPeep(pre(0), 0, () => y.get())))), // i
    z.set(at.inputForget ? O.sub(O.c(1), x.get()) : activateV(k, f, clip(withPeep(pre(2), 2, () => y.get())))), // f
    cc.set(O.add(O.mul(z.get(), y.get()), O.mul(x.get(), activateV(k, gAct, clip(pre(3)))))), // C
    O.store(at4(c, 0), cc.get()),
    ...storeH(O.mul(activateV(k, f, clip(withPeep(pre(1), 1, () => cc.get()))), activateV(k, hAct, cc.get()))),
  ];
}
