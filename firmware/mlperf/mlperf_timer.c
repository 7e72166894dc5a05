/* Time stamps for m-lap-us: the board's cycle counter, which the MLPerf build makes SysTick
 * on every board (hilbench/toolchain/firmware.py swaps DWT for it): every Cortex-M has it
 * and QEMU models it (its DWT reads 0); under QEMU with -icount it runs in virtual time,
 * so the figures are deterministic. Its 32-bit count is extended to 64 bits here, which
 * needs a read at least every 2^32 ticks: 34 s at 125 MHz, longer than MLPerf's longest
 * window (the runner gives up after 30 s), and every lap reads it. */
#include <stdint.h>
#include "hb_board.h"
#include "hb_mlperf.h"

static uint32_t last_low;
static uint32_t high;

void hb_mlperf_timer_init(void) { last_low = hb_board_cycles(); }

uint64_t hb_mlperf_ticks(void) {
  const uint32_t now = hb_board_cycles();
  if (now < last_low) ++high;
  last_low = now;
  return (uint64_t)high << 32 | now;
}

uint64_t hb_mlperf_ticks_to_us(uint64_t ticks) {
  const uint64_t hz = hb_mlperf_timer_hz;
  return ticks / hz * 1000000u + ticks % hz * 1000000u / hz;
}
