// 3×3 stride-1 convolutions by Winograd's minimal filtering F(m×m, 3×3) (Lavin & Gray, 2015), on
// NHWC float32 data in the tfjs WASM backend's memory. An output tile of m×m pixels comes from an
// input tile of α×α (α = m + 2) as  Y = Aᵀ [ Σ_c (G g Gᵀ) ⊙ (Bᵀ d B) ] A : α² products per channel
// pair instead of 9·m², i.e. 4× fewer for F(4×4, 3×3) and 2.25× fewer for F(2×2, 3×3).
//
// Per block of tiles: the input transform writes V[ξ][tile][c] (ξ < α² the position in the
// transformed tile), then α² matrix products M[ξ] = V[ξ] · U[ξ] on the 4×8 micro-kernel (U the
// transformed filter, packed once per weight), then the output transform reads M[ξ][tile][k],
// adds bias and residual, applies ReLU and writes the output. Sums over channels run in chunks of
// `kc` (products summed in float32 per chunk, chunks added): the transforms amplify rounding in M
// (Aᵀ has entries up to 8), and short sums keep F(4×4, 3×3) within 4e-6 of float64 where one long
// sum reaches 1e-5 at 512 channels.
//
// The weight gradient of a 3×3 stride-1 convolution is the same algorithm with the roles of filter
// and output exchanged: per m×m tile of dy and the α×α patch of x it saw, the 3×3 correlation
// F(3×3, m×m) is  dW += G ᵀ[ (A g Aᵀ) ⊙ (Bᵀ d B) ] G  (g the dy tile): the sum over tiles and
// images is α² matrix products V[ξ]ᵀ·Ĝ[ξ] with a long reduction, transformed back once at the end.
#include "gemm.h"

#define ADD wasm_f32x4_add
#define SUB wasm_f32x4_sub
#define MUL wasm_f32x4_mul
#define SPLAT wasm_f32x4_splat

// Input transform Bᵀ d along one line of α values, F(4×4, 3×3) (points 0, ±1, ±2, ∞).
#define BT4(d0, d1, d2, d3, d4, d5, r0, r1, r2, r3, r4, r5)       \
  do {                                                             \
    v128_t four = SPLAT(4.f), five = SPLAT(5.f), two = SPLAT(2.f); \
    r0 = ADD(SUB(MUL(four, d0), MUL(five, d2)), d4);               \
    r1 = SUB(ADD(d3, d4), MUL(four, ADD(d1, d2)));                 \
    r2 = ADD(SUB(d4, d3), MUL(four, SUB(d1, d2)));                 \
    r3 = ADD(SUB(d4, d2), MUL(two, SUB(d3, d1)));                  \
    r4 = SUB(SUB(d4, d2), MUL(two, SUB(d3, d1)));                  \
    r5 = ADD(SUB(MUL(four, d1), MUL(five, d3)), d5);               \
  } while (0)

// Output transform Aᵀ m along one line, F(4×4, 3×3): 6 values → 4.
#define AT4(m0, m1, m2, m3, m4, m5, o0, o1, o2, o3) \
  do {                                              \
    v128_t s12 = ADD(m1, m2), d12 = SUB(m1, m2);    \
    v128_t s34 = ADD(m3, m4), d34 = SUB(m3, m4);    \
    o0 = ADD(ADD(m0, s12), s34);                    \
    o1 = ADD(d12, MUL(SPLAT(2.f), d34));            \
    o2 = ADD(s12, MUL(SPLAT(4.f), s34));            \
    o3 = ADD(ADD(d12, MUL(SPLAT(8.f), d34)), m5);   \
  } while (0)

// F(2×2, 3×3): Bᵀ d (4 → 4) and Aᵀ m (4 → 2).
#define BT2(d0, d1, d2, d3, r0, r1, r2, r3) \
  do {                                      \
    r0 = SUB(d0, d2);                       \
    r1 = ADD(d1, d2);                       \
    r2 = SUB(d2, d1);                       \
    r3 = SUB(d1, d3);                       \
  } while (0)
