// The zoo (`npm run bench -- --zoo`): whole networks of the kinds issue 10 names, built here with seeded random
// weights: a U-Net (ConvTranspose decoders, skip Concats), an AlexNet-like CNN with large fully connected layers
// (Gemm at M = 1), a keyword-spotting net (1-D convolutions + GRU), a two-layer LSTM sequence model, a detection
// neck (Resize nearest + Concat) and a transformer decoder step (M = 1 MatMuls over a KV cache, Softmax,
// LayerNormalization). Sizes are realistic for the edge (a whole zoo run takes a few minutes); the
// architectures follow their published shapes, not any model of the shared set.

import { NetBuilder, randomInput } from './builder.js';
import type { BuiltinModel } from './index.js';

/** A zoo network: named where it is listed (ZOO_MODELS), so that a --filter builds only the ones it keeps. */
type ZooModel = Omit<BuiltinModel, 'name'>;

/** U-Net, 1x3x128x128 -> 2 classes: three 2x2-stride-2 ConvTranspose decoders with skip Concats. */
export function unet(): ZooModel {
  const b = new NetBuilder(1001);
  const block = (x: string, cin: number, cout: number) => b.relu(b.conv(b.relu(b.conv(x, cin, cout, 3)), cout, cout, 3));
  const pool = (x: string) => b.op('MaxPool', [x], { kernel_shape: [2, 2], strides: [2, 2] });
  const widths = [16, 32, 64];
  const skips: string[] = [];
  let x = 'image', c = 3;
  for (const w of widths) {
    x = block(x, c, w);
    skips.push(x);
    x = pool(x);
    c = w;
  }
  x = block(x, c, 128);
  c = 128;
  for (const w of [...widths].reverse()) {
    const up = b.convTranspose(x, c, w, 2, { stride: 2 });
    x = block(b.concat([up, skips.pop()!]), 2 * w, w);
    c = w;
  }
  const logits = b.conv(x, c, 2, 1);
  return {
    description: 'U-Net 1x3x128x128, widths 16-32-64-128: ConvTranspose 2x2 s2 decoders, skip Concats',
    bytes: b.encode(13, [{ name: 'image', dtype: 'float32', shape: [1, 3, 128, 128] }], [logits]),
    feeds: { image: randomInput([1, 3, 128, 128], 11) },
  };
}

/** AlexNet's layout at half width, 1x3x224x224: 11x11/s4 stem, 5x5 and 3x3 convs, three big Gemms at M = 1. */
export function alexnetLike(): ZooModel {
  const b = new NetBuilder(1002);
  const pool = (x: string) => b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2] });
  let x = pool(b.relu(b.conv('image', 3, 48, 11, { stride: 4, pad: 2 }))); // 55 -> 27
  x = pool(b.relu(b.conv(x, 48, 128, 5))); // 27 -> 13
  x = b.relu(b.conv(x, 128, 192, 3));
  x = b.relu(b.conv(x, 192, 192, 3));
  x = pool(b.relu(b.conv(x, 192, 128, 3))); // 13 -> 6
  x = b.op('Flatten', [x], { axis: 1 });
  x = b.relu(b.linear(x, 128 * 6 * 6, 2048));
  x = b.relu(b.linear(x, 2048, 2048));
  const logits = b.linear(x, 2048, 1000);
  return {
    description: 'AlexNet-like at half width, 1x3x224x224: Conv 11x11/s4, MaxPool, Gemm 4608x2048, 2048x2048, 2048x1000 at M=1',
    bytes: b.encode(13, [{ name: 'image', dtype: 'float32', shape: [1, 3, 224, 224] }], [logits]),
    feeds: { image: randomInput([1, 3, 224, 224], 12, 0, 1) },
  };
}

/** Keyword spotting on 40 MFCCs x 98 frames: 1-D conv stem, depthwise-separable 1-D blocks, a GRU, 12 classes. */
export function keywordSpotting(): ZooModel {
  const b = new NetBuilder(1003);
  let x = b.relu(b.conv1d('mfcc', 40, 64, 3));
  for (const stride of [1, 2, 1]) {
    x = b.relu(b.conv1d(x, 64, 64, 7, { group: 64, stride, pad: 3 })); // depthwise
    x = b.relu(b.conv1d(x, 64, 64, 1)); // pointwise
  }
  const seq = b.op('Transpose', [x], { perm: [2, 0, 1] }); // [1, 64, 49] -> [49, 1, 64]
  const { yh } = b.recurrent('GRU', seq, 64, 64, { linearBeforeReset: true });
  const logits = b.linear(b.op('Reshape', [yh, b.int64s([1, 64])]), 64, 12);
  return {
    description: 'keyword spotting, 1x40x98 MFCCs: Conv1d, depthwise k7 + pointwise 1-D blocks, GRU h64 over 49 steps, Gemm',
    bytes: b.encode(14, [{ name: 'mfcc', dtype: 'float32', shape: [1, 40, 98] }], [logits]),
    feeds: { mfcc: randomInput([1, 40, 98], 13) },
  };
}

