// Convolutions as implicit matrix products on NHWC float32 data in the tfjs WASM backend's memory:
// output pixels are the rows, output channels the columns, and the filter (tfjs's HWIO layout is
// already a K × cout matrix, K = kh·kw·cin) the packed B. Each row of A is a pixel's receptive
// field, read in place through one pointer per filter tap (an indirection buffer, as XNNPACK's
// IGEMM; taps in the padding point at zeros), so nothing like im2col is materialised. 1×1
// convolutions (ResNet's bottleneck and projection shortcuts, strided or not) are the main case.
//
// The input gradient of a strided convolution is one too, split by output phase: the pixels
// (py + s·a, px + s·b) of dx take only the taps i ≡ py + pt, j ≡ px + pl (mod s), each reading one
// pixel of dy, so each of the s² phases is a small stride-1 convolution of dy (for 3×3 stride 2:
// 1×1, 1×2, 2×1 and 2×2 taps) with its part of the filter, transposed.
#include "gemm.h"

// Rows per block: the block's receptive fields (rows · K floats) stay in L2 while every panel of
// the filter passes over them.
int conv_gemm_block_rows(int k) {
  int rows = 32768 / k;
  if (rows < 64) rows = 64;
  if (rows > 512) rows = 512;
  return rows & ~3;
}

// The rows [0, count) of a block: row r reads tap t's `depth` floats at ind[r·taps + t] and writes
// its `cols` outputs at out[r] (+ bias, + residual res[r] when res, ReLU). B is either packed in
// panels ([⌈cols/8⌉][K][8], `panel` null) or a K × cols matrix (tfjs's HWIO filter itself), whose
// panels are packed into `panel` (K·8 floats) one at a time: a copy per block of rows, small beside
// the products, and no second copy of the weights. Missing rows of the last group of 4 read row 0
// and write to `trash` (8 floats).
static void block_product(int count, int taps, int depth, const f32 **ind, f32 **out, const f32 **res, const f32 *b,
                          int cols, const f32 *bias, int relu, f32 *trash, f32 *panel) {
  int panels = (cols + 7) / 8;
  long k = (long)taps * depth;
  for (int pn = 0; pn < panels; pn++) {
    int width = cols - pn * 8 < 8 ? cols - pn * 8 : 8;
    const f32 *bp = b + pn * k * 8;
    if (panel) {
      f32 *q = panel;
      const f32 *src = b + pn * 8;
      if (width == 8) {
        for (long row = 0; row < k; row++, q += 8, src += cols) {
          wasm_v128_store(q, wasm_v128_load(src));
          wasm_v128_store(q + 4, wasm_v128_load(src + 4));
        }
      } else {
        for (long row = 0; row < k; row++, q += 8, src += cols)
          for (int j = 0; j < 8; j++) q[j] = j < width ? src[j] : 0.f;
      }
      bp = panel;
    }
    const f32 *bs = bias ? bias + pn * 8 : 0;
    for (int r = 0; r < count; r += 4) {
      int q1 = r + 1 < count ? r + 1 : r, q2 = r + 2 < count ? r + 2 : r, q3 = r + 3 < count ? r + 3 : r;
      const f32 **i0 = ind + r * taps, **i1 = ind + q1 * taps, **i2 = ind + q2 * taps, **i3 = ind + q3 * taps;
      f32 *c0 = out[r] + pn * 8;
      f32 *c1 = q1 > r ? out[q1] + pn * 8 : trash, *c2 = q2 > r ? out[q2] + pn * 8 : trash;
      f32 *c3 = q3 > r ? out[q3] + pn * 8 : trash;
      const f32 *s0 = 0, *s1 = 0, *s2 = 0, *s3 = 0;
      if (res) {
        s0 = res[r] + pn * 8;
        s1 = q1 > r ? res[q1] + pn * 8 : trash;
        s2 = q2 > r ? res[q2] + pn * 8 : trash;
        s3 = q3 > r ? res[q3] + pn * 8 : trash;
      }
      const f32 *bb = bp;
      GEMM_4x8_ZERO();
      for (int t = 0; t < taps; t++) GEMM_4x8_STEPS(depth, i0[t], i1[t], i2[t], i3[t], bb);
      gemm_4x8_finish(c00, c01, c10, c11, c20, c21, c30, c31, c0, c1, c2, c3, width, 0, bs, s0, s1, s2, s3, relu);
    }
  }
}

// Scratch bytes conv_gemm and conv_transposed need per thread: a block's indirection buffer (rows ·
// taps pointers), its output and residual rows (2 · rows pointers), 8 floats of trash, one packed
// panel (K · 8 floats).
int conv_gemm_scratch_bytes(int k, int taps) { return 4 * conv_gemm_block_rows(k) * (taps + 2) + 32 + 32 * k; }

// y[p][·] for output pixels p ∈ [p0, p1) (p = (b·ho + oy)·wo + ox) of the convolution of x
// [n][h][w][cin] with tfjs's HWIO filter, stride (sh, sw), padding (pt, pl) in front, + bias,
// + res (same layout as y), ReLU. Scratch: conv_gemm_scratch_bytes, and zero (cin zeros).
void conv_gemm(const f32 *x, int n, int h, int w, int cin, int kh, int kw, int sh, int sw, int pt, int pl,
               const f32 *filter, int cout, int ho, int wo, const f32 *bias, const f32 *res, int relu, f32 *y, int p0,
               int p1, const f32 *zero, void *scratch) {
  (void)n;
  int taps = kh * kw, mb = conv_gemm_block_rows(taps * cin);
  const f32 **ind = (const f32 **)scratch;
  f32 **out = (f32 **)(ind + mb * taps);
  const f32 **rows = (const f32 **)(out + mb);
  f32 *trash = (f32 *)(rows + mb), *panel = trash + 8;
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
      out[r] = y + (long)p * cout;
      if (res) rows[r] = res + (long)p * cout;
    }
    block_product(count, taps, cin, ind, out, res ? rows : 0, filter, cout, bias, relu, trash, panel);
  }
}