#define AT2(m0, m1, m2, m3, o0, o1) \
  do {                              \
    o0 = ADD(ADD(m0, m1), m2);      \
    o1 = SUB(SUB(m1, m2), m3);      \
  } while (0)

// G (α × 3) of F(m×m, 3×3): the filter transform, and (transposed) the weight gradient's output
// transform. F(4×4): rows (1/4, 0, 0), −(1, 1, 1)/6, −(1, −1, 1)/6, (1/24, 1/12, 1/6),
// (1/24, −1/12, 1/6), (0, 0, 1); F(2×2): (1, 0, 0), (1, 1, 1)/2, (1, −1, 1)/2, (0, 0, 1).
static inline double g_coef(int m, int a, int i) {
  if (m == 4) {
    switch (a) {
      case 0: return i == 0 ? 0.25 : 0.0;
      case 1: return -1.0 / 6;
      case 2: return i == 1 ? 1.0 / 6 : -1.0 / 6;
      case 3: return i == 0 ? 1.0 / 24 : i == 1 ? 1.0 / 12 : 1.0 / 6;
      case 4: return i == 0 ? 1.0 / 24 : i == 1 ? -1.0 / 12 : 1.0 / 6;
      default: return i == 2 ? 1.0 : 0.0;
    }
  }
  switch (a) {
    case 0: return i == 0 ? 1.0 : 0.0;
    case 1: return 0.5;
    case 2: return i == 1 ? -0.5 : 0.5;
    default: return i == 2 ? 1.0 : 0.0;
  }
}

// Filter transform G g Gᵀ in double precision: g[i][j] (3×3) → u[a][b] (α×α). tmp: 3α doubles.
static void filter_tile(int m, const double *g, double *tmp, double *u) {
  int alpha = m + 2;
  for (int a = 0; a < alpha; a++)
    for (int j = 0; j < 3; j++)
      tmp[a * 3 + j] = g_coef(m, a, 0) * g[j] + g_coef(m, a, 1) * g[3 + j] + g_coef(m, a, 2) * g[6 + j];
  for (int a = 0; a < alpha; a++)
    for (int b = 0; b < alpha; b++)
      u[a * alpha + b] = tmp[a * 3] * g_coef(m, b, 0) + tmp[a * 3 + 1] * g_coef(m, b, 1) + tmp[a * 3 + 2] * g_coef(m, b, 2);
}

// Transformed filter U[ξ][k/8][c][8] (ξ < α², c < cinp = cin rounded up to 4, k < cout rounded up
// to 8, zero-padded) of a 3×3 filter in tfjs's HWIO layout w[3][3][cin][cout]. With `flip`, the
// filter of the input gradient instead: w'[i][j][o][c] = w[2−i][2−j][c][o] (cin and cout are then
// w's cout and cin). work: 9 + 3α + α² doubles.
void winograd_filter(int m, const f32 *w, int cin, int cout, int flip, f32 *u, double *work) {
  int alpha = m + 2, xi = alpha * alpha;
  int cinp = (cin + 3) & ~3, panels = (cout + 7) / 8;
  double *g = work, *tmp = work + 9, *t = tmp + 3 * alpha;
  // Source strides: the filter's own layout is [3][3][wcin][wcout].
  int wcout = flip ? cin : cout;
  for (int c = 0; c < cinp; c++) {
    for (int k = 0; k < panels * 8; k++) {
      if (c < cin && k < cout) {
        for (int i = 0; i < 3; i++)
          for (int j = 0; j < 3; j++) {
            long src = flip ? (((long)(2 - i) * 3 + (2 - j)) * cout + k) * wcout + c
                            : (((long)i * 3 + j) * cin + c) * wcout + k;
            g[i * 3 + j] = w[src];
          }
        filter_tile(m, g, tmp, t);
      } else {
        for (int e = 0; e < xi; e++) t[e] = 0.0;
      }
      for (int e = 0; e < xi; e++) u[(((long)e * panels + k / 8) * cinp + c) * 8 + (k & 7)] = (f32)t[e];
    }
  }
}

