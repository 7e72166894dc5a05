/* Layer boundaries: seen by QEMU's instruction-counting plugin (by address) and
 * timestamped with the board's cycle counter (for real cores). See hb_dut_layers.h. */
#include "hb_dut_layers.h"
#include "hb_board.h"

/* HB_MARKERS one-instruction functions in a row: calling number i tells an emulator plugin,
 * from the address alone, which boundary was reached. Costs 2 KiB of flash, no RAM. */
__asm__(".section .text.hb_markers,\"ax\",%progbits\n"
        ".global hb_markers\n"
        ".type hb_markers, %function\n"
        ".thumb_func\n"
        ".balign 4\n"
        "hb_markers:\n"
        ".rept 1024\n"
        "bx lr\n"
        ".endr\n"
        ".size hb_markers, . - hb_markers\n"
        ".text\n");

extern void hb_markers(void);

uint32_t hb_profile_overhead;
/* a runtime that keeps no stamps still has somewhere for the start stamp to go, so that
 * the mark costs the same instructions with or without them */
static uint32_t no_stamps[1];
static uint32_t *stamps = no_stamps;
static uint32_t stamp_layers;

void hb_profile_configure(uint32_t *layer_stamps, uint32_t layers) {
  stamps = layer_stamps ? layer_stamps : no_stamps;
  stamp_layers = layer_stamps ? layers : 0;
}

uint32_t hb_profile_stamp(uint32_t index) {
  return index <= stamp_layers ? stamps[index] : 0;
}

/* Cycles one hb_profile_mark costs, so that per-layer timings can subtract it. Two stamps
 * around a mark also time one counter read of their own (the end of the first and the
 * start of the second), which a layer's two stamps do not: measured back to back, it is
 * taken out. */
void hb_profile_calibrate(void) {
  uint32_t start = hb_board_cycles();
  const uint32_t read = hb_board_cycles() - start;
  uint32_t with_mark;
  start = hb_board_cycles();
  hb_profile_mark(HB_MARK_SPARE);
  with_mark = hb_board_cycles() - start;
  hb_profile_overhead = with_mark > read ? with_mark - read : 0;
}

/* Kept out of line so that the plugin can count its instructions as measuring overhead. */
__attribute__((noinline)) void hb_profile_mark(uint32_t id) {
  const uint32_t now = hb_board_cycles();
  if (id == HB_MARK_START) stamps[0] = now;
  else if (id < stamp_layers) stamps[id + 1] = now;
  ((void (*)(void))((uintptr_t)hb_markers + 2u * id))();
}
