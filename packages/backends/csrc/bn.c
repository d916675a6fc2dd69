// Fused train-mode batch normalisation kernels for tfjs's WASM backend, on NHWC data seen as
// [m rows × c channels]. Compiled with clang to a WASM module that imports the tfjs module's memory
// and works on its tensors in place: no data segments, no stack (the build checks both), so that
// the module writes only where its pointer arguments say. Sums go through float32 SIMD partial
// sums over blocks of BLOCK rows folded into double accumulators (`acc`, 2·c doubles, caller-owned).
#include <wasm_simd128.h>

#define BLOCK 128

typedef float f32;

// acc[0..c) += Σ_rows x[r, :] over rows [0, m), in blocks. Channels in groups of 4 (c % 4 == 0).
static void block_sums(const f32 *x, int m, int c, double *acc, f32 *part) {
  for (int r0 = 0; r0 < m; r0 += BLOCK) {
    int r1 = r0 + BLOCK < m ? r0 + BLOCK : m;
    for (int k = 0; k < c; k += 4) wasm_v128_store(part + k, wasm_f32x4_splat(0.f));
    for (int r = r0; r < r1; r++) {
      const f32 *row = x + (long)r * c;
      for (int k = 0; k < c; k += 4)
        wasm_v128_store(part + k, wasm_f32x4_add(wasm_v128_load(part + k), wasm_v128_load(row + k)));
    }
    for (int k = 0; k < c; k++) acc[k] += part[k];
  }
}

// mean and biased variance per channel (two passes). work: 2·c doubles then c floats.
void bn_stats(const f32 *x, int m, int c, f32 *mean, f32 *var, double *acc) {
  f32 *part = (f32 *)(acc + 2 * c);
  for (int k = 0; k < 2 * c; k++) acc[k] = 0.0;
  block_sums(x, m, c, acc, part);
  for (int k = 0; k < c; k++) mean[k] = (f32)(acc[k] / m);
  for (int r0 = 0; r0 < m; r0 += BLOCK) {
    int r1 = r0 + BLOCK < m ? r0 + BLOCK : m;
    for (int k = 0; k < c; k += 4) wasm_v128_store(part + k, wasm_f32x4_splat(0.f));
    for (int r = r0; r < r1; r++) {
      const f32 *row = x + (long)r * c;
      for (int k = 0; k < c; k += 4) {
        v128_t d = wasm_f32x4_sub(wasm_v128_load(row + k), wasm_v128_load(mean + k));
        wasm_v128_store(part + k, wasm_f32x4_add(wasm_v128_load(part + k), wasm_f32x4_mul(d, d)));
      }
    }
    for (int k = 0; k < c; k++) acc[c + k] += part[k];
  }
  for (int k = 0; k < c; k++) var[k] = (f32)(acc[c + k] / m);
}

// y = x·scale + shift per channel; with relu, max(0, ·).
void bn_apply(const f32 *x, int m, int c, const f32 *scale, const f32 *shift, f32 *y, int relu) {
  v128_t zero = wasm_f32x4_splat(0.f);
  for (int r = 0; r < m; r++) {
    const f32 *row = x + (long)r * c;
    f32 *out = y + (long)r * c;
    for (int k = 0; k < c; k += 4) {
      v128_t v = wasm_f32x4_add(wasm_f32x4_mul(wasm_v128_load(row + k), wasm_v128_load(scale + k)),
                                wasm_v128_load(shift + k));
      if (relu) v = wasm_f32x4_max(v, zero);
      wasm_v128_store(out + k, v);
    }
  }
}

// Backward, pass 1: sum_dy = Σ g, sum_dyxc = Σ g·(x − mean), where g = dy (masked by y > 0 when
// y is given: the gradient through a following ReLU).
void bn_grad_sums(const f32 *x, const f32 *dy, const f32 *y, int m, int c, const f32 *mean, f32 *sum_dy,
                  f32 *sum_dyxc, double *acc) {
  f32 *part = (f32 *)(acc + 2 * c);
  f32 *part2 = part + c;
  v128_t zero = wasm_f32x4_splat(0.f);
  for (int k = 0; k < 2 * c; k++) acc[k] = 0.0;
  for (int r0 = 0; r0 < m; r0 += BLOCK) {
    int r1 = r0 + BLOCK < m ? r0 + BLOCK : m;
    for (int k = 0; k < c; k += 4) {
      wasm_v128_store(part + k, zero);
      wasm_v128_store(part2 + k, zero);
    }
    for (int r = r0; r < r1; r++) {
      const f32 *xr = x + (long)r * c;
      const f32 *gr = dy + (long)r * c;
      const f32 *yr = y ? y + (long)r * c : 0;
      for (int k = 0; k < c; k += 4) {
        v128_t g = wasm_v128_load(gr + k);
        if (yr) g = wasm_v128_and(g, wasm_f32x4_gt(wasm_v128_load(yr + k), zero));
        v128_t d = wasm_f32x4_sub(wasm_v128_load(xr + k), wasm_v128_load(mean + k));
        wasm_v128_store(part + k, wasm_f32x4_add(wasm_v128_load(part + k), g));
        wasm_v128_store(part2 + k, wasm_f32x4_add(wasm_v128_load(part2 + k), wasm_f32x4_mul(g, d)));
      }
    }
    for (int k = 0; k < c; k++) {
      acc[k] += part[k];
      acc[c + k] += part2[k];
    }
  }
  for (int k = 0; k < c; k++) {
    sum_dy[k] = (f32)acc[k];
    sum_dyxc[k] = (f32)acc[c + k];
  }
}

// Backward, pass 2: dx = g·a + (x − mean)·b + d per channel (g as in pass 1).
void bn_grad_apply(const f32 *x, const f32 *dy, const f32 *y, int m, int c, const f32 *mean, const f32 *a,
                   const f32 *b, const f32 *d, f32 *dx) {
  v128_t zero = wasm_f32x4_splat(0.f);
  for (int r = 0; r < m; r++) {
    const f32 *xr = x + (long)r * c;
    const f32 *gr = dy + (long)r * c;
    const f32 *yr = y ? y + (long)r * c : 0;
    f32 *out = dx + (long)r * c;
    for (int k = 0; k < c; k += 4) {
      v128_t g = wasm_v128_load(gr + k);
      if (yr) g = wasm_v128_and(g, wasm_f32x4_gt(wasm_v128_load(yr + k), zero));
      v128_t xc = wasm_f32x4_sub(wasm_v128_load(xr + k), wasm_v128_load(mean + k));
      v128_t v = wasm_f32x4_add(wasm_f32x4_add(wasm_f32x4_mul(g, wasm_v128_load(a + k)),
                                               wasm_f32x4_mul(xc, wasm_v128_load(b + k))),
                                wasm_v128_load(d + k));
      wasm_v128_store(out + k, v);
    }
  }
}
