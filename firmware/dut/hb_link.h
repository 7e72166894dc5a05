/* The byte link the protocol runs over: the console UART (link_uart.c) or RAM ring buffers
 * that a debug probe reads and writes (link_probe.c), chosen at build time. */
#ifndef HB_LINK_H
#define HB_LINK_H
#include <stdint.h>

void hb_link_init(void);
uint8_t hb_link_getc(void);
void hb_link_putc(uint8_t byte);
#endif
