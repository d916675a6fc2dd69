// The weight gradient of a convolution (tfjs's Conv2DBackpropFilter) on NHWC float32 data in the
// tfjs WASM backend's memory:
//
//   dW[i][j][c][k] = Σ_{n, y, x} X[n][y·s + i − pt][x·s + j − pl][c] · dY[n][y][x][k]
//
// a matrix product whose reduction runs over every output pixel (N·Ho·Wo, long) and whose result
// is small (kh·kw·cin × cout). It is computed in place, without im2col: for each filter tap the
// pixels whose shifted input lies inside the image form a rectangle; 4 input channels × 8 output
// channels are summed in eight SIMD accumulators over that rectangle (one 4-channel load of X and
// four lane broadcasts, two 4-channel loads of dY, eight multiplies and eight adds per pixel).
// Pixels go in bands of rows that stay in cache while every tap and channel block passes over
// them; each band's sums (float32 in registers) are added to the result (float32) once.
#include "gemm.h"

// acc[4 channels c..c+3][8 channels k..k+7] over the rows [r0, r1) (r = n·ho + y) of one tap,
// added into g (rows ldg floats apart). xcols/kcols < 4/8: channels past the end read as 0.
static inline __attribute__((always_inline)) void tap_block(const f32 *x, int h, int w, int cin, const f32 *dy,
                                                            int ho, int wo, int cout, int s, int i, int j, int pt,
                                                            int pl, int xa, int xb, int r0, int r1, int c, int xcols,
                                                            int k, int kcols, f32 *g, int ldg) {
  GEMM_4x8_ZERO();
  for (int r = r0; r < r1; r++) {
    int n = r / ho, y = r % ho, iy = y * s + i - pt;
    if (iy < 0 || iy >= h) continue;
    const f32 *a = x + (((long)n * h + iy) * w + (long)xa * s + j - pl) * cin + c;
    const f32 *b = dy + ((long)r * wo + xa) * cout + k;
    long as = (long)s * cin;
    for (int q = xa; q < xb; q++) {
      v128_t va = xcols == 4 ? wasm_v128_load(a) : load_upto4(a, xcols);
      v128_t b0 = kcols >= 4 ? wasm_v128_load(b) : load_upto4(b, kcols);
      v128_t b1 = kcols == 8 ? wasm_v128_load(b + 4) : kcols > 4 ? load_upto4(b + 4, kcols - 4) : wasm_f32x4_splat(0.f);
      OUTER_4x8_STEP(va, b0, b1);
      a += as;
      b += cout;
    }
  }
  gemm_4x8_finish(c00, c01, c10, c11, c20, c21, c30, c31, g, g + ldg, g + 2 * ldg, g + 3 * ldg, 8, 1, 0, 0, 0, 0, 0,
                  0);
}

// Output rows per band: about 512 pixels, at least one row.
int conv_filter_grad_band_rows(int wo) {
  int rows = 512 / (wo > 0 ? wo : 1);
  return rows < 1 ? 1 : rows;
}

// g[tap][c][k] (taps = kh·kw, c < cinp = cin rounded up to 4, k < coutp = cout rounded up to 8)
// += the weight gradient's sums over the output rows [r0, r1) (r = n·ho + y). g must start zeroed;
// conv_filter_grad_store then writes dW. Rows may be split between threads with a g each.
void conv_filter_grad(const f32 *x, int h, int w, int cin, const f32 *dy, int ho, int wo, int cout, int kh, int kw,
                      int s, int pt, int pl, int r0, int r1, f32 *g) {
  int cinp = (cin + 3) & ~3, coutp = (cout + 7) & ~7;
  int band = conv_filter_grad_band_rows(wo);
  for (int b0 = r0; b0 < r1; b0 += band) {
    int b1 = r1 - b0 < band ? r1 : b0 + band;
    for (int i = 0; i < kh; i++)
      for (int j = 0; j < kw; j++) {
        // Output columns whose input column x·s + j − pl lies in [0, w).
        int xa = pl - j > 0 ? (pl - j + s - 1) / s : 0;
        int xb = (w - 1 + pl - j) / s + 1;
        if (w - 1 + pl - j < 0) xb = 0;
        if (xb > wo) xb = wo;
        if (xa >= xb) continue;
        f32 *gt = g + (long)(i * kw + j) * cinp * coutp;
        for (int c = 0; c < cinp; c += 4) {
          int xcols = cin - c < 4 ? cin - c : 4;
          for (int k = 0; k < coutp; k += 8) {
            int kcols = cout - k < 8 ? cout - k : 8;
            f32 *gb = gt + (long)c * coutp + k;
            if (xcols == 4 && kcols == 8)
              tap_block(x, h, w, cin, dy, ho, wo, cout, s, i, j, pt, pl, xa, xb, b0, b1, c, 4, k, 8, gb, coutp);
            else
              tap_block(x, h, w, cin, dy, ho, wo, cout, s, i, j, pt, pl, xa, xb, b0, b1, c, xcols, k, kcols, gb,
                        coutp);
          }
        }
      }
  }
}

// dW[tap][c][k] (tfjs's HWIO filter layout) = Σ over the `parts` partial sums g (each
// taps·cinp·coutp floats, consecutive).
void conv_filter_grad_store(const f32 *g, int parts, int taps, int cin, int cout, f32 *dw) {
  int cinp = (cin + 3) & ~3, coutp = (cout + 7) & ~7;
  long part = (long)taps * cinp * coutp;
  for (int t = 0; t < taps; t++)
    for (int c = 0; c < cin; c++)
      for (int k = 0; k < cout; k++) {
        long at = ((long)t * cinp + c) * coutp + k;
        f32 v = g[at];
        for (int p = 1; p < parts; p++) v += g[p * part + at];
        dw[((long)t * cin + c) * cout + k] = v;
      }
}
