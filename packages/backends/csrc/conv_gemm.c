// Convolutions as implicit matrix products on NHWC float32 data in the tfjs WASM backend's memory:
// output pixels are the rows, output channels the columns, and the filter (tfjs's HWIO layout is
// already a K × cout matrix, K = kh·kw·cin) the packed B. Each row of A is a pixel's receptive
// field, read in place through one pointer per filter tap (an indirection buffer, as XNNPACK's
// IGEMM; taps in the padding point at zeros), so nothing like im2col is materialised. 1×1
// convolutions (ResNet's bottleneck and projection shortcuts, strided or not) are the main case.
#include "gemm.h"

// Packs an HWIO filter w[kh][kw][cin][cout] (a K × cout matrix) into panels [⌈cout/8⌉][K][8].
void conv_gemm_pack(const f32 *w, int k, int cout, f32 *out) { pack_panels(w, k, cout, cout, k, out); }

// Output pixels per block: the block's receptive fields (rows · K floats) stay in L2 while every
// panel of the filter passes over them.
int conv_gemm_block_rows(int k) {
  int rows = 32768 / k;
  if (rows < 64) rows = 64;
  if (rows > 512) rows = 512;
  return rows & ~3;
}

// y[p][·] for output pixels p ∈ [p0, p1) (p = (b·ho + oy)·wo + ox) of the convolution of x
// [n][h][w][cin] with the packed filter, stride (sh, sw), padding (pt, pl) in front, + bias,
// + res (same layout as y), ReLU. Scratch: ind (conv_gemm_block_rows · kh·kw pointers), zero
// (cin zeros), trash (8 floats: where the missing rows of the last group of 4 are written).
void conv_gemm(const f32 *x, int n, int h, int w, int cin, int kh, int kw, int sh, int sw, int pt, int pl,
               const f32 *packed, int cout, int ho, int wo, const f32 *bias, const f32 *res, int relu, f32 *y, int p0,
               int p1, const f32 **ind, const f32 *zero, f32 *trash) {
  (void)n;
  int taps = kh * kw, k = taps * cin, panels = (cout + 7) / 8;
  int mb = conv_gemm_block_rows(k);
  for (int b0 = p0; b0 < p1; b0 += mb) {
    int count = p1 - b0 < mb ? p1 - b0 : mb;
    for (int r = 0; r < count; r++) {
      int p = b0 + r, img = p / (ho * wo), oy = (p / wo) % ho, ox = p % wo;
      const f32 *base = x + (long)img * h * w * cin;
      for (int i = 0; i < kh; i++) {
        int iy = oy * sh + i - pt;
        for (int j = 0; j < kw; j++) {
          int ix = ox * sw + j - pl;
          ind[r * taps + i * kw + j] =
              (iy < 0 || iy >= h || ix < 0 || ix >= w) ? zero : base + ((long)iy * w + ix) * cin;
        }
      }
    }
    for (int pn = 0; pn < panels; pn++) {
      const f32 *bp = packed + (long)pn * k * 8;
      int cols = cout - pn * 8 < 8 ? cout - pn * 8 : 8;
      const f32 *bs = bias ? bias + pn * 8 : 0;
      for (int r = 0; r < count; r += 4) {
        int q1 = r + 1 < count ? r + 1 : r, q2 = r + 2 < count ? r + 2 : r, q3 = r + 3 < count ? r + 3 : r;
        const f32 **i0 = ind + r * taps, **i1 = ind + q1 * taps, **i2 = ind + q2 * taps, **i3 = ind + q3 * taps;
        f32 *c0 = y + (long)(b0 + r) * cout + pn * 8;
        f32 *c1 = q1 > r ? c0 + cout : trash, *c2 = q2 > r ? c0 + 2 * cout : trash, *c3 = q3 > r ? c0 + 3 * cout : trash;
        const f32 *s0 = 0, *s1 = 0, *s2 = 0, *s3 = 0;
        if (res) {
          s0 = res + (long)(b0 + r) * cout + pn * 8;
          s1 = q1 > r ? s0 + cout : trash;
          s2 = q2 > r ? s0 + 2 * cout : trash;
          s3 = q3 > r ? s0 + 3 * cout : trash;
        }
        const f32 *bb = bp;
        GEMM_4x8_ZERO();
        for (int t = 0; t < taps; t++) GEMM_4x8_STEPS(cin, i0[t], i1[t], i2[t], i3[t], bb);
        gemm_4x8_finish(c00, c01, c10, c11, c20, c21, c30, c31, c0, c1, c2, c3, cols, 0, bs, s0, s1, s2, s3, relu);
      }
    }
  }
}
