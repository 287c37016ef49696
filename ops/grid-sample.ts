// GridSample (16: 2-D, bilinear/nearest/bicubic; 20 and 22: N-D, linear/nearest/cubic). The grid is run-time
// data, so the kernel computes the sampling per output position: for each spatial axis the denormalized,
// padded coordinate and its taps (index offset, weight; zeros padding gives out-of-range taps weight 0), then
// for every channel the weighted sum over the taps' tensor product. Follows the ONNX reference: out-of-range
// coordinates are clamped (border) or reflected (reflection) first, then each tap index is padded again.

import { ALL_DTYPES, DTYPE_SIZE, FLOATS, isFloat, type DType } from '../src/ir/dtype.js';
import { numel, stridesOf } from '../src/ir/graph.js';
import type { Expr, Local, WasmModule } from '../codegen/wasm.js';
import { computeIn, storeInterpolated } from './resize.js';
import { defineOp, type EmitCtx, type InferCtx, type OpDef } from './types.js';

type GridMode = 'linear' | 'nearest' | 'cubic';
type Padding = 'zeros' | 'border' | 'reflection';
interface GridAttrs { mode: GridMode; padding: Padding; alignCorners: boolean }

const CUBIC_A = -0.75;

function gridAttrs(opset: number): NonNullable<OpDef<GridAttrs>['attrs']> {
  return (a) => {
    const names: Record<string, GridMode> = opset < 20
      ? { bilinear: 'linear', nearest: 'nearest', bicubic: 'cubic' }
      : { linear: 'linear', nearest: 'nearest', cubic: 'cubic' };
    const mode = a.string('mode', opset < 20 ? 'bilinear' : 'linear');
    return {
      mode: names[mode] ?? (mode as GridMode),
      padding: a.string('padding_mode', 'zeros') as Padding,
      alignCorners: a.int('align_corners', 0) !== 0,
    };
  };
}

function gridInfer(ctx: InferCtx<GridAttrs>) {
  const [x, grid] = [ctx.inputs[0]!, ctx.inputs[1]!];
  const { mode, padding } = ctx.attrs;
  if (!['linear', 'nearest', 'cubic'].includes(mode)) ctx.fail(`unknown mode "${(ctx.node.attrs.mode as string) ?? mode}"`);
  if (!['zeros', 'border', 'reflection'].includes(padding)) ctx.fail(`unknown padding_mode "${padding}"`);
  const r = x.shape.length - 2;
  if (r < 1) ctx.fail(`X must have rank 3 or more, got [${x.shape}]`);
  if (ctx.opset < 20 && r !== 2) ctx.fail(`opset ${ctx.opset} GridSample takes 4-D input, got [${x.shape}]`);
  if (grid.shape.length !== r + 2 || grid.shape[0] !== x.shape[0] || grid.shape[r + 1] !== r) {
    ctx.fail(`grid shape [${grid.shape}] does not match X [${x.shape}]: expected [${x.shape[0]}, ...${r} output dims, ${r}]`);
  }
  if (!isFloat(grid.dtype)) ctx.fail(`grid must be a float tensor, got ${grid.dtype}`);
  return [{ dtype: x.dtype, shape: [x.shape[0], x.shape[1], ...grid.shape.slice(1, r + 1)] }];
}

/** reflect(x, lo, hi): mirror x at the borders until it lies in [lo, hi] (the reference's _gs_reflect). */
function reflectHelper(w: WasmModule, ct: 'f32' | 'f64'): string {
  const name = `gs_reflect_${ct}`;
  return w.ensureHelper(name, () => {
    w.addFunction(name, [ct, ct, ct], ct, (k) => {
      const F = ct === 'f32' ? k.f32 : k.f64;
      const c = (v: number) => k.const(ct, v);
      const [x, lo, hi] = k.params;
      const range = k.local(ct), dx = k.local(ct), n = k.local(ct), rem = k.local(ct), even = k.local('i32');
      // n = floor(dx / range), rem = dx - n * range, parity of n decides which border we end at.
      const fold = (from: Expr): Expr[] => [
        dx.set(from),
        n.set(F.floor(F.div(dx.get(), range.get()))),
        rem.set(F.sub(dx.get(), F.mul(n.get(), range.get()))),
        even.set(F.eq(F.sub(n.get(), F.mul(c(2), F.floor(F.div(n.get(), c(2))))), c(0))),
      ];
      return [
        range.set(F.sub(hi.get(), lo.get())),
        k.if(F.le(range.get(), c(0)), k.return(lo.get())),
        k.if(F.lt(x.get(), lo.get()), [
          ...fold(F.sub(lo.get(), x.get())),
          k.return(k.select(even.get(), F.add(lo.get(), rem.get()), F.sub(hi.get(), rem.get()))),
        ]),
        k.if(F.gt(x.get(), hi.get()), [
          ...fold(F.sub(x.get(), hi.get())),
          k.return(k.select(even.get(), F.sub(hi.get(), rem.get()), F.add(lo.get(), rem.get()))),
        ]),
        x.get(),
      ];
    });
  });
}

