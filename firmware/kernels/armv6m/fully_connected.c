/* FULLY_CONNECTED for Armv6-M (Cortex-M0/M0+). Same results as ref/fully_connected.c:
 * the input offset comes folded into a host-computed bias, the dot product is unrolled by
 * four, and requantization multiplies in 16-bit halves instead of calling __aeabi_lmul. */
#include "hb_kernels.h"
#include "hb_fixedpoint.h"
#include "srdhm_v6m.h"

static int32_t requantize(int32_t acc, int32_t multiplier, int32_t shift) {
  const int32_t left = shift > 0 ? shift : 0;
  const int32_t right = shift > 0 ? 0 : -shift;
  return hb_rdbpot(hb_srdhm_v6m((int32_t)((uint32_t)acc << left), multiplier), right);
}

#define ROW_WORDS 64  /* rows up to this depth are widened to int32 once per row */

/* One unit's dot product plus its folded bias (offsets already in the bias). */
static int32_t dot(const int8_t *w, const int8_t *x, int32_t depth, int32_t acc) {
  const int8_t *end = x + (depth & ~3);
  while (x != end) {
    acc += w[0] * x[0] + w[1] * x[1] + w[2] * x[2] + w[3] * x[3];
    w += 4;
    x += 4;
  }
  for (end += depth & 3; x != end; ++x, ++w) acc += *w * *x;
  return acc;
}

/* The window clamp and two 32-bit products in place of the 64-bit multiply; the window
 * also makes the output clamp unnecessary (see hb_fc_params.requant). */
static inline int8_t requantize_windowed(int32_t a, const int32_t *q) {
  int32_t x;
  if (a < q[0]) a = q[0];
  if (a > q[1]) a = q[1];
  x = a * q[2] + ((a * q[3]) >> q[4]) + (1 << 14);
  x += (x >> 31) & q[5];
  return (int8_t)((x + q[6]) >> q[7]);
}

/* Windowed requantization for small rows (depth % 4 == 0, at most ROW_WORDS, word-aligned
 * weight rows): the row is widened to int32 once, and each word load brings four weights,
 * because Thumb-1 LDRSB has only a register offset while LDR has an immediate one. */
static void fc_windowed_words(const hb_fc_params *p, const int8_t *input, int8_t *output) {
  const int32_t depth = p->depth, step = p->requant_stride;
  const int8_t *row = input, *const rows_end = input + p->rows * depth;
  int32_t wide[ROW_WORDS];
  int32_t *const wide_end = wide + depth;
  for (; row != rows_end; row += depth) {
    const uint32_t *w = (const uint32_t *)(const void *)p->weights;
    const int32_t *q = p->requant, *bias = p->folded_bias;
    int8_t *const out_end = output + p->units;
    {
      int32_t *d = wide;
      const int8_t *x = row;
      while (d != wide_end) *d++ = *x++;
    }
    for (; output != out_end; q += step) {
      const int32_t *x = wide;
      int32_t acc = *bias++;
      do {
        const uint32_t four = *w++;
        acc += (int32_t)(int8_t)four * x[0];
        acc += ((int32_t)(four << 16) >> 24) * x[1];
        acc += ((int32_t)(four << 8) >> 24) * x[2];
        acc += ((int32_t)four >> 24) * x[3];
        x += 4;
      } while (x != wide_end);
      *output++ = requantize_windowed(acc, q);
    }
  }
}

/* Windowed requantization, any depth. */
static void fc_windowed(const hb_fc_params *p, const int8_t *input, int8_t *output) {
  const int32_t depth = p->depth, step = p->requant_stride;
  int32_t r, u;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *row = input + r * depth;
    const int8_t *w = p->weights;
    const int32_t *q = p->requant;
    for (u = 0; u < p->units; ++u, w += depth, q += step) {
      *output++ = requantize_windowed(dot(w, row, depth, p->folded_bias[u]), q);
    }
  }
}

hb_status hb_fully_connected_s8(const hb_fc_params *p, const int8_t *input, int8_t *output) {
  const int32_t depth = p->depth;
  if (p->requant && p->folded_bias && p->weights_offset == 0) {
    if (depth > 0 && (depth & 3) == 0 && depth <= ROW_WORDS &&
        ((uintptr_t)p->weights & 3u) == 0) {
      fc_windowed_words(p, input, output);
    } else {
      fc_windowed(p, input, output);
    }
    return HB_OK;
  }
  int32_t r, u, d;
  for (r = 0; r < p->rows; ++r) {
    const int8_t *row = input + r * depth;
    for (u = 0; u < p->units; ++u) {
      const int8_t *w = p->weights + u * depth;
      int32_t acc;
      if (p->folded_bias && p->weights_offset == 0) {
        acc = p->folded_bias[u];
        for (d = 0; d + 4 <= depth; d += 4) {
          acc += w[d] * row[d] + w[d + 1] * row[d + 1] + w[d + 2] * row[d + 2] +
                 w[d + 3] * row[d + 3];
        }
        for (; d < depth; ++d) acc += w[d] * row[d];
      } else {  /* general offsets: the reference loop */
        acc = p->bias ? p->bias[u] : 0;
        for (d = 0; d < depth; ++d) acc += (w[d] + p->weights_offset) * (row[d] + p->input_offset);
      }
      acc = requantize(acc, p->multiplier[u], p->shift[u]) + p->output_offset;
      *output++ = (int8_t)hb_clamp(acc, p->act_min, p->act_max);
    }
  }
  return HB_OK;
}
