/* hilbench's own firmware: its generated model (hb_model.h) behind the DUT library, with
 * the per-layer mode that reads each layer's output from the arena. */
#include "hb_dut.h"
#include "hb_dut_runtime.h"
#include "hb_model.h"

static int invoke_until(uint32_t last) { return hb_model_invoke_until(last) == HB_OK ? 0 : 1; }

int main(void) {
  static hb_dut_runtime runtime;
  runtime.model_hash = hb_model_hash;
  runtime.input_bytes = hb_model_input_size;
  runtime.output_bytes = hb_model_output_size;
  runtime.arena_bytes = hb_model_arena_size;
  runtime.layers = hb_model_op_count;
  runtime.layer_stamps = hb_layer_cycles;
  runtime.build_id = hb_build_id;
  runtime.input_span = hb_model_input_span;
  runtime.output_span = hb_model_output_span;
  runtime.invoke_until = invoke_until;
  runtime.layer_output = hb_model_op_output;
  hb_dut_init_runtime(&runtime);
  for (;;) hb_dut_poll();
}
