/* A C host for an onnx2wasm module translated by wasm2c: no JavaScript, no wasm engine.
 *   host model.wasm input.bin output.bin
 * input.bin holds the inputs' bytes one after another, in the order and sizes of model.h (dense, row-major,
 * little-endian, ONNX dtype); output.bin receives the outputs the same way. model.wasm is read for its data
 * section only (the weights), which is copied into the module's memory before the first run. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model-wasm.h" /* wasm2c's translation: Z_model_instantiate, Z_modelZ_run, ... */
#include "model.h"      /* onnx2wasm --c-header: MODEL_INPUTS, MODEL_OUTPUTS, sizes */

static void fail(const char *what, const char *detail) {
  fprintf(stderr, "host: %s%s%s\n", what, detail ? ": " : "", detail ? detail : "");
  exit(1);
}

static uint8_t *read_file(const char *path, size_t *size) {
  FILE *f = fopen(path, "rb");
  if (!f) fail("cannot open", path);
  if (fseek(f, 0, SEEK_END) != 0) fail("cannot read", path);
  long n = ftell(f);
  if (n < 0 || fseek(f, 0, SEEK_SET) != 0) fail("cannot read", path);
  uint8_t *data = malloc(n ? (size_t)n : 1);
  if (!data || fread(data, 1, (size_t)n, f) != (size_t)n) fail("cannot read", path);
  fclose(f);
  *size = (size_t)n;
  return data;
}

/* Unsigned LEB128 at *at, bounded by end. */
static uint32_t leb_u32(const uint8_t **at, const uint8_t *end) {
  uint32_t v = 0;
  for (int shift = 0; shift < 35; shift += 7) {
    if (*at >= end) fail("model.wasm", "truncated");
    uint8_t b = *(*at)++;
    v |= (uint32_t)(b & 127) << shift;
    if (b < 128) return v;
  }
  fail("model.wasm", "bad LEB128 number");
  return 0;
}

/* Signed LEB128 (an i32.const offset). */
static int32_t leb_s32(const uint8_t **at, const uint8_t *end) {
  int32_t v = 0;
  int shift = 0;
  uint8_t b;
  do {
    if (*at >= end || shift >= 35) fail("model.wasm", "bad LEB128 number");
    b = *(*at)++;
    v |= (int32_t)((uint32_t)(b & 127) << shift);
    shift += 7;
  } while (b & 128);
  if (shift < 32 && (b & 64)) v |= (int32_t)(~0u << shift);
  return v;
}

/* Copies every data segment of the module (active, memory 0, constant offset: what onnx2wasm emits) into memory. */
static void copy_data_segments(const uint8_t *wasm, size_t size, wasm_rt_memory_t *memory) {
  const uint8_t *at = wasm + 8, *end = wasm + size;
  if (size < 8 || memcmp(wasm, "\0asm", 4) != 0) fail("model.wasm", "not a WebAssembly module");
  while (at < end) {
    uint8_t id = *at++;
    uint32_t length = leb_u32(&at, end);
    const uint8_t *next = at + length;
    if (next > end) fail("model.wasm", "truncated section");
    if (id == 11) {
      for (uint32_t n = leb_u32(&at, next); n > 0; n--) {
        if (leb_u32(&at, next) != 0 || at >= next || *at++ != 0x41) fail("model.wasm", "unsupported data segment kind");
        uint32_t offset = (uint32_t)leb_s32(&at, next);
        if (at >= next || *at++ != 0x0b) fail("model.wasm", "unsupported data segment offset");
        uint32_t bytes = leb_u32(&at, next);
        if (bytes > (size_t)(next - at) || (uint64_t)offset + bytes > memory->size) fail("model.wasm", "data segment out of range");
        memcpy(memory->data + offset, at, bytes);
        at += bytes;
      }
    }
    at = next;
  }
}

int main(int argc, char **argv) {
  if (argc != 4) {
    fprintf(stderr, "usage: %s model.wasm input.bin output.bin\n", argv[0]);
    return 1;
  }
  size_t wasm_size, input_size;
  uint8_t *wasm = read_file(argv[1], &wasm_size);
  uint8_t *input = read_file(argv[2], &input_size);
  if (input_size != MODEL_INPUTS_TOTAL_BYTES) {
    fprintf(stderr, "host: %s has %zu bytes, the inputs take %u\n", argv[2], input_size, MODEL_INPUTS_TOTAL_BYTES);
    return 1;
  }

  wasm_rt_init();
  Z_model_init_module();
  Z_model_instance_t model;
  Z_model_instantiate(&model);
  wasm_rt_memory_t *memory = Z_modelZ_memory(&model);
  if (memory->size != MODEL_MEMORY_BYTES) fail("model.wasm", "memory size differs from model.h (built from another model?)");
  copy_data_segments(wasm, wasm_size, memory);

  /* The exports say where each buffer is; model.h says the same, and how big. */
  const uint8_t *from = input;
  for (uint32_t i = 0; i < MODEL_INPUT_COUNT; i++) {
    uint32_t ptr = Z_modelZ_input_ptr(&model, i), bytes = Z_modelZ_input_bytes(&model, i);
    if (bytes != MODEL_INPUTS[i].bytes || ptr != MODEL_INPUTS[i].offset) fail("model.h does not match the module", MODEL_INPUTS[i].name);
    memcpy(memory->data + ptr, from, bytes);
    from += bytes;
  }
  uint32_t status = Z_modelZ_run(&model);

  FILE *out = fopen(argv[3], "wb");
  if (!out) fail("cannot write", argv[3]);
  for (uint32_t i = 0; i < MODEL_OUTPUT_COUNT; i++) {
    uint32_t ptr = Z_modelZ_output_ptr(&model, i), bytes = Z_modelZ_output_bytes(&model, i);
    if (fwrite(memory->data + ptr, 1, bytes, out) != bytes) fail("cannot write", argv[3]);
    fprintf(stderr, "%s %s [", MODEL_OUTPUTS[i].name, MODEL_OUTPUTS[i].dtype);
    for (unsigned d = 0; d < MODEL_OUTPUTS[i].rank; d++) fprintf(stderr, d ? "x%u" : "%u", MODEL_OUTPUTS[i].shape[d]);
    fprintf(stderr, "]: %u bytes\n", bytes);
  }
  if (fclose(out) != 0) fail("cannot write", argv[3]);

  Z_model_free(&model);
  wasm_rt_free();
  free(wasm);
  free(input);
  if (status != 0) fprintf(stderr, "host: run() returned status %u (an index input was out of range and clamped)\n", status);
  return status == 0 ? 0 : 2;
}
