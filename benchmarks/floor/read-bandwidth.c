// Native read bandwidth of one core: sums a buffer of the given size with 16-byte loads (the width of wasm's
// SIMD128) into 8 independent accumulators, and with 32-byte AVX loads.
// Prints the best (min-of-N) time per pass and the bandwidth; used by benchmarks/gemv-floor.ts.
//   gcc -O3 -march=native read-bandwidth.c -o read-bandwidth && ./read-bandwidth 150994944 30
#include <immintrin.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static double now_ms(void) {
  struct timespec t;
  clock_gettime(CLOCK_MONOTONIC, &t);
  return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

// 16-byte loads, 8 accumulators: what a wasm v128 loop can do at best.
static float sum128(const float *p, size_t n) {
  __m128 a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm_setzero_ps();
  for (size_t i = 0; i < n; i += 32)
    for (int q = 0; q < 8; q++) a[q] = _mm_add_ps(a[q], _mm_load_ps(p + i + 4 * q));
  for (int i = 1; i < 8; i++) a[0] = _mm_add_ps(a[0], a[i]);
  float out[4];
  _mm_storeu_ps(out, a[0]);
  return out[0] + out[1] + out[2] + out[3];
}

// 32-byte loads (AVX), 8 accumulators: the native ceiling, wider than wasm can load.
static float sum256(const float *p, size_t n) {
  __m256 a[8];
  for (int i = 0; i < 8; i++) a[i] = _mm256_setzero_ps();
  for (size_t i = 0; i < n; i += 64)
    for (int q = 0; q < 8; q++) a[q] = _mm256_add_ps(a[q], _mm256_load_ps(p + i + 8 * q));
  for (int i = 1; i < 8; i++) a[0] = _mm256_add_ps(a[0], a[i]);
  float out[8];
  _mm256_storeu_ps(out, a[0]);
  return out[0] + out[1] + out[2] + out[3] + out[4] + out[5] + out[6] + out[7];
}

int main(int argc, char **argv) {
  size_t bytes = argc > 1 ? strtoull(argv[1], 0, 10) : 150994944;
  int reps = argc > 2 ? atoi(argv[2]) : 30;
  size_t n = bytes / 4 / 64 * 64;
  float *p = aligned_alloc(64, n * 4);
  for (size_t i = 0; i < n; i++) p[i] = (float)(i & 255) * 1e-3f;
  volatile float sink = 0;
  double best128 = 1e30, best256 = 1e30;
  for (int r = 0; r < reps; r++) {  // interleaved, min of N
    double t0 = now_ms();
    sink += sum128(p, n);
    double t1 = now_ms();
    sink += sum256(p, n);
    double t2 = now_ms();
    if (t1 - t0 < best128) best128 = t1 - t0;
    if (t2 - t1 < best256) best256 = t2 - t1;
  }
  printf("{\"bytes\": %zu, \"sse128_ms\": %.4f, \"avx256_ms\": %.4f, \"sse128_GBps\": %.2f, \"avx256_GBps\": %.2f}\n",
         n * 4, best128, best256, n * 4 / best128 / 1e6, n * 4 / best256 / 1e6);
  (void)sink;
  free(p);
  return 0;
}
