/* The protocol over the board's console UART. */
#include "hb_board.h"
#include "hb_link.h"

void hb_link_init(void) {}
uint8_t hb_link_getc(void) { return hb_board_getc(); }
void hb_link_putc(uint8_t byte) { hb_board_putc(byte); }
