// node strip-data.mjs model.wasm model-code.wasm: writes the module without its data section (the weights), for
// wasm2c. wasm2c would turn every weight byte into C source (a 14 MB model makes gcc work for about 40 s);
// main.c copies the segments from model.wasm into memory at start instead. No dependencies.
import { readFileSync, writeFileSync } from 'node:fs';

const [from, to] = process.argv.slice(2);
if (!from || !to) {
  console.error('usage: node strip-data.mjs model.wasm model-code.wasm');
  process.exit(1);
}
const bytes = readFileSync(from);
if (bytes.readUInt32LE(0) !== 0x6d736100) {
  console.error(`${from}: not a WebAssembly module`);
  process.exit(1);
}
let at = 8;
const leb = () => {
  let v = 0;
  for (let shift = 0; ; shift += 7) {
    const b = bytes[at++];
    v += (b & 127) * 2 ** shift;
    if (b < 128) return v;
  }
};
const kept = [bytes.subarray(0, 8)];
while (at < bytes.length) {
  const start = at, id = bytes[at++], size = leb(), end = at + size;
  // 11: data, 12: data count (it must go with the data)
  if (id !== 11 && id !== 12) kept.push(bytes.subarray(start, end));
  at = end;
}
writeFileSync(to, Buffer.concat(kept));
