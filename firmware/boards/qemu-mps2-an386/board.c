/* QEMU mps2-an386 (Cortex-M4): CMSDK UART0 at 0x40004000, DWT cycle counter. */
#include "hb_board.h"

void hb_uart_init(void);
void hb_cycles_init(void);

void hb_board_init(void) {
  hb_uart_init();
  hb_cycles_init();
}
