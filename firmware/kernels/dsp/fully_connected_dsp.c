/* FULLY_CONNECTED for the dsp variant: four units per pass over the input row, weights
 * interleaved on the host so one pointer streams them. Bit-exact with
 * ref/fully_connected.c under the conditions hilbench/codegen/specialize.py checks. */
#include "hb_kernels.h"
#include "dsp_common.h"

/* Four values of the row times the same four values of four units (16 weights at w). */
#define HB_FC_GROUP(x, w)                                             \
  do {                                                                \
    const int32_t xv = (int32_t)hb_ld32(x);                           \
    const int32_t xe = __sxtb16(xv), xo = (int32_t)hb_sxtb16_ror8((uint32_t)xv); \
    int32_t wv = (w)[0];                                              \
    a0 = __smlad(__sxtb16(wv), xe, a0);                               \
    a0 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a0);      \
    wv = (w)[1];                                                      \
    a1 = __smlad(__sxtb16(wv), xe, a1);                               \
    a1 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a1);      \
    wv = (w)[2];                                                      \
    a2 = __smlad(__sxtb16(wv), xe, a2);                               \
    a2 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a2);      \
    wv = (w)[3];                                                      \
    a3 = __smlad(__sxtb16(wv), xe, a3);                               \
    a3 = __smlad((int32_t)hb_sxtb16_ror8((uint32_t)wv), xo, a3);      \
  } while (0)

/* Four units times sixteen values of the row per pass, in assembly because the loop needs
 * all fourteen free registers. The host packs each pair of units (even e, odd o) so that a
 * weight word holds the halfwords 256 * o + e for two values of the row: one SMLAD of the
 * word accumulates 256 * o + e, one SMLAD of its SXTB16 accumulates e alone. One LDM fetches
 * a group of four values' words, so a group costs a load of the row, two SXTB16 of it, and
 * per pair of units and pair of values one SXTB16 and two SMLAD: 16 instructions for 16 MACs;
 * 32 values per pass, entering halfway when x_end - x is an odd multiple of 16.
 *   const int32_t *hb_fc_dsp_dot4x16(const int8_t *x, const int8_t *x_end,
 *                                    const int32_t *w, int32_t acc[4]);
 * acc = {a + 256 * o0, a, b + 256 * o1, b} (modulo 2^32) out of {a, a, b, b}, where o0 and o1
 * are the odd units' sums, e0 and e1 the even units' ones and a = a + e0, b = b + e1;
 * x_end - x is a multiple of 16; returns w past the weights it used. */
int32_t *hb_fc_dsp_dot4x16(const int8_t *x, const int8_t *x_end, const int32_t *w,
                           int32_t acc[4]);

#define FC_CHUNK 512 /* hilbench/codegen/specialize.py _FC_CHUNK */

#define HB_FC_ASM_PAIR(w, x, ab, b) \
  "smlad " ab ", " w ", " x ", " ab "\n\t" \
  "sxtb16 r3, " w "\n\t" \
  "smlad " b ", r3, " x ", " b "\n\t"

#define HB_FC_ASM_GROUP \
  "ldr r3, [r0], #4\n\t" \
  "ldmia r2!, {r10, r11, r12, lr}\n\t" \
  "sxtb16 r8, r3\n\t" \
  "sxtb16 r9, r3, ror #8\n\t" \
  HB_FC_ASM_PAIR("r10", "r8", "r4", "r5") HB_FC_ASM_PAIR("r11", "r9", "r4", "r5") \
  HB_FC_ASM_PAIR("r12", "r8", "r6", "r7") HB_FC_ASM_PAIR("lr", "r9", "r6", "r7")

__asm__(
  "\t.syntax unified\n"
  "\t.thumb\n"
  "\t.pushsection .text.hb_fc_dsp_dot4x16,\"ax\",%progbits\n"
  "\t.global hb_fc_dsp_dot4x16\n"
  "\t.hidden hb_fc_dsp_dot4x16\n"
  "\t.type hb_fc_dsp_dot4x16, %function\n"
  "\t.p2align 2\n"
  "\t.thumb_func\n"
  "hb_fc_dsp_dot4x16:\n\t"
  "push {r3-r11, lr}\n\t"
  "ldm r3, {r4, r5, r6, r7}\n\t"
  "subs r3, r1, r0\n\t"
  "beq 2f\n\t"
  "tst r3, #16\n\t"
  "bne 3f\n"
  "1:\n\t"
  HB_FC_ASM_GROUP HB_FC_ASM_GROUP HB_FC_ASM_GROUP HB_FC_ASM_GROUP
  "3:\n\t"
  HB_FC_ASM_GROUP HB_FC_ASM_GROUP HB_FC_ASM_GROUP HB_FC_ASM_GROUP
  "cmp r0, r1\n\t"
  "bne 1b\n"
  "2:\n\t"
  "pop {r3}\n\t"
  "stm r3, {r4, r5, r6, r7}\n\t"
  "mov r0, r2\n\t"
  "pop {r4-r11, pc}\n\t"
  ".size hb_fc_dsp_dot4x16, .-hb_fc_dsp_dot4x16\n"
  "\t.popsection\n");

