// A QDQ model the suite makes itself: one 3x3 Conv as onnxruntime's quantize_static writes it, with the fp32
// model it stands for. The int8 section compiles it once before measuring (so the first real model's compile
// time does not pay for warming the int8 passes), and test/bench.test.ts runs the int8 section on it.

import { encodeModel } from '../../src/onnx/encode.js';
import type { Tensor } from '../../src/ir/graph.js';
import { seededRandom } from './builder.js';

/**
 * A 3x3 Conv as quantize_static writes it (QDQ on the input and output, an int8 weight per output channel, an int32
 * bias at scale input x weight), and the fp32 model it stands for (the dequantized weight and bias as floats).
 */
export function qdqConvPair(): { qdq: Uint8Array; fp32: Uint8Array } {
  const random = seededRandom(99);
  const [cout, cin, k] = [4, 3, 3];
  const wScale = Float32Array.from({ length: cout }, (_, c) => 0.004 + 0.001 * c);
  const w = Int8Array.from({ length: cout * cin * k * k }, () => Math.floor(random() * 255) - 127);
  const xScale = 2 / 255, yScale = 0.05;
  const bScale = Float32Array.from(wScale, (s) => Math.fround(s * xScale));
  const b = Int32Array.from({ length: cout }, () => Math.floor(random() * 2000) - 1000);
  const t = (dtype: Tensor['dtype'], shape: number[], data: Tensor['data']): Tensor => ({ dtype, shape, data });
  const convAttrs = { kernel_shape: [k, k], pads: [1, 1, 1, 1] };
  const io = { inputs: [{ name: 'x', dtype: 'float32' as const, shape: [1, cin, 8, 8] }], outputs: [{ name: 'y' }] };
  const qdq = encodeModel({
    opset: 13, ...io,
    initializers: {
      xs: t('float32', [], Float32Array.of(xScale)), xz: t('int8', [], Int8Array.of(0)),
      ys: t('float32', [], Float32Array.of(yScale)), yz: t('int8', [], Int8Array.of(-10)),
      w: t('int8', [cout, cin, k, k], w), ws: t('float32', [cout], wScale), wz: t('int8', [cout], new Int8Array(cout)),
      b: t('int32', [cout], b), bs: t('float32', [cout], bScale), bz: t('int32', [cout], new Int32Array(cout)),
    },
    nodes: [
      { op: 'QuantizeLinear', inputs: ['x', 'xs', 'xz'], outputs: ['xq'] },
      { op: 'DequantizeLinear', inputs: ['xq', 'xs', 'xz'], outputs: ['xd'] },
      { op: 'DequantizeLinear', inputs: ['w', 'ws', 'wz'], outputs: ['wd'], attrs: { axis: 0 } },
      { op: 'DequantizeLinear', inputs: ['b', 'bs', 'bz'], outputs: ['bd'], attrs: { axis: 0 } },
      { op: 'Conv', inputs: ['xd', 'wd', 'bd'], outputs: ['c'], attrs: convAttrs },
      { op: 'QuantizeLinear', inputs: ['c', 'ys', 'yz'], outputs: ['cq'] },
      { op: 'DequantizeLinear', inputs: ['cq', 'ys', 'yz'], outputs: ['y'] },
    ],
  });
  const per = cin * k * k;
  const fp32 = encodeModel({
    opset: 13, ...io,
    initializers: {
      w: t('float32', [cout, cin, k, k], Float32Array.from(w, (v, i) => v * wScale[Math.floor(i / per)])),
      b: t('float32', [cout], Float32Array.from(b, (v, c) => v * bScale[c])),
    },
    nodes: [{ op: 'Conv', inputs: ['x', 'w', 'b'], outputs: ['y'], attrs: convAttrs }],
  });
  return { qdq, fp32 };
}
