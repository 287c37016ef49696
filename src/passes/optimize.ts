// Graph simplification and fusion passes, run after inference and folding, in order.
// Each pass is a function (graph) => void in its own file; this list is the one place that orders them.

import type { Graph } from '../ir/graph.js';
import { foldBatchNorm } from './fold-batchnorm.js';
import { fuseLayerNorm } from './fuse-layernorm.js';
import { fuseGelu } from './fuse-gelu.js';
import { transposeToReshape } from './transpose-to-reshape.js';
import { fuseResidual } from './fuse-residual.js';
import { fuseBias } from './fuse-bias.js';
import { foldAttentionScale } from './fold-attention-scale.js';
import { fuseActivation } from './fuse-activation.js';
import { fuseTransposeMatMul } from './fuse-transpose-matmul.js';

// Composite patterns (LayerNorm, GELU) collapse first, so that the epilogue fusions see single nodes;
// bias adds fuse before residual adds, both before activations: MatMul -> Add(bias) -> Add(x) -> Relu
// becomes relu(matmul + bias + x). A scale folds into weights once their bias is fused (it scales both).
// A Transpose of a GEMV's B fuses last (it moves input 1, which the epilogue fusions do not look at).
const PASSES: ((g: Graph) => void)[] = [
  transposeToReshape, foldBatchNorm, fuseLayerNorm, fuseGelu, fuseBias, foldAttentionScale, fuseResidual, fuseActivation, fuseTransposeMatMul,
];

export function optimizeGraph(graph: Graph): void {
  for (const pass of PASSES) pass(graph);
}
