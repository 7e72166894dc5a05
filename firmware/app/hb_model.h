/* The interface between hilbench's firmware app (main.c) and the generated model code
 * (model.c); also what a user firmware calls when it takes the generated model as its
 * runtime (examples/user_firmware/). */
#ifndef HB_MODEL_H
#define HB_MODEL_H

#include <stdint.h>
#include "hb_kernels.h"

extern const uint8_t hb_model_hash[8];   /* first bytes of the model file's SHA-256 */
extern const uint32_t hb_model_arena_size;
extern const uint32_t hb_model_input_size;   /* bytes */
extern const uint32_t hb_model_output_size;  /* bytes */
extern const uint32_t hb_model_op_count;

/* Cycle stamps of the last inference for the profiling marks: [0] at the start, [i + 1]
 * after op i (hb_model_op_count + 1 words). */
extern uint32_t hb_layer_cycles[];

/* The firmware build's id, for INFO: written by the build next to model.c (it is not
 * compiled into the runtime library, which many model builds share). */
extern const char hb_build_id[];

/* The model's inputs (and outputs), in model order, form one byte space: the byte at
 * `offset`, and how many bytes from it are contiguous in memory (0 past the end). */
uint8_t *hb_model_input_span(uint32_t offset, uint32_t *contiguous);
const uint8_t *hb_model_output_span(uint32_t offset, uint32_t *contiguous);

hb_status hb_model_invoke(void);
/* Runs ops 0..last and stops (all of them for last >= op count), so that the per-layer
 * mode can read op last's output before a later op overwrites it. */
hb_status hb_model_invoke_until(uint32_t last);
/* Op `op`'s first output in the arena and its size (NULL and 0 past the last op). */
const uint8_t *hb_model_op_output(uint32_t op, uint32_t *size);
/* Sets the variable tensors (LSTM/SVDF state, in hb_state[] outside the arena) to their
 * reset values, as TFLM's ResetVariableTensors. */
void hb_model_reset_state(void);

#endif
