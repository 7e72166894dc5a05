/* Time stamps for m-lap-us: SysTick, which every Cortex-M has and QEMU models (its DWT
 * cycle counter reads 0), counting core clock ticks; under QEMU with -icount it runs in
 * virtual time, so the figures are deterministic. Extended to 64 bits by its wrap
 * interrupt, so windows of any length are timed. Boards whose cycle counter already is
 * SysTick (HB_MLPERF_SYSTICK_SHARED) own the interrupt: their 32-bit count is extended
 * here instead, read at least every 2^32 ticks (34 s at 125 MHz, longer than a window). */
#include <stdint.h>
#include "hb_board.h"
#include "hb_mlperf.h"

#ifdef HB_MLPERF_SYSTICK_SHARED

static uint32_t last_low;
static uint32_t high;

void hb_mlperf_timer_init(void) { last_low = hb_board_cycles(); }

uint64_t hb_mlperf_ticks(void) {
  const uint32_t now = hb_board_cycles();
  if (now < last_low) ++high;
  last_low = now;
  return (uint64_t)high << 32 | now;
}

#else

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)
#define SYST_RELOAD 0x00FFFFFFu

static volatile uint32_t wraps;

void SysTick_Handler(void) { wraps++; }

void hb_mlperf_timer_init(void) {
  SYST_RVR = SYST_RELOAD;
  SYST_CVR = 0;
  SYST_CSR = 7u; /* core clock, interrupt, enable */
  while (SYST_CVR == 0) {
    /* reads 0 until the first reload (QEMU too) */
  }
}

uint64_t hb_mlperf_ticks(void) {
  uint32_t high, low;
  do {
    high = wraps;
    low = SYST_CVR;
  } while (high != wraps);
  return (uint64_t)high * (SYST_RELOAD + 1u) + (SYST_RELOAD - low);
}

#endif

uint64_t hb_mlperf_ticks_to_us(uint64_t ticks) {
  const uint64_t hz = hb_mlperf_timer_hz;
  return ticks / hz * 1000000u + ticks % hz * 1000000u / hz;
}