/** Two stacked LSTMs (hidden 128) over 50 steps of 64 features, then a classifier on the last state. */
export function lstmSequence(): ZooModel {
  const b = new NetBuilder(1004);
  const first = b.recurrent('LSTM', 'x', 64, 128);
  const seq = b.op('Squeeze', [first.y, b.int64s([1])]); // [50, 1, 1, 128] -> [50, 1, 128]
  const second = b.recurrent('LSTM', seq, 128, 128);
  const logits = b.linear(b.op('Reshape', [second.yh, b.int64s([1, 128])]), 128, 10);
  return {
    description: 'sequence model, 50 steps x 64 features: two LSTM layers h128, Gemm',
    bytes: b.encode(14, [{ name: 'x', dtype: 'float32', shape: [50, 1, 64] }], [logits]),
    feeds: { x: randomInput([50, 1, 64], 14) },
  };
}

/**
 * A YOLO-style detection neck at 320x320 (strides 8, 16, 32): top-down path with 1x1 laterals, Resize nearest x2
 * and Concat, 3x3 fusion convs, and per-level 1x1 heads (3 anchors x 85).
 */
export function detectionNeck(): ZooModel {
  const b = new NetBuilder(1005);
  const cbr = (x: string, cin: number, cout: number, k: number) => b.relu(b.conv(x, cin, cout, k));
  const p5 = cbr('c5', 512, 256, 1);
  const p4 = cbr(cbr(b.concat([b.upsample(p5, 2), 'c4']), 512, 256, 3), 256, 128, 1);
  const p3 = cbr(b.concat([b.upsample(p4, 2), 'c3']), 256, 128, 3);
  const heads = [[p3, 128], [p4, 128], [p5, 256]].map(([x, c]) => b.conv(x as string, c as number, 255, 1));
  const shapes = { c3: [1, 128, 40, 40], c4: [1, 256, 20, 20], c5: [1, 512, 10, 10] };
  return {
    description: 'detection neck on 1x128x40x40, 1x256x20x20, 1x512x10x10: Resize nearest x2, Concat, Conv 3x3/1x1, three heads',
    bytes: b.encode(13, Object.entries(shapes).map(([name, shape]) => ({ name, dtype: 'float32' as const, shape })), heads),
    feeds: Object.fromEntries(Object.entries(shapes).map(([name, shape], i) => [name, randomInput(shape, 15 + i, 0, 1)])),
  };
}

/**
 * One decoding step of a 2-layer transformer decoder (d 384, 6 heads, FFN 1536) over a 64-token KV cache, then the
 * 8000-token vocabulary projection: every MatMul has M = 1.
 */
export function decoderStep(): ZooModel {
  const D = 384, H = 6, HD = D / H, T = 64, FFN = 1536, VOCAB = 8000, LAYERS = 2;
  const b = new NetBuilder(1006);
  const heads = (x: string) => b.op('Transpose', [b.op('Reshape', [x, b.int64s([1, 1, H, HD])])], { perm: [0, 2, 1, 3] }); // [1, H, 1, HD]
  let x = 'token';
  const inputs = [{ name: 'token', dtype: 'float32' as const, shape: [1, 1, D] }];
  const feeds: ZooModel['feeds'] = { token: randomInput([1, 1, D], 20) };
  for (let l = 0; l < LAYERS; l++) {
    for (const kv of ['k', 'v']) {
      inputs.push({ name: `past_${kv}${l}`, dtype: 'float32', shape: [1, H, T, HD] });
      feeds[`past_${kv}${l}`] = randomInput([1, H, T, HD], 21 + 2 * l + (kv === 'v' ? 1 : 0));
    }
    const q = heads(b.dense(x, D, D));
    const k = b.concat([`past_k${l}`, heads(b.dense(x, D, D))], 2); // [1, H, T + 1, HD]
    const v = b.concat([`past_v${l}`, heads(b.dense(x, D, D))], 2);
    const scores = b.mul(b.op('MatMul', [q, b.op('Transpose', [k], { perm: [0, 1, 3, 2] })]), b.scalar(1 / Math.sqrt(HD)));
    const context = b.op('MatMul', [b.op('Softmax', [scores], { axis: -1 }), v]); // [1, H, 1, HD]
    const merged = b.op('Reshape', [b.op('Transpose', [context], { perm: [0, 2, 1, 3] }), b.int64s([1, 1, D])]);
    x = b.layerNorm(b.add(x, b.dense(merged, D, D)), D);
    x = b.layerNorm(b.add(x, b.dense(b.relu(b.dense(x, D, FFN)), FFN, D)), D);
  }
  const logits = b.op('MatMul', [x, b.weight([D, VOCAB], Math.sqrt(3 / D), 'vocab')]);
  return {
    description: `transformer decoder step, d${D}, ${H} heads, ${LAYERS} layers, KV cache ${T}: MatMul M=1, Softmax, LayerNorm, vocab ${VOCAB}`,
    bytes: b.encode(17, inputs, [logits]),
    feeds,
  };
}

export const ZOO_MODELS: Record<string, () => ZooModel> = {
  zoo_unet: unet, zoo_alexnet: alexnetLike, zoo_kws: keywordSpotting, zoo_lstm: lstmSequence, zoo_neck: detectionNeck, zoo_decoder_step: decoderStep,
};
