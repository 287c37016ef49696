// The operator registry: every op file's exported OpDefs, collected in this one place.
// Adding an operator = adding its file and one import line here.

import type { OpDef } from './types.js';
import { INTERNAL_DOMAIN } from './internal-domain.js';
import * as elementwise from './elementwise.js';
import * as unary from './unary.js';
import * as activations from './activations.js';
import * as logic from './logic.js';
import * as cast from './cast.js';
import * as clip from './clip.js';
import * as shapeOps from './shape.js';
import * as quantize from './quantize.js';
import * as integerOps from './integer-ops.js';
import * as qlinear from './qlinear.js';
import * as einsum from './einsum.js';
import * as rnn from './rnn.js';
import * as dft from './dft.js';
import * as windowOps from './window.js';
import * as rotary from './rotary.js';
import * as attention from './attention.js';
import * as linearAttention from './linear-attention.js';
import * as misc from './misc.js';
import * as reduce from './reduce.js';
import * as argminmax from './argminmax.js';
import * as softmax from './softmax.js';
import * as cumsum from './cumsum.js';
import * as topk from './topk.js';
import * as pool from './pool.js';
import * as norm from './norm.js';
import * as lrn from './lrn.js';
import * as batchnorm from './batchnorm.js';
import * as constantOps from './constant.js';
import * as transpose from './transpose.js';
import * as slice from './slice.js';
import * as concat from './concat.js';
import * as split from './split.js';
import * as expand from './expand.js';
import * as tile from './tile.js';
import * as depthSpace from './depth-space.js';
import * as pad from './pad.js';
import * as gather from './gather.js';
import * as scatter from './scatter.js';
import * as trilu from './trilu.js';
import * as onehot from './onehot.js';
import * as reverseSequence from './reverse-sequence.js';
import * as matmul from './matmul.js';
import * as conv from './conv.js';
import * as gemm from './gemm.js';
import * as convTranspose from './conv-transpose.js';
import * as resize from './resize.js';
import * as gridSample from './grid-sample.js';
import * as roiAlign from './roi-align.js';
import * as qlinearLookup from './qlinear-lookup.js';
import * as qlinearBinary from './qlinear-binary.js';
import * as qlinearConcat from './qlinear-concat.js';
import * as qlinearPool from './qlinear-pool.js';
import * as imageInput from './image-input.js';
import * as controlFlow from './control-flow.js';
import * as nonzero from './nonzero.js';
import * as nms from './nms.js';
import * as unique from './unique.js';
const MODULES: Record<string, unknown>[] = [] = [elementwise, unary, activations, logic, cast, clip, shapeOps, quantize, integerOps, qlinear, einsum, rnn, dft, windowOps, rotary, attention, linearAttention, misc, reduce, argminmax, softmax, cumsum, topk, pool, norm, lrn, batchnorm, constantOps, transpose, slice, concat, split, expand, tile, depthSpace, matmul, conv, gemm, convTranspose, pad, resize, gather, scatter, trilu, onehot, reverseSequence, gridSample, roiAlign, qlinearLookup, qlinearBinary, qlinearConcat, qlinearPool, imageInput, controlFlow, nonzero, nms, unique];

function isOpDef(x: unknown): x is OpDef {
  return typeof x === 'object' && x !== null && typeof (x as OpDef).op === 'string' &&
    (typeof (x as OpDef).emit === 'function' || Array.isArray((x as OpDef).variants));
}

/** All definitions, flattened from each module's exports (single defs or arrays of defs). */
export const ALL_OPS: OpDef[] = MODULES.flatMap((mod) =>
  Object.values(mod).flatMap((v) => (Array.isArray(v) ? v.filter(isOpDef) : isOpDef(v) ? [v] : [])),
);

const byName = new Map<string, OpDef[]>();
for (const def of ALL_OPS) {
  const key = `${def.domain ?? ''}::${def.op}`;
  (byName.get(key) ?? byName.set(key, []).get(key)!).push(def);
}

/** Domain of nodes that graph passes create: see ops/internal-domain.ts. */
export { INTERNAL_DOMAIN } from './internal-domain.js';

/** The definition covering `opset` for this operator, or undefined. */
export function lookupOp(op: string, domain: string, opset: number): OpDef | undefined {
  // Ops of the internal domain itself (ImageInput, QLinearLookup), else the newest default-domain definition.
  if (domain === INTERNAL_DOMAIN) return byName.get(`${domain}::${op}`)?.[0] ?? lookupOp(op, '', Infinity);
  const defs = byName.get(`${domain}::${op}`);
  if (!defs) return undefined;
  let best: OpDef | undefined;
  for (const d of defs) {
    if (d.since <= opset && (d.until === undefined || opset <= d.until) && (!best || d.since > best.since)) best = d;
  }
  return best;
}

/** Whether any opset of this operator is known (to tell "unsupported op" from "unsupported opset"). */
export function knownOp(op: string, domain: string): boolean {
  return byName.has(`${domain}::${op}`);
}
