/* hb_dut.h's callback API on top of the protocol engine: the runtime's buffers are the
 * user's two arrays, an inference is one hb_dut_invoke() between the start and end marks. */
#include "hb_dut.h"
#include "hb_dut_runtime.h"

static const hb_dut_model *user;
static hb_dut_runtime runtime;
static uint8_t model_hash[8];

static int hex_digit(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/* The first 8 bytes of a hex SHA-256; 0 when it is not at least 16 hex digits (the host
 * then sees an undeclared, all-zero hash and says so). */
static int parse_hash(const char *hex, uint8_t *out) {
  int i;
  for (i = 0; i < 16; ++i)
    if (hex == 0 || hex_digit(hex[i]) < 0) return 0;
  for (i = 0; i < 8; ++i)
    out[i] = (uint8_t)(hex_digit(hex[2 * i]) << 4 | hex_digit(hex[2 * i + 1]));
  return 1;
}

static uint8_t *input_span(uint32_t offset, uint32_t *contiguous) {
  *contiguous = user->input_bytes - offset;
  return (uint8_t *)user->input + offset;
}

static const uint8_t *output_span(uint32_t offset, uint32_t *contiguous) {
  *contiguous = user->output_bytes - offset;
  return (const uint8_t *)user->output + offset;
}

static int invoke_all(uint32_t last) {
  int status;
  (void)last; /* no layer_output: the engine only asks for whole inferences */
  hb_profile_mark(HB_MARK_START);
  status = hb_dut_invoke(user->input, user->output);
  hb_profile_mark(HB_MARK_END);
  return status;
}

/* Field by field through a volatile pointer, after hb_dut_start() (see app/main.c). */
static void describe(const hb_dut_model *model) {
  volatile hb_dut_runtime *r = &runtime;
  user = model;
  r->model_hash = parse_hash(model->model_sha256, model_hash) ? model_hash : 0;
  r->input_bytes = model->input_bytes;
  r->output_bytes = model->output_bytes;
  r->arena_bytes = model->arena_bytes;
  r->layers = model->layers;
  r->layer_stamps = model->layer_stamps;
  r->build_id = model->build_id;
  r->input_span = input_span;
  r->output_span = output_span;
  r->invoke_until = invoke_all;
  r->layer_output = 0;
}

void hb_dut_init(const hb_dut_model *model) {
  hb_dut_start(); /* first: a fault from here on reaches the host */
  describe(model);
  hb_dut_init_runtime(&runtime);
}
