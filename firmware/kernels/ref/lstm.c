/* UNIDIRECTIONAL_SEQUENCE_LSTM, TFLM's integer path for int8 models: each gate is the
 * int8 product of the input plus that of the previous hidden state, each requantized to
 * int16 Q3.12 and added with saturation, then a table sigmoid (tanh for the cell gate) in
 * Q0.15; cell = forget * cell + input * cell_gate (int16), hidden = tanh(cell) * output
 * (int8). Mirrors hilbench/reference/kernels/lstm.py bit for bit.
 *
 * Batches are independent sequences, so both layouts run batch by batch, unit by unit:
 * a unit's four gates need the whole previous hidden state, so the new hidden values go
 * to the step's output row first and into hidden_state once the step is complete. No
 * scratch memory. */
#include "hb_kernels.h"
#include "../hb_fixedpoint.h"

#define HB_INT16_MIN (-32768)
#define HB_INT16_MAX 32767

/* |x| as a table index (its bits above `bits`) and an interpolation fraction; -1 when
 * the index is past the table (the caller saturates). */
static int32_t lstm_lookup(const uint16_t *table, int32_t x, int32_t bits) {
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
static int32_t lstm_sigmoid(const uint16_t *table, int32_t x) {
  const int32_t v = x * 3;
  int32_t r = lstm_lookup(table, v, 9);
  if (r < 0) r = 0x7FFF << 10;
  r = v >= 0 ? r + (1 << 9) : (1 << 25) - r + (1 << 9) - 1;
  return r >> 10;
}

/* int16 with scale 2^scale_power -> Q0.15 tanh (TFLM's int16 TANH as the LSTM calls it). */
static int32_t lstm_tanh(const uint16_t *table, int32_t x, int32_t scale_power) {
  const int32_t shift = 15 + scale_power - 3;
  int32_t v, r;
  if (shift >= 0) {
    v = x * (3 << shift);
  } else {
    v = (x * 3 + (1 << (-shift - 1))) >> -shift;
  }
  r = lstm_lookup(table, v, 8);
  if (r < 0) r = 0xFFFF << 8;
  r = v >= 0 ? r - (1 << 23) + (1 << 7) : -r + (1 << 23) + (1 << 7) - 1;
  return r >> 8;
}

/* One gate's pre-activation for unit u: both products requantized to int16, summed with
 * saturation. */
static int32_t lstm_gate_sum(const hb_lstm_params *p, const hb_lstm_gate *g, int32_t u,
                             const int8_t *x, const int8_t *h) {
  const int8_t *wi = g->input_weights + u * p->features;
  const int8_t *wr = g->recurrent_weights + u * p->units;
  int32_t acc = 0, rec = 0, d;
  for (d = 0; d < p->features; ++d) acc += wi[d] * (x[d] + p->input_offset);
  acc = hb_clamp(hb_mbqm(acc + g->bias[u], g->input_multiplier, g->input_shift),
                 HB_INT16_MIN, HB_INT16_MAX);
  for (d = 0; d < p->units; ++d) rec += wr[d] * (h[d] + p->hidden_offset);
  rec = hb_clamp(hb_mbqm(rec, g->recurrent_multiplier, g->recurrent_shift),
                 HB_INT16_MIN, HB_INT16_MAX);
  return hb_clamp(acc + rec, HB_INT16_MIN, HB_INT16_MAX);
}

hb_status hb_lstm_s8(const hb_lstm_params *p, const int8_t *input, int8_t *hidden_state,
                     int16_t *cell_state, int8_t *output) {
  int32_t b, t, u;
  for (b = 0; b < p->batch; ++b) {
    int8_t *h = hidden_state + b * p->units;
    int16_t *c = cell_state + b * p->units;
    for (t = 0; t < p->time_steps; ++t) {
      /* row of step t, batch b, in either layout */
      const int32_t row = p->time_major ? t * p->batch + b : b * p->time_steps + t;
      const int8_t *x = input + row * p->features;
      int8_t *y = output + row * p->units;
      for (u = 0; u < p->units; ++u) {
        const uint16_t *table = p->sigmoid_table;
        const int32_t forget = lstm_sigmoid(table, lstm_gate_sum(p, &p->gates[1], u, x, h));
        const int32_t in = lstm_sigmoid(table, lstm_gate_sum(p, &p->gates[0], u, x, h));
        const int32_t cell_gate = lstm_tanh(table, lstm_gate_sum(p, &p->gates[2], u, x, h), -12);
        const int32_t out = lstm_sigmoid(table, lstm_gate_sum(p, &p->gates[3], u, x, h));
        int32_t cell = hb_clamp(hb_mbqm(forget * c[u], p->forget_cell_multiplier,
                                        p->forget_cell_shift), HB_INT16_MIN, HB_INT16_MAX);
        cell += hb_clamp(hb_mbqm(in * cell_gate, p->input_cell_multiplier,
                                 p->input_cell_shift), HB_INT16_MIN, HB_INT16_MAX);
        cell = hb_clamp(cell, HB_INT16_MIN, HB_INT16_MAX);
        if (p->cell_clip > 0) cell = hb_clamp(cell, -p->cell_clip, p->cell_clip);
        c[u] = (int16_t)cell;
        y[u] = (int8_t)hb_clamp(hb_mbqm(lstm_tanh(table, cell, p->cell_scale_power) * out,
                                        p->hidden_multiplier, p->hidden_shift) +
                                    p->hidden_zero_point, -128, 127);
      }
      for (u = 0; u < p->units; ++u) h[u] = y[u];  /* the step is complete */
    }
  }
  return HB_OK;
}
