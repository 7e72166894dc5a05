/*
 * A user's own firmware under hilbench, built only through the DUT library's API
 * (firmware/dut/hb_dut.h): hilbench streams test vectors into `input`, hb_dut_invoke()
 * runs the model, hilbench reads `output` back and compares it with its host reference.
 *
 * "The user's runtime" here is the C that `hilbench dut-lib --model` generates for the
 * model (hb_model.h) with hilbench's kernels; a TFLM firmware would copy `in` into
 * interpreter.input(0), call Invoke() and copy interpreter.output(0) to `out` instead.
 *
 * Build flags (see the Makefile): MODEL_SHA256, INPUT_BYTES, OUTPUT_BYTES, LAYERS (the
 * layers the runtime marks; 0 with -DHB_DUT_NO_LAYER_MARKS), ARENA_BYTES, and
 * CORRUPT_OUTPUT=<byte index>, a planted bug: that output byte is flipped.
 */
#include <string.h>

#include "hb_dut.h"
#include "hb_model.h"

static int8_t input[INPUT_BYTES];
static int8_t output[OUTPUT_BYTES];
#if LAYERS > 0
static uint32_t layer_stamps[LAYERS + 1];
#endif

/* Copies through the runtime's span functions: a model with several inputs (outputs)
 * keeps each in its own place in the arena. */
int hb_dut_invoke(const int8_t *in, int8_t *out) {
  uint32_t offset, contiguous;
  for (offset = 0; offset < INPUT_BYTES; offset += contiguous)
    memcpy(hb_model_input_span(offset, &contiguous), in + offset, contiguous);
  if (hb_model_invoke() != HB_OK) return 1;
  for (offset = 0; offset < OUTPUT_BYTES; offset += contiguous)
    memcpy(out + offset, hb_model_output_span(offset, &contiguous), contiguous);
#ifdef CORRUPT_OUTPUT
  out[CORRUPT_OUTPUT] ^= 0x01;
#endif
  return 0;
}

int main(void) {
  static const hb_dut_model model = {
      .model_sha256 = MODEL_SHA256,
      .input_bytes = INPUT_BYTES,
      .output_bytes = OUTPUT_BYTES,
      .input = input,
      .output = output,
      .layers = LAYERS,
#if LAYERS > 0
      .layer_stamps = layer_stamps,
#endif
      .arena_bytes = ARENA_BYTES,
      .build_id = "user-firmware example",
  };
  hb_dut_init(&model);
  for (;;) hb_dut_poll();
}
