/*
 * The MLPerf Tiny DUT (EEMBC ULPMark-ML command set) built around hilbench's generated
 * model: what the build generates for it (mlperf_config.c, hilbench/codegen/mlperf_config.py)
 * and the helpers its command loop (mlperf_dut.c) uses.
 */
#ifndef HB_MLPERF_H
#define HB_MLPERF_H

#include <stdint.h>

/* One int8 model output as it is printed: real = scale * (q - zero_point), written in
 * fixed point with `decimals` digits after the point without any float arithmetic:
 * round((q - zero_point) * multiplier / 2^shift), multiplier / 2^shift being
 * scale * 10^decimals, computed on the host. */
typedef struct {
  uint32_t size;        /* bytes (= values) of this output */
  int32_t zero_point;
  int32_t multiplier;   /* < 2^31 */
  uint32_t shift;       /* 0..62 */
  uint32_t decimals;    /* 0..9 */
} hb_mlperf_output;

/* Generated for each build (mlperf_config.c). */
extern const char hb_mlperf_dut_name[];   /* m-name-dut-[...] */
extern const char hb_mlperf_model_id[];   /* m-model-[...]: kws01, vww01, ic01, ad01, ... */
extern const uint32_t hb_mlperf_timer_hz; /* SysTick's clock: the core clock */
extern const uint32_t hb_mlperf_output_count;
extern const hb_mlperf_output hb_mlperf_outputs[];
extern uint8_t hb_mlperf_db[];            /* the loaded vector: hb_model_input_size bytes */

/* Time stamps (mlperf_timer.c): the board's cycle counter (SysTick) extended to 64 bits. */
void hb_mlperf_timer_init(void);
uint64_t hb_mlperf_ticks(void);
uint64_t hb_mlperf_ticks_to_us(uint64_t ticks);

/* Output on the link, integers only (mlperf_print.c). */
void hb_mlperf_puts(const char *text);
void hb_mlperf_put_u64(uint64_t value);
void hb_mlperf_put_hex32(uint32_t value);
/* value / 10^decimals, e.g. -1234 with 3 decimals -> "-1.234" */
void hb_mlperf_put_fixed(int64_t value, uint32_t decimals);
/* Rounded fixed-point value of one output byte (see hb_mlperf_output). */
int64_t hb_mlperf_scaled(int8_t q, const hb_mlperf_output *output);

#endif
