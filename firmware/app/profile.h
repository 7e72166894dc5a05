/* Layer boundaries: seen by QEMU's instruction-counting plugin (by address) and
 * timestamped with the board's cycle counter (for real cores). */
#ifndef HB_PROFILE_H
#define HB_PROFILE_H
#include <stdint.h>

#define HB_MARKERS 1024
#define HB_MARK_SPARE (HB_MARKERS - 3) /* calibration: ignored by the counter plugin */
#define HB_MARK_START (HB_MARKERS - 2)
#define HB_MARK_END (HB_MARKERS - 1)

/* timestamps: [0] at the start of an inference, [i + 1] after layer i */
extern uint32_t hb_layer_cycles[];
void hb_profile_mark(uint32_t id);
/* measured once at start-up: cycles of one hb_profile_mark call, to calibrate out */
extern uint32_t hb_profile_overhead;
void hb_profile_calibrate(void);
#endif
