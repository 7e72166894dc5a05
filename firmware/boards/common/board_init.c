/* The usual board set-up: console UART and cycle counter. Boards that need clocks or pins
 * configured first bring their own board.c instead. */
#include "hb_board.h"

void hb_uart_init(void);
void hb_cycles_init(void);

void hb_board_init(void) {
  hb_uart_init();
  hb_cycles_init();
}
