/*
 * The library's side facing a runtime, for runtimes that let the host reach their buffers
 * directly and run layer by layer. hb_dut_init() (hb_dut.h) builds one of these around
 * your hb_dut_invoke(); hilbench's own firmware (firmware/app/main.c) hands over its
 * generated model's, with the per-layer mode (`hilbench run --per-layer`) that reads each
 * layer's output from the arena.
 */
#ifndef HB_DUT_RUNTIME_H
#define HB_DUT_RUNTIME_H

#include <stdint.h>

#define HB_DUT_ALL_LAYERS 0xFFFFFFFFu /* invoke_until(): the whole inference */

typedef struct {
  const uint8_t *model_hash; /* 8 bytes: the model file's SHA-256 head; all zero: unknown */
  uint32_t input_bytes, output_bytes, arena_bytes;
  uint32_t layers;        /* layers marked with HB_DUT_LAYER_DONE(); 0: none */
  uint32_t *layer_stamps; /* layers + 1 words, or NULL */
  const char *build_id;   /* NULL: none */
  /* The byte at `offset` of the inputs (outputs) as one byte space, and how many bytes
   * from it are contiguous in memory. Only called for offsets inside the space. */
  uint8_t *(*input_span)(uint32_t offset, uint32_t *contiguous);
  const uint8_t *(*output_span)(uint32_t offset, uint32_t *contiguous);
  /* Runs layers 0..last (HB_DUT_ALL_LAYERS: all); 0 on success. A runtime without
   * layer_output is only ever asked for all of them. */
  int (*invoke_until)(uint32_t last);
  /* Layer `layer`'s first output and its size after invoke_until(layer); NULL and 0 past
   * the last layer. NULL pointer: the runtime has no per-layer mode. */
  const uint8_t *(*layer_output)(uint32_t layer, uint32_t *size);
  /* Resets the model's state (variable tensors) for RESET_STATE. NULL pointer: the runtime
   * cannot, and RESET_STATE is refused as an unknown command. */
  void (*reset_state)(void);
} hb_dut_runtime;

/* Brings the board (clock, UART, cycle counter) and the link up. First thing in main:
 * a fault in anything after it is reported to the host. Fill the hb_dut_runtime after it,
 * through a volatile pointer (as app/main.c does): the compiler may otherwise use FPU or
 * Helium registers for the fill and move it before this call. */
void hb_dut_start(void);

/* As hb_dut_init() after hb_dut_start(), for a runtime given this way; `runtime` must stay
 * valid. */
void hb_dut_init_runtime(const hb_dut_runtime *runtime);

#endif
