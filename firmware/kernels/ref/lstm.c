/* UNIDIRECTIONAL_SEQUENCE_LSTM, TFLM's integer path for int8 models: each gate is the
 * int8 product of the input plus that of the previous hidden state, each requantized to
 * int16 Q3.12 and added with saturation, then a table sigmoid (tanh for the cell gate) in
 * Q0.15; cell = forget * cell + input * cell_gate (int16), hidden = tanh(cell) * output
 * (int8). The step itself is lstm_common.h's, shared with hb_lstm_s16. */
#include "lstm_common.h"

static int32_t lstm_gate_sum_s8(const hb_lstm_params *p, const hb_lstm_gate *g, int32_t u,
                                const void *xv, const void *hv) {
  const int8_t *x = (const int8_t *)xv, *h = (const int8_t *)hv;
  const int8_t *wi = g->input_weights + u * p->features;
  const int8_t *wr = g->recurrent_weights + u * p->units;
  int32_t acc = 0, rec = 0, d;
  for (d = 0; d < p->features; ++d) acc += wi[d] * (x[d] + p->input_offset);
  acc = hb_lstm_sat16(hb_mbqm(acc + g->bias[u], g->input_multiplier, g->input_shift));
  for (d = 0; d < p->units; ++d) rec += wr[d] * (h[d] + p->hidden_offset);
  rec = hb_lstm_sat16(hb_mbqm(rec, g->recurrent_multiplier, g->recurrent_shift));
  return hb_lstm_sat16(acc + rec);
}

hb_status hb_lstm_s8(const hb_lstm_params *p, const int8_t *input, int8_t *hidden_state,
                     int16_t *cell_state, int8_t *output) {
  return hb_lstm_run(p, lstm_gate_sum_s8, 1, -128, 127, input, hidden_state, cell_state,
                     output);
}
