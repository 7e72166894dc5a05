/* UNIDIRECTIONAL_SEQUENCE_LSTM, TFLM's int16x8 path (EvalLstm<int16, int8, int16,
 * int64>): int16 input, output and hidden state, int8 weights, int64 biases, int16 cell
 * state. As the int8 path (lstm_common.h's step) except the gate products: the
 * accumulator is the int64 bias type, so both products (the recurrent one has no bias)
 * requantize with the 64-bit MultiplyByQuantizedMultiplier. */
#include "lstm_common.h"
#include "s16_common.h"

static int32_t lstm_gate_sum_s16(const hb_lstm_params *p, const hb_lstm_gate *g,
                                 int32_t u, const void *xv, const void *hv) {
  const int16_t *x = (const int16_t *)xv, *h = (const int16_t *)hv;
  const int8_t *wi = g->input_weights + u * p->features;
  const int8_t *wr = g->recurrent_weights + u * p->units;
  int64_t acc = g->bias64[u], rec = 0;
  int32_t d, from_input, from_hidden;
  /* each product fits an int32 (|x + offset| <= 2^16, |w| <= 2^7); the sums may not */
  for (d = 0; d < p->features; ++d) acc += (int32_t)wi[d] * (x[d] + p->input_offset);
  from_input = hb_lstm_sat16(hb_mbqm64(acc, g->input_multiplier, g->input_shift));
  for (d = 0; d < p->units; ++d) rec += (int32_t)wr[d] * (h[d] + p->hidden_offset);
  from_hidden = hb_lstm_sat16(hb_mbqm64(rec, g->recurrent_multiplier, g->recurrent_shift));
  return hb_lstm_sat16(from_input + from_hidden);
}

hb_status hb_lstm_s16(const hb_lstm_params *p, const int16_t *input, int16_t *hidden_state,
                      int16_t *cell_state, int16_t *output) {
  return hb_lstm_run(p, lstm_gate_sum_s16, 2, HB_LSTM_INT16_MIN, HB_LSTM_INT16_MAX, input,
                     hidden_state, cell_state, output);
}