// Input transform of one tile (α×α pixels from (y0, x0), zero outside [0, h) × [0, w)) for all
// channels, into V[ξ][row][·] (ξ stride `xs` floats). tmp: α² vectors.
static inline __attribute__((always_inline)) void input_tile(int m, const f32 *img, int h, int w, int cin, int y0, int x0, f32 *v, long xs, f32 *tmp) {
  int alpha = m + 2;
  int inside = y0 >= 0 && x0 >= 0 && y0 + alpha <= h && x0 + alpha <= w;
  v128_t z = SPLAT(0.f);
  for (int c = 0; c < cin; c += 4) {
    int n = cin - c < 4 ? cin - c : 4;
    // Rows: t[i][·] = Bᵀ applied along row i of the patch.
    for (int i = 0; i < alpha; i++) {
      int y = y0 + i;
      v128_t d[6];
      if (inside) {
        const f32 *p = img + ((long)y * w + x0) * cin + c;
        for (int j = 0; j < alpha; j++) d[j] = n == 4 ? wasm_v128_load(p + (long)j * cin) : load_upto4(p + (long)j * cin, n);
      } else {
        for (int j = 0; j < alpha; j++) {
          int x = x0 + j;
          d[j] = (y < 0 || y >= h || x < 0 || x >= w) ? z : load_upto4(img + ((long)y * w + x) * cin + c, n);
        }
      }
      v128_t *o = (v128_t *)tmp + i * alpha;
      if (m == 4)
        BT4(d[0], d[1], d[2], d[3], d[4], d[5], o[0], o[1], o[2], o[3], o[4], o[5]);
      else
        BT2(d[0], d[1], d[2], d[3], o[0], o[1], o[2], o[3]);
    }
    // Columns: V[a·α + j] = Bᵀ applied along column j.
    for (int j = 0; j < alpha; j++) {
      const v128_t *t = (const v128_t *)tmp + j;
      v128_t r[6];
      if (m == 4)
        BT4(t[0], t[alpha], t[2 * alpha], t[3 * alpha], t[4 * alpha], t[5 * alpha], r[0], r[1], r[2], r[3], r[4],
            r[5]);
      else
        BT2(t[0], t[alpha], t[2 * alpha], t[3 * alpha], r[0], r[1], r[2], r[3]);
      for (int a = 0; a < alpha; a++) wasm_v128_store(v + (long)(a * alpha + j) * xs + c, r[a]);
    }
  }
}

// Output transform of one tile: M[ξ][row][·] (ξ stride `xs`) → the m×m pixels from (y0, x0) that
// lie inside [0, ho) × [0, wo), + bias, + residual, ReLU. tmp: α·m vectors.
static inline __attribute__((always_inline)) void output_tile(int m, const f32 *mm, long xs, int cout, int ho, int wo, int y0, int x0, const f32 *bias,
                        const f32 *res, int relu, f32 *out, f32 *tmp) {
  int alpha = m + 2;
  int rows = ho - y0 < m ? ho - y0 : m, cols = wo - x0 < m ? wo - x0 : m;
  v128_t z = SPLAT(0.f);
  for (int k = 0; k < cout; k += 4) {
    int n = cout - k < 4 ? cout - k : 4;
    // Rows of the α×α tile: t[a][·] = Aᵀ along row a.
    for (int a = 0; a < alpha; a++) {
      const f32 *p = mm + (long)(a * alpha) * xs + k;
      v128_t *o = (v128_t *)tmp + a * m;
      if (m == 4)
        AT4(wasm_v128_load(p), wasm_v128_load(p + xs), wasm_v128_load(p + 2 * xs), wasm_v128_load(p + 3 * xs),
            wasm_v128_load(p + 4 * xs), wasm_v128_load(p + 5 * xs), o[0], o[1], o[2], o[3]);
      else
        AT2(wasm_v128_load(p), wasm_v128_load(p + xs), wasm_v128_load(p + 2 * xs), wasm_v128_load(p + 3 * xs), o[0],
            o[1]);
    }
    v128_t b = bias ? load_upto4(bias + k, n) : z;
    for (int j = 0; j < cols; j++) {
      const v128_t *t = (const v128_t *)tmp + j;
      v128_t r0, r1, r2 = z, r3 = z;
      if (m == 4)
        AT4(t[0], t[m], t[2 * m], t[3 * m], t[4 * m], t[5 * m], r0, r1, r2, r3);
      else
        AT2(t[0], t[m], t[2 * m], t[3 * m], r0, r1);
      for (int i = 0; i < rows; i++) {
        long at = ((long)(y0 + i) * wo + x0 + j) * cout + k;
        v128_t v = ADD(i == 0 ? r0 : i == 1 ? r1 : i == 2 ? r2 : r3, b);
        if (res) v = ADD(v, n == 4 ? wasm_v128_load(res + at) : load_upto4(res + at, n));
        if (relu) v = wasm_f32x4_max(v, z);
        if (n == 4)
          wasm_v128_store(out + at, v);
        else
          store_upto4(out + at, v, n);
      }
    }
  }
}

