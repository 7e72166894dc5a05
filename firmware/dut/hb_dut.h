/*
 * hilbench DUT library: put your own firmware (TFLM, CMSIS-NN, X-CUBE-AI, your own code)
 * under `hilbench run MODEL --firmware YOUR.elf --board B`.
 *
 * The library speaks hilbench's binary protocol (COBS frames with CRC-32, see
 * hb_protocol.h) over the board's console UART or, built with link_probe.c instead of
 * link_uart.c, through RAM buffers a debug probe reads. hilbench streams test vectors into
 * your input buffer, has your hb_dut_invoke() run them, reads your output buffer back and
 * compares it with its host reference (bit-exact with TFLM's reference kernels). It also
 * reports RAM from your ELF and the stack's high-water mark (the start-up code paints the
 * stack), and exact instruction counts on QEMU boards.
 *
 * A complete firmware (examples/user_firmware/ has one with its Makefile):
 *
 *     #include "hb_dut.h"
 *     static int8_t input[490], output[12];
 *     int hb_dut_invoke(const int8_t *in, int8_t *out) {
 *       ... run your model on in[0..489], write out[0..11] ...
 *       return 0;
 *     }
 *     int main(void) {
 *       static const hb_dut_model model = {
 *           .model_sha256 = "8e4b5c...",   // `sha256sum model.tflite`, 16+ hex digits
 *           .input_bytes = sizeof input, .output_bytes = sizeof output,
 *           .input = input, .output = output};
 *       hb_dut_init(&model);
 *       for (;;) hb_dut_poll();
 *     }
 *
 * Link it with the library (hb_dut*.c, cobs.c, crc32.c, one link_*.c) and the board's
 * start-up, UART and cycle-counter code from firmware/boards/: `hilbench dut-lib --board B
 * -o DIR` writes DIR/hilbench.mk with the compiler flags, the source lists and the linker
 * script for board B.
 *
 * Plain C99, no heap, no floating point: the library's RAM is its frame buffers (about
 * 1.6 KiB with the UART link's 512-byte frames).
 */
#ifndef HB_DUT_H
#define HB_DUT_H

#include <stdint.h>

#include "hb_dut_layers.h"

/* What the firmware runs, as the host checks it before streaming anything. */
typedef struct {
  /* The model file's SHA-256 in hex, as `sha256sum` prints it; the first 16 digits are
   * reported (and the host compares them with the model it is given). NULL: not declared;
   * the host then checks the sizes only, and says so. */
  const char *model_sha256;
  uint32_t input_bytes;  /* all the model's inputs, in model order, as one byte space */
  uint32_t output_bytes; /* all its outputs, likewise */
  int8_t *input;         /* input_bytes: the host's vectors are written here */
  int8_t *output;        /* output_bytes: read back after each hb_dut_invoke() */
  /* Layers marked with HB_DUT_LAYER_DONE() (hb_dut_layers.h); 0: none, and the run says
   * that the per-layer table is unavailable. */
  uint32_t layers;
  uint32_t *layer_stamps; /* layers + 1 words for real cores' cycle stamps, or NULL */
  uint32_t arena_bytes;   /* your runtime's working memory, for the report; 0: unknown */
  const char *build_id;   /* shown by the host (up to 32 characters); NULL: none */
} hb_dut_model;

/* Your inference: read model.input_bytes from `in` (the model's input buffer), write
 * model.output_bytes to `out` (its output buffer). Return 0 on success; anything else is
 * reported to the host as a failed inference. Called by hb_dut_poll(), never re-entered. */
int hb_dut_invoke(const int8_t *in, int8_t *out);

/* Sets up the board (clock, UART, cycle counter), the link and the profiling marks, and
 * keeps `model` (which must stay valid: make it static). Call once, first thing in main. */
void hb_dut_init(const hb_dut_model *model);

/* Waits for the next byte from the host and, when it completes a frame, answers it (which
 * may run hb_dut_invoke()). Blocks: call it in your main loop, forever. */
void hb_dut_poll(void);

#endif
