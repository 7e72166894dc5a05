/* The interface between the firmware app and the generated model code (model.c). */
#ifndef HB_MODEL_H
#define HB_MODEL_H

#include <stdint.h>
#include "hb_kernels.h"

extern const uint8_t hb_model_hash[8];   /* first bytes of the model file's SHA-256 */
extern const uint32_t hb_model_arena_size;
extern const uint32_t hb_model_input_size;   /* bytes */
extern const uint32_t hb_model_output_size;  /* bytes */
extern const uint32_t hb_model_op_count;

/* The firmware build's id, for INFO: written by the build next to model.c (it is not
 * compiled into the runtime library, which many model builds share). */
extern const char hb_build_id[];
extern const uint32_t hb_build_id_length; /* without the terminating zero */

uint8_t *hb_model_input(void);
const uint8_t *hb_model_output(void);
hb_status hb_model_invoke(void);

#endif