// Tiles per block (a multiple of 4) for `tiles` tiles in all. V and M of a block (α²·tb·(cinp +
// coutp) floats) should stay in about half of a 1 MB L2; but U is read once per block, so when U
// outweighs the transformed tiles (many channels, few tiles) one block takes all of them.
int winograd_block_tiles(int m, int cin, int cout, int tiles) {
  int alpha = m + 2;
  long cinp = (cin + 3) & ~3, coutp = (cout + 7) & ~7;
  long per_tile = (long)alpha * alpha * (cinp + coutp) * 4;
  long filter = (long)alpha * alpha * cinp * coutp * 4;
  long tb = (512 * 1024) / per_tile;
  if ((long)tiles * per_tile <= 2 * filter) tb = tiles;
  if (tb < 4) tb = 4;
  if (tb > 256) tb = 256;
  return (int)((tb + 3) & ~3);
}

// Floats between consecutive ξ in V (rows of `width` floats, tb rows): padded by 64 bytes when a
// multiple of 1 kB, so that the α² rows the transforms touch together do not share cache sets.
static inline long xi_stride(int tb, int width) {
  long s = (long)tb * width;
  return (s & 255) == 0 ? s + 16 : s;
}

// Scratch floats winograd_conv needs for blocks of tb tiles.
long winograd_scratch(int m, int cin, int cout, int tb) {
  int alpha = m + 2;
  return alpha * alpha * (xi_stride(tb, (cin + 3) & ~3) + xi_stride(tb, (cout + 7) & ~7)) + 4 * alpha * alpha;
}