// The taps of phase q (< s) along one axis of a kernel of size k with padding p: i ≡ q + p (mod s).
static inline int phase_taps(int k, int s, int p, int q) {
  int count = 0;
  for (int i = 0; i < k; i++)
    if (((q + p - i) % s + s) % s == 0) count++;
  return count;
}

// Floats of the filter packed for conv_transposed: per phase, [⌈cin/8⌉][taps·cout][8].
long conv_transposed_packed_floats(int kh, int kw, int cin, int cout, int s, int pt, int pl) {
  long total = 0;
  for (int py = 0; py < s; py++)
    for (int px = 0; px < s; px++)
      total += (long)phase_taps(kh, s, pt, py) * phase_taps(kw, s, pl, px) * cout * ((cin + 7) & ~7);
  return total;
}

// Packs w[kh][kw][cin][cout] for the input gradient: for each phase (py, px) in order, the matrix
// whose row (tap, k) and column c hold w[i][j][c][k], in panels of 8 columns.
void conv_transposed_pack(const f32 *w, int kh, int kw, int cin, int cout, int s, int pt, int pl, f32 *out) {
  for (int py = 0; py < s; py++)
    for (int px = 0; px < s; px++) {
      int taps = phase_taps(kh, s, pt, py) * phase_taps(kw, s, pl, px);
      long depth = (long)taps * cout;
      for (int c0 = 0; c0 < cin; c0 += 8) {
        for (int i = 0; i < kh; i++) {
          if (((py + pt - i) % s + s) % s) continue;
          for (int j = 0; j < kw; j++) {
            if (((px + pl - j) % s + s) % s) continue;
            for (int k = 0; k < cout; k++) {
              for (int q = 0; q < 8; q++)
                out[q] = c0 + q < cin ? w[(((long)i * kw + j) * cin + c0 + q) * cout + k] : 0.f;
              out += 8;
            }
          }
        }
      }
      (void)depth;
    }
}

// dx for the pixels [q0, q1) of the phase-major order (phase (py, px), then image, row, column
// within the phase) of the input gradient of a convolution with stride s, padding (pt, pl):
// dx[b][y][x][c] = Σ_{i, j, k} dy[b][(y + pt − i)/s][(x + pl − j)/s][k] · w[i][j][c][k] over the
// taps where the division is exact. Scratch as conv_gemm (zero: cout zeros).
void conv_transposed(const f32 *dy, int n, int ho, int wo, int cout, const f32 *packed, int cin, int h, int w, int kh,
                     int kw, int s, int pt, int pl, f32 *dx, int q0, int q1, const f32 *zero, void *scratch) {
  int mb = conv_gemm_block_rows(kh * kw * cout);
  const f32 **ind = (const f32 **)scratch;
  f32 **out = (f32 **)(ind + mb * kh * kw);
  f32 *trash = (f32 *)(out + 2 * mb);
  long start = 0;        // first phase-major index of this phase
  const f32 *bp = packed;  // this phase's packed filter
  for (int py = 0; py < s; py++)
    for (int px = 0; px < s; px++) {
      int th = phase_taps(kh, s, pt, py), tw = phase_taps(kw, s, pl, px), taps = th * tw;
      int rows = (h - py + s - 1) / s, cols = (w - px + s - 1) / s;
      long count = (long)n * rows * cols;
      long lo = q0 > start ? q0 - start : 0, hi = q1 - start < count ? q1 - start : count;
      for (long b0 = lo; b0 < hi; b0 += mb) {
        int nb = hi - b0 < mb ? (int)(hi - b0) : mb;
        for (int r = 0; r < nb; r++) {
          long p = b0 + r;
          int img = (int)(p / ((long)rows * cols)), a = (int)((p / cols) % rows), bcol = (int)(p % cols);
          int t = 0;
          for (int i = 0; i < kh; i++) {
            if (((py + pt - i) % s + s) % s) continue;
            int oy = a + (py + pt - i) / s;
            for (int j = 0; j < kw; j++) {
              if (((px + pl - j) % s + s) % s) continue;
              int ox = bcol + (px + pl - j) / s;
              ind[r * taps + t++] = (oy < 0 || oy >= ho || ox < 0 || ox >= wo)
                                        ? zero
                                        : dy + (((long)img * ho + oy) * wo + ox) * cout;
            }
          }
          out[r] = dx + (((long)img * h + py + (long)s * a) * w + px + (long)s * bcol) * cin;
        }
        if (taps > 0) {
          block_product(nb, taps, cout, ind, out, 0, bp, cin, 0, 0, trash, 0);
        } else {
          for (int r = 0; r < nb; r++)
            for (int c = 0; c < cin; c++) out[r][c] = 0.f;
        }
      }
      start += count;
      bp += (long)taps * cout * ((cin + 7) & ~7);
    }
}
