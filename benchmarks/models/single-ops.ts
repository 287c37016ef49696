// The single-operator section (`npm run bench -- --ops`): one-node graphs (plus their weights) in the
// configurations issue 10 lists (ConvTranspose, LSTM, GRU, Gemm/MatMul at M = 1, 1-D depthwise Conv) and the
// common shapes around them (Conv stems, grouped, dilated and 5x5 depthwise, Resize, pooling, normalizations,
// Softmax). Names say the configuration: op, kernel/stride, channels in->out, @ spatial size.

import { NetBuilder, randomInput } from './builder.js';
import type { BuiltinModel } from './index.js';

interface OpConfig {
  name: string;
  description: string;
  /** The graph input's shape. */
  input: number[];
  opset?: number;
  build(b: NetBuilder, x: string): string;
}

const CONFIGS: OpConfig[] = [
  // issue 10's table
  { name: 'convtranspose_2x2s2_64to32_64x64', description: 'ConvTranspose 2x2 stride 2, 64->32 at 64x64 (U-Net decoder)', input: [1, 64, 64, 64],
    build: (b, x) => b.convTranspose(x, 64, 32, 2, { stride: 2 }) },
  { name: 'convtranspose_4x4s2p1_32to16_80x80', description: 'ConvTranspose 4x4 stride 2 pad 1, 32->16 at 80x80', input: [1, 32, 80, 80],
    build: (b, x) => b.convTranspose(x, 32, 16, 4, { stride: 2, pad: 1 }) },
  { name: 'convtranspose_3x3s1_64to64_32x32', description: 'ConvTranspose 3x3 stride 1 pad 1, 64->64 at 32x32', input: [1, 64, 32, 32],
    build: (b, x) => b.convTranspose(x, 64, 64, 3, { pad: 1 }) },
  { name: 'lstm_h128_50steps', description: 'LSTM hidden 128, input 128, 50 steps, batch 1', input: [50, 1, 128], opset: 14,
    build: (b, x) => b.recurrent('LSTM', x, 128, 128).y },
  { name: 'gru_h128_50steps', description: 'GRU hidden 128, input 128, 50 steps, batch 1', input: [50, 1, 128], opset: 14,
    build: (b, x) => b.recurrent('GRU', x, 128, 128).y },
  { name: 'gemm_1x9216x4096', description: 'Gemm 1x9216 by 9216x4096 (transB), bias: a classic net\'s FC layer at M=1', input: [1, 9216],
    build: (b, x) => b.linear(x, 9216, 4096) },
  { name: 'matmul_1x512x2048', description: 'MatMul 1x512 by 512x2048 (M=1)', input: [1, 512],
    build: (b, x) => b.op('MatMul', [x, b.weight([512, 2048], Math.sqrt(3 / 512), 'mm_w')]) },
  { name: 'conv1d_depthwise_k7_c128_l500', description: '1-D depthwise Conv, k=7, 128 channels, length 500, pad 3', input: [1, 128, 500],
    build: (b, x) => b.conv1d(x, 128, 128, 7, { group: 128 }) },
  // common Conv shapes
  { name: 'conv_7x7s2_3to64_224', description: 'Conv 7x7 stride 2 pad 3, 3->64 at 224x224 (ResNet stem)', input: [1, 3, 224, 224],
    build: (b, x) => b.conv(x, 3, 64, 7, { stride: 2 }) },
  { name: 'conv_11x11s4_3to64_224', description: 'Conv 11x11 stride 4 pad 2, 3->64 at 224x224 (AlexNet stem)', input: [1, 3, 224, 224],
    build: (b, x) => b.conv(x, 3, 64, 11, { stride: 4, pad: 2 }) },
  { name: 'conv_3x3_g8_128to128_28', description: 'grouped Conv 3x3, 8 groups, 128->128 at 28x28 (ResNeXt)', input: [1, 128, 28, 28],
    build: (b, x) => b.conv(x, 128, 128, 3, { group: 8 }) },
  { name: 'conv_3x3_d2_64to64_56', description: 'dilated Conv 3x3, dilation 2, 64->64 at 56x56 (DeepLab)', input: [1, 64, 56, 56],
    build: (b, x) => b.conv(x, 64, 64, 3, { dilation: 2 }) },
  { name: 'conv_depthwise_5x5_c128_28', description: 'depthwise Conv 5x5, 128 channels at 28x28 (EfficientNet)', input: [1, 128, 28, 28],
    build: (b, x) => b.conv(x, 128, 128, 5, { group: 128 }) },
  // data movement and normalization
  { name: 'resize_nearest_x2_64_56', description: 'Resize nearest x2, 64 channels 56x56 -> 112x112', input: [1, 64, 56, 56],
    build: (b, x) => b.upsample(x, 2) },
  { name: 'resize_linear_x2_64_56', description: 'Resize linear (half_pixel) x2, 64 channels 56x56 -> 112x112', input: [1, 64, 56, 56],
    build: (b, x) => b.upsample(x, 2, 'linear') },
  { name: 'maxpool_3x3s2_64_112', description: 'MaxPool 3x3 stride 2 pad 1, 64 channels at 112x112', input: [1, 64, 112, 112],
    build: (b, x) => b.op('MaxPool', [x], { kernel_shape: [3, 3], strides: [2, 2], pads: [1, 1, 1, 1] }) },
  { name: 'averagepool_2x2s2_128_56', description: 'AveragePool 2x2 stride 2, 128 channels at 56x56', input: [1, 128, 56, 56],
    build: (b, x) => b.op('AveragePool', [x], { kernel_shape: [2, 2], strides: [2, 2] }) },
  { name: 'globalaveragepool_512_7', description: 'GlobalAveragePool, 512 channels at 7x7', input: [1, 512, 7, 7],
    build: (b, x) => b.op('GlobalAveragePool', [x]) },
  { name: 'batchnorm_64_112', description: 'BatchNormalization (inference), 64 channels at 112x112', input: [1, 64, 112, 112],
    build: (b, x) => b.batchNorm(x, 64) },
  { name: 'instancenorm_64_64', description: 'InstanceNormalization, 64 channels at 64x64', input: [1, 64, 64, 64],
    build: (b, x) => b.op('InstanceNormalization', [x, b.weight([64], 0, 'in_g', 0.8, 1.2), b.weight([64], 0.1, 'in_b')]) },
  { name: 'layernorm_128x768', description: 'LayerNormalization over 768, 128 tokens (BERT-base)', input: [1, 128, 768], opset: 17,
    build: (b, x) => b.layerNorm(x, 768) },
  { name: 'softmax_12x128x128', description: 'Softmax over the last axis of 1x12x128x128 (attention scores)', input: [1, 12, 128, 128],
    build: (b, x) => b.op('Softmax', [x], { axis: -1 }) },
];

/** name -> the one-node model (built on demand: the Gemm's weights alone are 150 MB). */
export const SINGLE_OP_MODELS: Record<string, () => Omit<BuiltinModel, 'name'>> = Object.fromEntries(CONFIGS.map((c, i) => [c.name, () => {
  const b = new NetBuilder(2000 + i);
  const y = c.build(b, 'x');
  return {
    description: c.description,
    bytes: b.encode(c.opset ?? 13, [{ name: 'x', dtype: 'float32', shape: c.input }], [y]),
    feeds: { x: randomInput(c.input, 3000 + i) },
  };
}]));