// y[b][oy][ox][k] = Σ_{i,j,c} x[b][oy + i − pt][ox + j − pl][c]·w[i][j][c][k] (+ bias[k])
// (+ res[b][oy][ox][k]) (ReLU), for the tiles [t0, t1) of the n·⌈ho/m⌉·⌈wo/m⌉ tiles, with U from
// winograd_filter. `kc`: channels per partial sum (a multiple of 4). work: winograd_scratch floats.
static inline __attribute__((always_inline)) void conv_tiles(int m, const f32 *x, int n, int h, int w, int cin, const f32 *u, int cout, int pt, int pl, int ho,
                   int wo, const f32 *bias, const f32 *res, int relu, f32 *y, int tb, int kc, int t0, int t1,
                   f32 *work) {
  int alpha = m + 2, xi = alpha * alpha;
  int cinp = (cin + 3) & ~3, coutp = (cout + 7) & ~7, panels = coutp / 8;
  int th = (ho + m - 1) / m, tw = (wo + m - 1) / m, per_image = th * tw;
  long vs = xi_stride(tb, cinp), ms = xi_stride(tb, coutp);  // ξ strides in V and M
  f32 *v = work, *mm = v + xi * vs, *tmp = mm + xi * ms;
  for (int b0 = t0; b0 < t1; b0 += tb) {
    int count = t1 - b0 < tb ? t1 - b0 : tb;
    int rows4 = (count + 3) & ~3;
    for (int r = 0; r < count; r++) {
      int t = b0 + r, img = t / per_image, ty = (t % per_image) / tw, tx = t % tw;
      input_tile(m, x + (long)img * h * w * cin, h, w, cin, ty * m - pt, tx * m - pl, v + (long)r * cinp, vs, tmp);
    }
    for (int r = count; r < rows4; r++)
      for (int e = 0; e < xi; e++)
        for (int c = 0; c < cinp; c += 4) wasm_v128_store(v + e * vs + (long)r * cinp + c, SPLAT(0.f));
    for (int e = 0; e < xi; e++) {
      const f32 *ve = v + e * vs;
      f32 *me = mm + e * ms;
      const f32 *ue = u + (long)e * panels * cinp * 8;
      for (int c0 = 0; c0 < cinp; c0 += kc) {
        int k = cinp - c0 < kc ? cinp - c0 : kc;
        for (int p = 0; p < panels; p++) {
          const f32 *bp = ue + ((long)p * cinp + c0) * 8;
          for (int r = 0; r < rows4; r += 4) {
            const f32 *a = ve + (long)r * cinp + c0;
            f32 *c = me + (long)r * coutp + p * 8;
            gemm_4x8(k, a, a + cinp, a + 2 * cinp, a + 3 * cinp, bp, c, c + coutp, c + 2 * coutp, c + 3 * coutp, 8,
                     c0 > 0, 0, 0, 0, 0, 0, 0);
          }
        }
      }
    }
    for (int r = 0; r < count; r++) {
      int t = b0 + r, img = t / per_image, ty = (t % per_image) / tw, tx = t % tw;
      long off = (long)img * ho * wo * cout;
      output_tile(m, mm + (long)r * coutp, ms, cout, ho, wo, ty * m, tx * m, bias, res ? res + off : 0, relu, y + off,
                  tmp);
    }
  }
}

void winograd_conv(int m, const f32 *x, int n, int h, int w, int cin, const f32 *u, int cout, int pt, int pl, int ho,
                   int wo, const f32 *bias, const f32 *res, int relu, f32 *y, int tb, int kc, int t0, int t1,
                   f32 *work) {
  if (m == 4)
    conv_tiles(4, x, n, h, w, cin, u, cout, pt, pl, ho, wo, bias, res, relu, y, tb, kc, t0, t1, work);
  else
    conv_tiles(2, x, n, h, w, cin, u, cout, pt, pl, ho, wo, bias, res, relu, y, tb, kc, t0, t1, work);
}

// The transform of an m×m tile of dy along one line, A g (m values → α), F(4×4, 3×3) and F(2×2, 3×3).
#define A4(g0, g1, g2, g3, r0, r1, r2, r3, r4, r5)                           \
  do {                                                                       \
    v128_t s02 = ADD(g0, g2), s13 = ADD(g1, g3);                             \
    v128_t q02 = ADD(g0, MUL(SPLAT(4.f), g2)), q13 = ADD(MUL(SPLAT(2.f), g1), MUL(SPLAT(8.f), g3)); \
    r0 = g0;                                                                 \
    r1 = ADD(s02, s13);                                                      \
    r2 = SUB(s02, s13);                                                      \
    r3 = ADD(q02, q13);                                                      \
    r4 = SUB(q02, q13);                                                      \
    r5 = g3;                                                                 \
  } while (0)
#define A2(g0, g1, r0, r1, r2, r3)     \
  do {                                 \
    r0 = g0;                           \
    r1 = ADD(g0, g1);                  \
    r2 = SUB(g0, g1);                  \
    r3 = SUB(SPLAT(0.f), g1);          \
  } while (0)

