// The matrix-product micro-kernel every convolution of ours runs on: 4 rows × 8 columns of C in
// eight SIMD accumulators, one k at a time (two 4-float loads of B, four broadcasts of A, eight
// multiplies and eight adds). Measured here (V8, 128-bit WASM SIMD) it is the fastest shape: 5×8,
// 6×8, 4×12 or unrolling k make V8 spill registers and run at half speed.
//
// A is read through one pointer per row (rows of a matrix, pixels of an NHWC image). B is packed:
// [k][8] floats per panel of 8 columns, zero-padded. C is written through one pointer per row;
// the last, partial group of rows points its missing rows at a scratch row (reading any valid A
// row). The epilogue adds what C already holds (a sum over several k chunks), a bias and a
// residual, and applies ReLU; `cols` < 8 stores only the first `cols` columns (C's right edge).
#include <wasm_simd128.h>

typedef float f32;

#ifdef RELAXED_SIMD
// acc + x·y as one relaxed multiply-add (fused where the CPU has FMA). clang 14 names it
// f32x4.fma; the build rewrites its opcode to the standard f32x4.relaxed_madd(x, y, acc) = x·y + acc.
#define MADD(acc, x, y) acc = __builtin_wasm_fma_f32x4(x, y, acc)
#else
#define MADD(acc, x, y) acc = wasm_f32x4_add(acc, wasm_f32x4_mul(x, y))
#endif

// Loads p[0..n) (n ≤ 4) into a vector, zero-filling the rest, without reading past p[n-1].
static inline v128_t load_upto4(const f32 *p, int n) {
  if (n >= 4) return wasm_v128_load(p);
  return wasm_f32x4_make(p[0], n > 1 ? p[1] : 0.f, n > 2 ? p[2] : 0.f, 0.f);
}

// Stores the first n (≤ 4) lanes of v at p.
static inline void store_upto4(f32 *p, v128_t v, int n) {
  if (n >= 4) {
    wasm_v128_store(p, v);
    return;
  }
  p[0] = wasm_f32x4_extract_lane(v, 0);
  if (n > 1) p[1] = wasm_f32x4_extract_lane(v, 1);
  if (n > 2) p[2] = wasm_f32x4_extract_lane(v, 2);
}

// One row of the epilogue: (+ C) (+ bias) (+ residual row) (max 0), then store `cols` columns.
static inline __attribute__((always_inline)) void finish_row(f32 *c, v128_t lo, v128_t hi, int cols, int accumulate,
                                                             v128_t blo, v128_t bhi, const f32 *res, int relu) {
  int nlo = cols < 4 ? cols : 4, nhi = cols - nlo;
  if (accumulate) {
    lo = wasm_f32x4_add(lo, load_upto4(c, nlo));
    if (nhi > 0) hi = wasm_f32x4_add(hi, load_upto4(c + 4, nhi));
  }
  lo = wasm_f32x4_add(lo, blo);
  hi = wasm_f32x4_add(hi, bhi);
  if (res) {
    lo = wasm_f32x4_add(lo, load_upto4(res, nlo));
    if (nhi > 0) hi = wasm_f32x4_add(hi, load_upto4(res + 4, nhi));
  }
  if (relu) {
    lo = wasm_f32x4_max(lo, wasm_f32x4_splat(0.f));
    hi = wasm_f32x4_max(hi, wasm_f32x4_splat(0.f));
  }
  store_upto4(c, lo, nlo);
  if (nhi > 0) store_upto4(c + 4, hi, nhi);
}

// The accumulators of one 4×8 block of C, zeroed.
#define GEMM_4x8_ZERO()                                                               \
  v128_t c00 = wasm_f32x4_splat(0.f), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, \
         c30 = c00, c31 = c00

