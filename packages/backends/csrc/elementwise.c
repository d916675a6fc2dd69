// Element-wise and layout kernels for tfjs's WASM backend, on float32 data in the backend's own
// memory (see bn.c for the rules: no stack, no static data; pointers are byte offsets).
#include <wasm_simd128.h>

typedef float f32;

// y = max(0, x)
void relu(const f32 *x, long n, f32 *y) {
  v128_t zero = wasm_f32x4_splat(0.f);
  long i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(y + i, wasm_f32x4_max(wasm_v128_load(x + i), zero));
  for (; i < n; i++) y[i] = x[i] > 0.f ? x[i] : 0.f;
}

// dx = dy where x > 0, else 0 (the gradient of ReLU, as tfjs's dy·step(x))
void relu_grad(const f32 *dy, const f32 *x, long n, f32 *dx) {
  v128_t zero = wasm_f32x4_splat(0.f);
  long i = 0;
  for (; i + 4 <= n; i += 4)
    wasm_v128_store(dx + i, wasm_v128_and(wasm_v128_load(dy + i), wasm_f32x4_gt(wasm_v128_load(x + i), zero)));
  for (; i < n; i++) dx[i] = x[i] > 0.f ? dy[i] : 0.f;
}

// z = a + b (same shape)
void add(const f32 *a, const f32 *b, long n, f32 *z) {
  long i = 0;
  for (; i + 4 <= n; i += 4) wasm_v128_store(z + i, wasm_f32x4_add(wasm_v128_load(a + i), wasm_v128_load(b + i)));
  for (; i < n; i++) z[i] = a[i] + b[i];
}

// out[k, p, b] = x[b, p, k] for b < n, p < hw, k < c: NHWC → CHWN, by blocks of 4 images.
void to_chwn(const f32 *x, int n, int hw, int c, f32 *out) {
  long plane = (long)hw * n;
  for (int p = 0; p < hw; p++) {
    int b = 0;
    for (; b + 4 <= n; b += 4) {
      const f32 *r0 = x + ((long)b * hw + p) * c;
      const f32 *r1 = r0 + (long)hw * c;
      const f32 *r2 = r1 + (long)hw * c;
      const f32 *r3 = r2 + (long)hw * c;
      f32 *o = out + (long)p * n + b;
      for (int k = 0; k < c; k++) {
        wasm_v128_store(o + k * plane, wasm_f32x4_make(r0[k], r1[k], r2[k], r3[k]));
      }
    }
    for (; b < n; b++) {
      const f32 *r = x + ((long)b * hw + p) * c;
      for (int k = 0; k < c; k++) out[k * plane + (long)p * n + b] = r[k];
    }
  }
}

// out[j, i, :] = x[i, j, :] for i < a, j < b, rows of `row` values (swaps the first two axes).
void swap01(const f32 *x, int a, int b, int row, f32 *out) {
  for (int i = 0; i < a; i++) {
    for (int j = 0; j < b; j++) {
      const f32 *src = x + ((long)i * b + j) * row;
      f32 *dst = out + ((long)j * a + i) * row;
      int k = 0;
      for (; k + 4 <= row; k += 4) wasm_v128_store(dst + k, wasm_v128_load(src + k));
      for (; k < row; k++) dst[k] = src[k];
    }
  }
}