// Transform of one dy tile (m×m pixels from (y0, x0), zero outside [0, ho) × [0, wo)) for all
// channels, into Ĝ[ξ][row][·] (ξ stride `xs`). tmp: α·m vectors.
static inline __attribute__((always_inline)) void grad_tile(int m, const f32 *img, int ho, int wo, int cout, int y0,
                                                            int x0, f32 *g, long xs, f32 *tmp) {
  int alpha = m + 2;
  int inside = y0 + m <= ho && x0 + m <= wo;
  v128_t z = SPLAT(0.f);
  for (int k = 0; k < cout; k += 4) {
    int n = cout - k < 4 ? cout - k : 4;
    // Rows of the tile: t[u][·] = A along row u (m → α).
    for (int u = 0; u < m; u++) {
      int y = y0 + u;
      v128_t d0, d1, d2 = z, d3 = z;
      const f32 *p = img + ((long)y * wo + x0) * cout + k;
      if (inside && n == 4) {
        d0 = wasm_v128_load(p);
        d1 = wasm_v128_load(p + cout);
        if (m == 4) {
          d2 = wasm_v128_load(p + 2 * cout);
          d3 = wasm_v128_load(p + 3 * cout);
        }
      } else {
        int rowin = y < ho;
        d0 = rowin && x0 < wo ? load_upto4(p, n) : z;
        d1 = rowin && x0 + 1 < wo ? load_upto4(p + cout, n) : z;
        if (m == 4) {
          d2 = rowin && x0 + 2 < wo ? load_upto4(p + 2 * cout, n) : z;
          d3 = rowin && x0 + 3 < wo ? load_upto4(p + 3 * cout, n) : z;
        }
      }
      v128_t *o = (v128_t *)tmp + u * alpha;
      if (m == 4)
        A4(d0, d1, d2, d3, o[0], o[1], o[2], o[3], o[4], o[5]);
      else
        A2(d0, d1, o[0], o[1], o[2], o[3]);
    }
    // Columns: Ĝ[a·α + b] = A along column b (m → α).
    for (int b = 0; b < alpha; b++) {
      const v128_t *t = (const v128_t *)tmp + b;
      v128_t r0, r1, r2, r3, r4 = z, r5 = z;
      if (m == 4)
        A4(t[0], t[alpha], t[2 * alpha], t[3 * alpha], r0, r1, r2, r3, r4, r5);
      else
        A2(t[0], t[alpha], r0, r1, r2, r3);
      wasm_v128_store(g + (long)(0 * alpha + b) * xs + k, r0);
      wasm_v128_store(g + (long)(1 * alpha + b) * xs + k, r1);
      wasm_v128_store(g + (long)(2 * alpha + b) * xs + k, r2);
      wasm_v128_store(g + (long)(3 * alpha + b) * xs + k, r3);
      if (m == 4) {
        wasm_v128_store(g + (long)(4 * alpha + b) * xs + k, r4);
        wasm_v128_store(g + (long)(5 * alpha + b) * xs + k, r5);
      }
    }
  }
}

