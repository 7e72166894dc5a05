/* DWT cycle counter (Cortex-M3 and up). Reads 0 under QEMU, which has no DWT model. */
#include <stdint.h>
#include "hb_board.h"

#define DEMCR (*(volatile uint32_t *)0xE000EDFCu)
#define DWT_CTRL (*(volatile uint32_t *)0xE0001000u)
#define DWT_CYCCNT (*(volatile uint32_t *)0xE0001004u)

void hb_cycles_init(void) {
  DEMCR |= 1u << 24;  /* TRCENA */
  DWT_CYCCNT = 0;
  DWT_CTRL |= 1u;
}

uint32_t hb_board_cycles(void) { return DWT_CYCCNT; }
