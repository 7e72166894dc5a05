/* ARM CMSDK APB UART (MPS2/MPS3 boards), polled. HB_UART_BASE comes from the board. */
#include <stdint.h>
#include "hb_board.h"

#define UART_DATA (*(volatile uint32_t *)(HB_UART_BASE + 0x00))
#define UART_STATE (*(volatile uint32_t *)(HB_UART_BASE + 0x04))
#define UART_CTRL (*(volatile uint32_t *)(HB_UART_BASE + 0x08))
#define UART_BAUDDIV (*(volatile uint32_t *)(HB_UART_BASE + 0x10))
#define STATE_TX_FULL 1u
#define STATE_RX_FULL 2u

void hb_uart_init(void) {
  UART_BAUDDIV = 16;  /* the smallest legal divider; QEMU ignores the rate */
  UART_CTRL = 3;      /* TX and RX enable */
}

uint8_t hb_board_getc(void) {
  while (!(UART_STATE & STATE_RX_FULL)) {
  }
  return (uint8_t)UART_DATA;
}

void hb_board_putc(uint8_t byte) {
  while (UART_STATE & STATE_TX_FULL) {
  }
  UART_DATA = byte;
}
