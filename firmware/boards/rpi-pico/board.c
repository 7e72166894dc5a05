/* Raspberry Pi Pico: RP2040 (Cortex-M0+). 12 MHz crystal -> PLL_SYS 125 MHz for clk_sys and
 * clk_peri; UART0 on GP0 (TX) / GP1 (RX). The image runs from SRAM after the debugger
 * loads it: booting from flash needs a boot2 stage, which is not part of hilbench yet. */
#include <stdint.h>
#include "hb_board.h"

#define REG(address) (*(volatile uint32_t *)(address))
#define CLEAR(address) REG((address) + 0x3000u)  /* atomic bit-clear alias */
#define RESETS 0x4000C000u
#define RESET_IO_BANK0 (1u << 5)
#define RESET_PADS_BANK0 (1u << 8)
#define RESET_PLL_SYS (1u << 12)
#define RESET_UART0 (1u << 22)
#define XOSC 0x40024000u
#define PLL_SYS 0x40028000u
#define CLOCKS 0x40008000u
#define IO_BANK0 0x40014000u

void hb_uart_init(void);
void hb_cycles_init(void);

static void unreset(uint32_t bits) {
  CLEAR(RESETS + 0x0) = bits;
  while ((REG(RESETS + 0x8) & bits) != bits) {
  }
}

static void clocks_125mhz(void) {
  REG(XOSC + 0x00) = 0xAA0u;                       /* 1-15 MHz range */
  REG(XOSC + 0x0C) = 47u;                          /* ~1 ms start-up delay at 12 MHz */
  REG(XOSC + 0x00) = 0xAA0u | (0xFABu << 12);      /* enable */
  while (!(REG(XOSC + 0x04) & (1u << 31))) {
  }
  REG(CLOCKS + 0x30) = 2u;                         /* clk_ref <- xosc */
  while (REG(CLOCKS + 0x38) != (1u << 2)) {
  }
  REG(CLOCKS + 0x3C) = 0u;                         /* clk_sys <- clk_ref while the PLL starts */
  while (REG(CLOCKS + 0x44) != 1u) {
  }
  unreset(RESET_PLL_SYS);
  REG(PLL_SYS + 0x0) = 1u;                         /* REFDIV 1 */
  REG(PLL_SYS + 0x8) = 125u;                       /* VCO 1500 MHz */
  CLEAR(PLL_SYS + 0x4) = (1u << 0) | (1u << 5);    /* power up PLL and VCO */
  while (!(REG(PLL_SYS + 0x0) & (1u << 31))) {
  }
  REG(PLL_SYS + 0xC) = (6u << 16) | (2u << 12);    /* 1500 / 6 / 2 = 125 MHz */
  CLEAR(PLL_SYS + 0x4) = 1u << 3;                  /* post dividers on */
  REG(CLOCKS + 0x3C) = 1u;                         /* clk_sys <- aux = pll_sys */
  while (REG(CLOCKS + 0x44) != 2u) {
  }
  REG(CLOCKS + 0x48) = 1u << 11;                   /* clk_peri <- clk_sys, enabled */
}

void hb_board_init(void) {
  clocks_125mhz();
  unreset(RESET_IO_BANK0 | RESET_PADS_BANK0 | RESET_UART0);
  REG(IO_BANK0 + 0x04) = 2u;                       /* GP0 -> UART0 TX */
  REG(IO_BANK0 + 0x0C) = 2u;                       /* GP1 -> UART0 RX */
  hb_uart_init();
  hb_cycles_init();
}