function emitGridSample(ctx: EmitCtx<GridAttrs>): void {
  const [x, grid] = [ctx.inputs[0]!, ctx.inputs[1]!];
  const y = ctx.outputs[0];
  if (numel(y.shape) === 0) return;
  const { mode, padding, alignCorners } = ctx.attrs;
  const [N, C] = x.shape;
  const inDims = x.shape.slice(2);
  const r = inDims.length;
  const inSpatial = numel(inDims);
  const outSpatial = numel(y.shape.slice(2));
  const ctd = computeIn(x.dtype);
  const ct = ctd === 'float32' ? 'f32' : 'f64';
  const es = DTYPE_SIZE[x.dtype], gs = DTYPE_SIZE[grid.dtype], ys = DTYPE_SIZE[y.dtype];
  const axisStrides = stridesOf(inDims).map((s) => s * es);
  const tapsPerAxis = mode === 'linear' ? 2 : mode === 'cubic' ? 4 : 1;
  const key = `gridsample:${x.dtype}:${grid.dtype}:${x.shape}>${y.shape}:${mode}:${padding}:${alignCorners}`;
  const fn = ctx.kernel(key, ['i32', 'i32', 'i32'], (k) => {
    const [xp, gp, yp] = k.params;
    const F = ct === 'f32' ? k.f32 : k.f64;
    const c = (v: number) => k.const(ct, v);
    const reflect = reflectHelper(k.w, ct);
    const xBatch = k.local('i32'), yPos = k.local('i32'), coord = k.local(ct), base = k.local(ct), frac = k.local(ct);
    const tapIdx = k.local(ct);
    // Per axis and tap: byte offset into one channel's input, and weight.
    const offs = Array.from({ length: r }, () => Array.from({ length: tapsPerAxis }, () => k.local('i32')));
    const wts = Array.from({ length: r }, () => Array.from({ length: tapsPerAxis }, () => k.local(ct)));
    const combos = tapsPerAxis ** r;
    const comboOff = Array.from({ length: combos }, () => k.local('i32'));
    const comboW = Array.from({ length: combos }, () => k.local(ct));

    const bounds = (size: number): [number, number] => (alignCorners ? [0, size - 1] : [-0.5, size - 0.5]);
    /** Coordinate-level padding: out-of-range coordinates are clamped (border) or reflected (reflection). */
    const padCoordinate = (v: Expr, size: number): Expr => {
      const [lo, hi] = bounds(size);
      if (padding === 'border') return F.min(F.max(v, c(0)), c(size - 1));
      if (padding === 'reflection') return k.call(reflect, [v, c(lo), c(hi)], ct);
      return v;
    };
    /** A tap at (float) index: its byte offset and weight after index padding; never out of bounds. */
    const tap = (a: number, t: number, index: Expr, weight: Expr): Expr[] => {
      const size = inDims[a];
      const [lo, hi] = bounds(size);
      const inRange = () => k.i32.and(F.ge(tapIdx.get(), c(0)), F.le(tapIdx.get(), c(size - 1)));
      let w: Expr = weight;
      let i: Expr;
      if (padding === 'zeros') {
        w = k.select(inRange(), weight, c(0));
        i = tapIdx.get();
      } else if (padding === 'reflection') i = k.call(reflect, [tapIdx.get(), c(lo), c(hi)], ct);
      else i = tapIdx.get();
      const clamped = F.min(F.max(i, c(0)), c(size - 1));
      const asInt = ct === 'f32' ? k.i32.trunc_s_sat.f32(clamped) : k.i32.trunc_s_sat.f64(clamped);
      return [
        tapIdx.set(index),
        wts[a][t].set(w),
        offs[a][t].set(k.i32.mul(asInt, k.c32(axisStrides[a]))),
      ];
    };
    const axisTaps = (a: number): Expr[] => {
      const size = inDims[a];
      // Grid vectors list coordinates innermost first: axis a is component r - 1 - a.
      const g = k.cast(k.load(grid.dtype, gp.get(), (r - 1 - a) * gs), grid.dtype, ctd);
      const denorm = alignCorners
        ? F.mul(F.div(F.add(g, c(1)), c(2)), c(size - 1))
        : F.div(F.sub(F.mul(F.add(g, c(1)), c(size)), c(1)), c(2));
      const stmts: Expr[] = [coord.set(mode === 'nearest' ? F.nearest(denorm) : denorm)];
      const [lo, hi] = bounds(size);
      if (padding !== 'zeros') {
        stmts.push(k.if(k.i32.or(F.lt(coord.get(), c(lo)), F.gt(coord.get(), c(hi))), coord.set(padCoordinate(coord.get(), size))));
      }
      if (mode === 'nearest') return [...stmts, ...tap(a, 0, F.trunc(coord.get()), c(1))];
      stmts.push(base.set(F.floor(coord.get())), frac.set(F.sub(coord.get(), base.get())));
      const t = () => frac.get();
      if (mode === 'linear') {
        stmts.push(...tap(a, 0, base.get(), F.sub(c(1), t())), ...tap(a, 1, F.add(base.get(), c(1)), t()));
        return stmts;
      }
      // Cubic taps at base-1 .. base+2, at distances t+1, t, 1-t, 2-t: Keys' kernel (a = -0.75) for each.
      const distances = [() => F.add(t(), c(1)), t, () => F.sub(c(1), t()), () => F.sub(c(2), t())];
      distances.forEach((dist, q) => {
        const d = k.local(ct);
        const v = () => d.get();
        const weight = q === 1 || q === 2
          ? F.add(F.mul(F.sub(F.mul(c(CUBIC_A + 2), v()), c(CUBIC_A + 3)), F.mul(v(), v())), c(1))
          : F.sub(F.mul(F.add(F.mul(F.sub(F.mul(c(CUBIC_A), v()), c(5 * CUBIC_A)), v()), c(8 * CUBIC_A)), v()), c(4 * CUBIC_A));
        stmts.push(d.set(dist()), ...tap(a, q, F.add(base.get(), c(q - 1)), weight));
      });
      return stmts;
    };
    const comboSetup: Expr[] = [];
    for (let m = 0; m < combos; m++) {
      let off: Expr | undefined, w: Expr | undefined;
      for (let a = 0, rest = m; a < r; a++, rest = Math.floor(rest / tapsPerAxis)) {
        const t = rest % tapsPerAxis;
        off = off === undefined ? offs[a][t].get() : k.i32.add(off, offs[a][t].get());
        w = w === undefined ? wts[a][t].get() : F.mul(w, wts[a][t].get());
      }
      comboSetup.push(comboOff[m].set(off!), comboW[m].set(w!));
    }
    const channel = (ch: Local): Expr[] => {
      const plane = k.local('i32');
      let acc: Expr | undefined;
      for (let m = 0; m < combos; m++) {
        const term = F.mul(comboW[m].get(), k.cast(k.load(x.dtype, k.i32.add(plane.get(), comboOff[m].get())), x.dtype, ctd));
        acc = acc === undefined ? term : F.add(acc, term);
      }
      const yAddr = k.i32.add(yPos.get(), k.i32.mul(ch.get(), k.c32(outSpatial * ys)));
      return [
        plane.set(k.i32.add(xBatch.get(), k.i32.mul(ch.get(), k.c32(inSpatial * es)))),
        storeInterpolated(k, y.dtype, ctd, yAddr, acc!),
      ];
    };
    return [
      k.loop(0, N, (n) => [
        xBatch.set(k.i32.add(xp.get(), k.i32.mul(n.get(), k.c32(C * inSpatial * es)))),
        k.loop(0, outSpatial, (p) => [
          yPos.set(k.i32.add(yp.get(), k.i32.mul(k.i32.add(k.i32.mul(n.get(), k.c32(C * outSpatial)), p.get()), k.c32(ys)))),
          ...Array.from({ length: r }, (_, a) => axisTaps(a)).flat(),
          ...comboSetup,
          k.loop(0, C, channel),
          gp.set(k.i32.add(gp.get(), k.c32(r * gs))),
        ]),
      ]),
    ];
  });
  ctx.call(fn, [x.ptr, grid.ptr, y.ptr]);
}

const common = { dtypes: ALL_DTYPES as readonly DType[], infer: gridInfer, emit: emitGridSample };

export const GridSample16 = defineOp<GridAttrs>({
  op: 'GridSample', since: 16, until: 19, ...common, attrs: gridAttrs(16),
  notes: '4-D input; bilinear, nearest, bicubic; zeros, border, reflection padding',
});
export const GridSample20 = defineOp<GridAttrs>({
  op: 'GridSample', since: 20, ...common, attrs: gridAttrs(20),
  notes: `N-D input; linear, nearest, cubic; zeros, border, reflection padding; grid: ${FLOATS.join(', ')}`,
});