static inline __attribute__((always_inline)) void grad_tiles(int m, const f32 *x, int h, int w, int cin,
                                                             const f32 *dy, int ho, int wo, int cout, int pt, int pl,
                                                             int tb, int t0, int t1, f32 *acc, f32 *work) {
  int alpha = m + 2, xi = alpha * alpha;
  int cinp = (cin + 3) & ~3, coutp = (cout + 7) & ~7;
  int th = (ho + m - 1) / m, tw = (wo + m - 1) / m, per_image = th * tw;
  long vs = xi_stride(tb, cinp), gs = xi_stride(tb, coutp);
  f32 *v = work, *g = v + xi * vs, *tmp = g + xi * gs;
  for (int b0 = t0; b0 < t1; b0 += tb) {
    int count = t1 - b0 < tb ? t1 - b0 : tb;
    for (int r = 0; r < count; r++) {
      int t = b0 + r, img = t / per_image, ty = (t % per_image) / tw, tx = t % tw;
      input_tile(m, x + (long)img * h * w * cin, h, w, cin, ty * m - pt, tx * m - pl, v + (long)r * cinp, vs, tmp);
      grad_tile(m, dy + (long)img * ho * wo * cout, ho, wo, cout, ty * m, tx * m, g + (long)r * coutp, gs, tmp);
      // Channels past cout (to the panel's width) are read by the product: zero them.
      for (int e = 0; e < xi; e++)
        for (int k = (cout + 3) & ~3; k < coutp; k += 4) wasm_v128_store(g + e * gs + (long)r * coutp + k, SPLAT(0.f));
    }
    // acc[ξ][c][k] += Σ_{tiles} V[ξ][tile][c] · Ĝ[ξ][tile][k]
    for (int e = 0; e < xi; e++) {
      const f32 *ve = v + e * vs, *ge = g + e * gs;
      f32 *ae = acc + (long)e * cinp * coutp;
      for (int c = 0; c < cinp; c += 4)
        for (int k = 0; k < coutp; k += 8) {
          GEMM_4x8_ZERO();
          const f32 *a = ve + c, *b = ge + k;
          for (int r = 0; r < count; r++) {
            v128_t va = wasm_v128_load(a), b0 = wasm_v128_load(b), b1 = wasm_v128_load(b + 4);
            OUTER_4x8_STEP(va, b0, b1);
            a += cinp;
            b += coutp;
          }
          f32 *o = ae + (long)c * coutp + k;
          gemm_4x8_finish(c00, c01, c10, c11, c20, c21, c30, c31, o, o + coutp, o + 2 * coutp, o + 3 * coutp, 8, 1,
                          0, 0, 0, 0, 0, 0);
        }
    }
  }
}

// acc[ξ][c][k] (ξ < 36, c < cinp, k < coutp; start zeroed) += the transformed weight gradient's sums
// over the dy tiles [t0, t1) of the n·⌈ho/4⌉·⌈wo/4⌉ (x: [n][h][w][cin], dy: [n][ho][wo][cout],
// padding pt, pl of the forward convolution), by F(3×3, 4×4) (F(3×3, 2×2) was never faster).
// work: winograd_scratch floats.
void winograd_filter_grad(const f32 *x, int h, int w, int cin, const f32 *dy, int ho, int wo, int cout, int pt, int pl,
                          int tb, int t0, int t1, f32 *acc, f32 *work) {
  grad_tiles(4, x, h, w, cin, dy, ho, wo, cout, pt, pl, tb, t0, t1, acc, work);
}

// dW[i][j][c][k] = Σ_{a, b} G[a][i]·G[b][j]·Σ_parts acc[a·α + b][c][k] (in double), tfjs's HWIO
// layout. work: α² doubles.
void winograd_filter_grad_store(int m, const f32 *acc, int parts, int cin, int cout, f32 *dw, double *work) {
  int alpha = m + 2, xi = alpha * alpha;
  int cinp = (cin + 3) & ~3, coutp = (cout + 7) & ~7;
  long part = (long)xi * cinp * coutp;
  for (int c = 0; c < cin; c++)
    for (int k = 0; k < cout; k++) {
      for (int e = 0; e < xi; e++) {
        double v = 0;
        for (int p = 0; p < parts; p++) v += acc[p * part + ((long)e * cinp + c) * coutp + k];
        work[e] = v;
      }
      for (int i = 0; i < 3; i++)
        for (int j = 0; j < 3; j++) {
          double sum = 0;
          for (int a = 0; a < alpha; a++) {
            double row = 0;
            for (int b = 0; b < alpha; b++) row += g_coef(m, b, j) * work[a * alpha + b];
            sum += g_coef(m, a, i) * row;
          }
          dw[(((long)i * 3 + j) * cin + c) * cout + k] = (f32)sum;
        }
    }
}