#define HB_INLINE static inline __attribute__((always_inline))

/* hb_dsp_requant with the clamp of a full int8 range as one SSAT when `full`. */
HB_INLINE int32_t requant(int32_t acc, const int32_t *rq, int32_t k, int32_t lo, int32_t hi,
                          int full) {
  int32_t v = hb_smmulr(acc * 2, rq[0]);
  v += v >> 31;
  v = (v >> rq[1]) + k;  /* k = 2 * output offset + 1: the rounding and the offset */
  if (full) return hb_ssat8_asr1(v);
  v >>= 1;
  v = v < lo ? lo : v;
  return v > hi ? hi : v;
}

/* One row: units in groups of four (weights, bias and requantization padded on the host to
 * a multiple of four units); the last group stores only the units that exist. */
HB_INLINE void fc_row(const hb_fc_dsp_params *p, const int8_t *row, int8_t *output, int full) {
  const int32_t depth = p->depth, units = p->units;
  const int32_t k = 2 * p->output_offset + 1, lo = p->act_min, hi = p->act_max;
  const int8_t *const body_end = row + (depth & ~15);
  const int32_t *w = (const int32_t *)p->weights;
  const int32_t *bias = p->folded_bias, *rq = p->requant;
  int8_t *const out_end = output + units;
  int32_t d;
  for (; output < out_end; output += 4, bias += 4, rq += 8) {
    int32_t acc[4], a0, a1, a2, a3;
    const int8_t *x = row;
    /* the odd units' sums come out of the assembly 512 values at a time (< 2^23 each) */
    acc[1] = bias[0];
    a1 = bias[1];
    acc[3] = bias[2];
    a3 = bias[3];
    while (x < body_end) {
      const int8_t *end = body_end - x > FC_CHUNK ? x + FC_CHUNK : body_end;
      acc[0] = acc[1];
      acc[2] = acc[3];
      w = hb_fc_dsp_dot4x16(x, end, w, acc);
      a1 += (int32_t)((uint32_t)acc[0] - (uint32_t)acc[1]) >> 8;
      a3 += (int32_t)((uint32_t)acc[2] - (uint32_t)acc[3]) >> 8;
      x = end;
    }
    a0 = acc[1];
    a2 = acc[3];
    if (depth & 15) {
      const int8_t *tail;
      if (depth & 8) {
        HB_FC_GROUP(x, w);
        HB_FC_GROUP(x + 4, w + 4);
        x += 8;
        w += 8;
      }
      if (depth & 4) {
        HB_FC_GROUP(x, w);
        x += 4;
        w += 4;
      }
      for (tail = (const int8_t *)w, d = depth & 3; d > 0; --d, ++x, tail += 4) {
        a0 += tail[0] * *x;
        a1 += tail[1] * *x;
        a2 += tail[2] * *x;
        a3 += tail[3] * *x;
      }
      w = (const int32_t *)(const void *)tail;
    }
    {
      /* all four before any store: int8 stores may alias the parameters */
      const int32_t r0 = requant(a0, rq, k, lo, hi, full);
      const int32_t r1 = requant(a1, rq + 2, k, lo, hi, full);
      const int32_t r2 = requant(a2, rq + 4, k, lo, hi, full);
      const int32_t r3 = requant(a3, rq + 6, k, lo, hi, full);
      output[0] = (int8_t)r0;
      if (out_end - output >= 4) {
        output[1] = (int8_t)r1;
        output[2] = (int8_t)r2;
        output[3] = (int8_t)r3;
      } else {
        if (out_end - output > 1) output[1] = (int8_t)r1;
        if (out_end - output > 2) output[2] = (int8_t)r2;
      }
    }
  }
}

/* Outside GCC's first scheduling pass, which would hoist loads and spill accumulators, and
 * without store merging, whose packing of int8 results into a word costs more than byte
 * stores. */
#define HB_NO_SCHED1 __attribute__((optimize("no-schedule-insns", "no-store-merging")))

HB_NO_SCHED1 static void row_full(const hb_fc_dsp_params *p, const int8_t *row,
                                  int8_t *output) {
  fc_row(p, row, output, 1);
}

HB_NO_SCHED1 static void row_clamped(const hb_fc_dsp_params *p, const int8_t *row,
                                     int8_t *output) {
  fc_row(p, row, output, 0);
}

/* Two entry points, chosen by the code generator, so a model links only the row function
 * it uses (each is about 0.7 KB of code). */
hb_status hb_fully_connected_s8_dsp(const hb_fc_dsp_params *p, const int8_t *input,
                                    int8_t *output) {
  int32_t r;
  for (r = 0; r < p->rows; ++r) row_clamped(p, input + r * p->depth, output + r * p->units);
  return HB_OK;
}

/* The same for act_min -128 and act_max 127: the clamp is one SSAT. */
hb_status hb_fully_connected_s8_dsp_full(const hb_fc_dsp_params *p, const int8_t *input,
                                         int8_t *output) {
  int32_t r;
  for (r = 0; r < p->rows; ++r) row_full(p, input + r * p->depth, output + r * p->units);
  return HB_OK;
}
