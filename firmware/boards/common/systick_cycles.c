/* SysTick as a 32-bit cycle counter for cores without DWT (Cortex-M0/M0+): the 24-bit
 * down-counter runs from the core clock and its wrap interrupt extends it. */
#include <stdint.h>
#include "hb_board.h"

#define SYST_CSR (*(volatile uint32_t *)0xE000E010u)
#define SYST_RVR (*(volatile uint32_t *)0xE000E014u)
#define SYST_CVR (*(volatile uint32_t *)0xE000E018u)

static volatile uint32_t wraps;

void SysTick_Handler(void) { wraps++; }

void hb_cycles_init(void) {
  SYST_RVR = 0x00FFFFFFu;
  SYST_CVR = 0;
  SYST_CSR = 7u;  /* core clock, interrupt, enable */
  while (SYST_CVR == 0) {
    /* the counter reads 0 until its first reload */
  }
}

uint32_t hb_board_cycles(void) {
  uint32_t high, low;
  do {
    high = wraps;
    low = SYST_CVR;
  } while (high != wraps);
  return high * 0x01000000u + (0x00FFFFFFu - low);
}
