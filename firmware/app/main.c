/* hilbench's own firmware: its generated model (hb_model.h) behind the DUT library, with
 * the per-layer mode that reads each layer's output from the arena. */
#include "hb_dut.h"
#include "hb_dut_runtime.h"
#include "hb_model.h"

static int invoke_until(uint32_t last) { return hb_model_invoke_until(last) == HB_OK ? 0 : 1; }

/* A model without variable tensors has no state to reset: its model.c defines no
 * hb_model_reset_state() (and stays as it was), so this empty one links instead. */
__attribute__((weak)) void hb_model_reset_state(void) {}

/* Through a volatile pointer: field by field, after hb_dut_start(). Left to itself the
 * compiler fills the struct with Helium vector stores on the M55, and may move them before
 * hb_dut_start(): a firmware whose start-up did not enable the coprocessors would then
 * fault before its UART is up, with no report, instead of in the first kernel. */
static const hb_dut_runtime *describe(void) {
  static hb_dut_runtime runtime;
  volatile hb_dut_runtime *r = &runtime;
  r->model_hash = hb_model_hash;
  r->input_bytes = hb_model_input_size;
  r->output_bytes = hb_model_output_size;
  r->arena_bytes = hb_model_arena_size;
  r->layers = hb_model_op_count;
  r->layer_stamps = hb_layer_cycles;
  r->build_id = hb_build_id;
  r->input_span = hb_model_input_span;
  r->output_span = hb_model_output_span;
  r->invoke_until = invoke_until;
  r->layer_output = hb_model_op_output;
  r->reset_state = hb_model_reset_state;
  return &runtime;
}

int main(void) {
  hb_dut_start(); /* first: a fault from here on reaches the host */
  hb_model_reset_state(); /* state starts at its reset values, as TFLM's does */
  hb_dut_init_runtime(describe());
  for (;;) hb_dut_poll();
}
