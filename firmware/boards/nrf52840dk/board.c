/* nRF52840-DK: nRF52840 (Cortex-M4F, 64 MHz). Starts the external 32 MHz crystal for an
 * accurate UART clock; UART0 on P0.06 (TX) / P0.08 (RX) is the J-Link virtual COM port. */
#include <stdint.h>
#include "hb_board.h"

#define CLOCK_TASKS_HFCLKSTART (*(volatile uint32_t *)0x40000000u)
#define CLOCK_EVENTS_HFCLKSTARTED (*(volatile uint32_t *)0x40000100u)
#define UART_PSEL_TXD (*(volatile uint32_t *)(HB_UART_BASE + 0x50C))
#define UART_PSEL_RXD (*(volatile uint32_t *)(HB_UART_BASE + 0x514))

void hb_uart_init(void);
void hb_cycles_init(void);

void hb_board_init(void) {
  CLOCK_EVENTS_HFCLKSTARTED = 0;
  CLOCK_TASKS_HFCLKSTART = 1;
  while (!CLOCK_EVENTS_HFCLKSTARTED) {
  }
  UART_PSEL_TXD = 6;
  UART_PSEL_RXD = 8;
  hb_uart_init();
  hb_cycles_init();
}
