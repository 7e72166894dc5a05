/* QEMU microbit (nRF51822, Cortex-M0): nRF51 UART0 at 0x40002000, no cycle counter. */
#include "hb_board.h"

void hb_uart_init(void);
void hb_cycles_init(void);

void hb_board_init(void) {
  hb_uart_init();
  hb_cycles_init();
}
