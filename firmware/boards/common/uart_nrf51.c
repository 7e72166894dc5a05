/* nRF51 UART (BBC micro:bit), polled. HB_UART_BASE comes from the board. */
#include <stdint.h>
#include "hb_board.h"

#define REG(offset) (*(volatile uint32_t *)(HB_UART_BASE + (offset)))
#define TASKS_STARTRX REG(0x000)
#define TASKS_STARTTX REG(0x008)
#define EVENTS_RXDRDY REG(0x108)
#define EVENTS_TXDRDY REG(0x11C)
#define ENABLE REG(0x500)
#define RXD REG(0x518)
#define TXD REG(0x51C)
#define BAUDRATE REG(0x524)

void hb_uart_init(void) {
  BAUDRATE = 0x01D7E000u;  /* 115200 baud */
  ENABLE = 4;
  TASKS_STARTTX = 1;
  TASKS_STARTRX = 1;
}

uint8_t hb_board_getc(void) {
  while (!EVENTS_RXDRDY) {
  }
  EVENTS_RXDRDY = 0;
  return (uint8_t)RXD;
}

void hb_board_putc(uint8_t byte) {
  EVENTS_TXDRDY = 0;
  TXD = byte;
  while (!EVENTS_TXDRDY) {
  }
}
