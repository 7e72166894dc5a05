/* Arm PrimeCell PL011 UART (RP2040, lm3s6965), polled. The board sets HB_UART_IBRD and
 * HB_UART_FBRD for 115200 baud at its UART clock. */
#include <stdint.h>
#include "hb_board.h"

#define REG(offset) (*(volatile uint32_t *)(HB_UART_BASE + (offset)))
#define DR REG(0x00)
#define FR REG(0x18)
#define IBRD REG(0x24)
#define FBRD REG(0x28)
#define LCR_H REG(0x2C)
#define CR REG(0x30)
#define FR_RXFE (1u << 4)
#define FR_TXFF (1u << 5)

void hb_uart_init(void) {
  CR = 0;
  IBRD = HB_UART_IBRD;
  FBRD = HB_UART_FBRD;
  LCR_H = 0x70;               /* 8 bits, FIFOs on; writing LCR_H latches the divisors */
  CR = (1u << 9) | (1u << 8) | 1u;  /* RXE, TXE, UARTEN */
}

uint8_t hb_board_getc(void) {
  while (FR & FR_RXFE) {
  }
  return (uint8_t)DR;
}

void hb_board_putc(uint8_t byte) {
  while (FR & FR_TXFF) {
  }
  DR = byte;
}