// Adds Σ_{k < kc} a_r[k]·b[k][·] to the accumulators; b advances by kc·8 floats.
#define GEMM_4x8_STEPS(kc, a0, a1, a2, a3, b)                         \
  for (int p_ = 0; p_ < (kc); p_++) {                                 \
    v128_t b0_ = wasm_v128_load(b), b1_ = wasm_v128_load((b) + 4);    \
    (b) += 8;                                                         \
    v128_t x_ = wasm_v128_load32_splat((a0) + p_);                    \
    MADD(c00, x_, b0_);                                               \
    MADD(c01, x_, b1_);                                               \
    x_ = wasm_v128_load32_splat((a1) + p_);                           \
    MADD(c10, x_, b0_);                                               \
    MADD(c11, x_, b1_);                                               \
    x_ = wasm_v128_load32_splat((a2) + p_);                           \
    MADD(c20, x_, b0_);                                               \
    MADD(c21, x_, b1_);                                               \
    x_ = wasm_v128_load32_splat((a3) + p_);                           \
    MADD(c30, x_, b0_);                                               \
    MADD(c31, x_, b1_);                                               \
  }

// Adds the outer product of 4 values (the lanes of va: 4 rows) and 8 (b0, b1: 8 columns) to the
// accumulators: the step of the weight gradients, whose A is read 4 channels at a time.
#define OUTER_4x8_STEP(va, b0, b1)                      \
  do {                                                  \
    v128_t e_ = wasm_i32x4_shuffle(va, va, 0, 0, 0, 0); \
    MADD(c00, e_, b0);                                  \
    MADD(c01, e_, b1);                                  \
    e_ = wasm_i32x4_shuffle(va, va, 1, 1, 1, 1);        \
    MADD(c10, e_, b0);                                  \
    MADD(c11, e_, b1);                                  \
    e_ = wasm_i32x4_shuffle(va, va, 2, 2, 2, 2);        \
    MADD(c20, e_, b0);                                  \
    MADD(c21, e_, b1);                                  \
    e_ = wasm_i32x4_shuffle(va, va, 3, 3, 3, 3);        \
    MADD(c30, e_, b0);                                  \
    MADD(c31, e_, b1);                                  \
  } while (0)

// Stores the accumulators to rows c0..c3 through the epilogue (see finish_row).
static inline __attribute__((always_inline)) void gemm_4x8_finish(v128_t c00, v128_t c01, v128_t c10, v128_t c11,
                                                                  v128_t c20, v128_t c21, v128_t c30, v128_t c31,
                                                                  f32 *c0, f32 *c1, f32 *c2, f32 *c3, int cols,
                                                                  int accumulate, const f32 *bias, const f32 *r0,
                                                                  const f32 *r1, const f32 *r2, const f32 *r3,
                                                                  int relu) {
  v128_t blo = wasm_f32x4_splat(0.f), bhi = blo;
  if (bias) {
    blo = load_upto4(bias, cols < 4 ? cols : 4);
    if (cols > 4) bhi = load_upto4(bias + 4, cols - 4);
  }
  finish_row(c0, c00, c01, cols, accumulate, blo, bhi, r0, relu);
  finish_row(c1, c10, c11, cols, accumulate, blo, bhi, r1, relu);
  finish_row(c2, c20, c21, cols, accumulate, blo, bhi, r2, relu);
  finish_row(c3, c30, c31, cols, accumulate, blo, bhi, r3, relu);
}

// C rows c0..c3, columns [0, cols) ← Σ_{k < kc} a_r[k]·b[k][·] (+ C when accumulate) (+ bias
// when not null) (+ residual rows r0..r3 when r0 is not null) (ReLU when relu).
static inline __attribute__((always_inline)) void gemm_4x8(int kc, const f32 *a0, const f32 *a1, const f32 *a2,
                                                           const f32 *a3, const f32 *b, f32 *c0, f32 *c1, f32 *c2,
                                                           f32 *c3, int cols, int accumulate, const f32 *bias,
                                                           const f32 *r0, const f32 *r1, const f32 *r2,
                                                           const f32 *r3, int relu) {
  GEMM_4x8_ZERO();
  GEMM_4x8_STEPS(kc, a0, a1, a2, a3, b);
  gemm_4x8_finish(c00, c01, c10, c11, c20, c21, c30, c31, c0, c1, c2, c3, cols, accumulate, bias, r0, r1, r2, r3,
                  relu);
}
