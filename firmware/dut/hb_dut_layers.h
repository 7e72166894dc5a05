/*
 * Per-layer timing: how a runtime tells hilbench where its layers end.
 *
 * hilbench times an inference from the moment the library hands your hb_dut_invoke() the
 * input to the moment it returns. To get a per-layer table as well (`hilbench run
 * --profile`), mark the end of each layer, in model order, from inside the inference:
 *
 *     for (i = 0; i < op_count; ++i) {
 *       run_op(i);                 // your runtime's own loop, or TFLM's MicroProfiler
 *       HB_DUT_LAYER_DONE(i);      // EndEvent, or a kernel wrapper: anywhere after op i
 *     }
 *
 * and declare how many layers you mark in hb_dut_model.layers (hb_dut.h). Layer i must be
 * the model's op i (the order `hilbench inspect MODEL` prints), or the host cannot match
 * the figures to ops and says so instead of printing the table.
 *
 * What a mark costs: one call of a few instructions. On QEMU, hilbench's instruction
 * counter recognises the mark by its address and books every instruction between two marks
 * to the layer, and the mark's own instructions to "measuring overhead"; on a real core the
 * mark stores the cycle counter in hb_dut_model.layer_stamps (give it layers + 1 words), and
 * the host subtracts the mark's cost, measured once at start-up.
 *
 * Build with -DHB_DUT_NO_LAYER_MARKS to compile every HB_DUT_LAYER_DONE() out: the run then
 * reports whole inferences only, and says that the per-layer table is unavailable.
 */
#ifndef HB_DUT_LAYERS_H
#define HB_DUT_LAYERS_H
#include <stdint.h>

#define HB_MARKERS 1024                 /* marker addresses; layers: 0 .. HB_MARKERS - 4 */
#define HB_MARK_SPARE (HB_MARKERS - 3)  /* calibration: ignored by the counter plugin */
#define HB_MARK_START (HB_MARKERS - 2)  /* an inference starts */
#define HB_MARK_END (HB_MARKERS - 1)    /* an inference ends */

/* The boundary `id` (a layer index, or one of the HB_MARK_ ids) is reached. Kept out of
 * line: the counter plugin books its instructions as overhead by its address range. */
void hb_profile_mark(uint32_t id);

#ifdef HB_DUT_NO_LAYER_MARKS
#define HB_DUT_LAYER_DONE(layer) ((void)(layer))
#else
#define HB_DUT_LAYER_DONE(layer) hb_profile_mark(layer)
#endif

/* Library-internal (hb_dut_core.c): where marks store their timestamps, [0] at the start
 * and [i + 1] after layer i, for `layers` layers; cycles of one mark, measured at start. */
void hb_profile_configure(uint32_t *stamps, uint32_t layers);
uint32_t hb_profile_stamp(uint32_t index);
extern uint32_t hb_profile_overhead;
void hb_profile_calibrate(void);
#endif
