/* TFLM's integer LSTM step, shared by hb_lstm_s8 (lstm.c, int8 activations) and
 * hb_lstm_s16 (lstm_s16.c, int16x8), as TFLM's EvalLstm template is shared by its
 * 8x8->16 and 16x8->16 instances: the two differ only in one gate's products (passed in
 * as `gate_sum`) and in the hidden state's element type. Internal header; mirrors
 * hilbench/reference/kernels/lstm.py bit for bit.
 *
 * Batches are independent sequences, so both layouts run batch by batch, unit by unit:
 * a unit's four gates need the whole previous hidden state, so the new hidden values go
 * to the step's output row first and into hidden_state once the step is complete. No
 * scratch memory. */
#ifndef HB_LSTM_COMMON_H
#define HB_LSTM_COMMON_H
#include <string.h>
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

#define HB_LSTM_INT16_MIN (-32768)
#define HB_LSTM_INT16_MAX 32767

/* One gate's pre-activation for unit u: the input and hidden products, each requantized
 * to int16 Q3.12, summed with saturation. x and h point at the step's rows. */
typedef int32_t (*hb_lstm_gate_sum)(const hb_lstm_params *p, const hb_lstm_gate *g,
                                    int32_t u, const void *x, const void *h);

/* |x| as a table index (its bits above `bits`) and an interpolation fraction; -1 when
 * the index is past the table (the caller saturates). */
static inline int32_t hb_lstm_lookup(const uint16_t *table, int32_t x, int32_t bits) {
  const uint32_t magnitude = (uint32_t)(x < 0 ? -x : x);
  const uint32_t index = magnitude >> bits;
  const uint32_t frac = magnitude & ((1u << bits) - 1u);
  uint32_t a, b;
  if (index >= 255u) return -1;
  a = table[index];
  b = table[index + 1u];
  return (int32_t)((a << bits) + frac * (b - a));
}

/* int16 Q3.12 -> Q0.15 sigmoid (TFLM's int16 LOGISTIC with multiplier 3, no shift). */
static inline int32_t hb_lstm_sigmoid(const uint16_t *table, int32_t x) {
  const int32_t v = x * 3;
  int32_t r = hb_lstm_lookup(table, v, 9);
  if (r < 0) r = 0x7FFF << 10;
  r = v >= 0 ? r + (1 << 9) : (1 << 25) - r + (1 << 9) - 1;
  return r >> 10;
}

/* int16 with scale 2^scale_power -> Q0.15 tanh (TFLM's int16 TANH as the LSTM calls it). */
static inline int32_t hb_lstm_tanh(const uint16_t *table, int32_t x, int32_t scale_power) {
  const int32_t shift = 15 + scale_power - 3;
  int32_t v, r;
  if (shift >= 0) {
    v = x * (3 << shift);
  } else {
    v = (x * 3 + (1 << (-shift - 1))) >> -shift;
  }
  r = hb_lstm_lookup(table, v, 8);
  if (r < 0) r = 0xFFFF << 8;
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return r >> 8;
}

static inline int32_t hb_lstm_sat16(int32_t x) {
  return hb_clamp(x, HB_LSTM_INT16_MIN, HB_LSTM_INT16_MAX);
}

/* All time steps of all batches. `size` is the activations' element size (1: int8,
 * 2: int16), [low, high] their range; hidden_state (batch x units) and cell_state
 * (batch x units int16) carry the state in and are updated in place. */
static inline hb_status hb_lstm_run(const hb_lstm_params *p, hb_lstm_gate_sum gate_sum,
                                    int32_t size, int32_t low, int32_t high,
                                    const void *input, void *hidden_state,
                                    int16_t *cell_state, void *output) {
  const uint16_t *table = p->sigmoid_table;
  int32_t b, t, u;
  for (b = 0; b < p->batch; ++b) {
    uint8_t *h = (uint8_t *)hidden_state + b * p->units * size;
    int16_t *c = cell_state + b * p->units;
    for (t = 0; t < p->time_steps; ++t) {
      /* row of step t, batch b, in either layout */
      const int32_t row = p->time_major ? t * p->batch + b : b * p->time_steps + t;
      const void *x = (const uint8_t *)input + row * p->features * size;
      uint8_t *y = (uint8_t *)output + row * p->units * size;
      for (u = 0; u < p->units; ++u) {
        const int32_t forget = hb_lstm_sigmoid(table, gate_sum(p, &p->gates[1], u, x, h));
        const int32_t in = hb_lstm_sigmoid(table, gate_sum(p, &p->gates[0], u, x, h));
        const int32_t cell_gate = hb_lstm_tanh(table, gate_sum(p, &p->gates[2], u, x, h), -12);
        const int32_t out = hb_lstm_sigmoid(table, gate_sum(p, &p->gates[3], u, x, h));
        int32_t cell = hb_lstm_sat16(hb_mbqm(forget * c[u], p->forget_cell_multiplier,
                                             p->forget_cell_shift));
        int32_t hidden;
        cell = hb_lstm_sat16(cell + hb_lstm_sat16(hb_mbqm(in * cell_gate,
                                                          p->input_cell_multiplier,
                                                          p->input_cell_shift)));
        if (p->cell_clip > 0) cell = hb_clamp(cell, -p->cell_clip, p->cell_clip);
        c[u] = (int16_t)cell;
        hidden = hb_clamp(hb_mbqm(hb_lstm_tanh(table, cell, p->cell_scale_power) * out,
                                  p->hidden_multiplier, p->hidden_shift) +
                              p->hidden_zero_point, low, high);
        if (size == 1) {
          ((int8_t *)y)[u] = (int8_t)hidden;
        } else {
          ((int16_t *)y)[u] = (int16_t)hidden;
        }
      }
      memcpy(h, y, (size_t)(p->units * size));  /* the step is complete */
    }
  }
  return HB_OK;
}
#endif
