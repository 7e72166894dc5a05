/* STM32 USART/LPUART, polled. Two register layouts: the classic one (F1/F2/F4: SR, DR)
 * and the newer one (L4, H7, G4, LPUART: ISR, RDR, TDR), chosen with HB_USART_ISR_LAYOUT.
 * The board has enabled the peripheral clock, set the pins and computed HB_UART_BRR. */
#include <stdint.h>
#include "hb_board.h"

#define REG(offset) (*(volatile uint32_t *)(HB_UART_BASE + (offset)))

#ifdef HB_USART_ISR_LAYOUT
#define CR1 REG(0x00)
#define BRR REG(0x0C)
#define STATUS REG(0x1C)
#define RX_DATA REG(0x24)
#define TX_DATA REG(0x28)
#define CR1_UE (1u << 0)
#else
#define STATUS REG(0x00)
#define RX_DATA REG(0x04)
#define TX_DATA REG(0x04)
#define BRR REG(0x08)
#define CR1 REG(0x0C)
#define CR1_UE (1u << 13)
#endif
#define CR1_TE (1u << 3)
#define CR1_RE (1u << 2)
#define STATUS_TXE (1u << 7)
#define STATUS_RXNE (1u << 5)
#define STATUS_ORE (1u << 3)

void hb_uart_init(void) {
  CR1 = 0;
  BRR = HB_UART_BRR;
  CR1 = CR1_TE | CR1_RE;
  CR1 |= CR1_UE;
}

uint8_t hb_board_getc(void) {
  uint32_t status;
  while (!((status = STATUS) & STATUS_RXNE)) {
#ifdef HB_USART_ISR_LAYOUT
    if (status & STATUS_ORE) REG(0x20) = STATUS_ORE;  /* ICR: clear overrun, keep going */
#endif
  }
  return (uint8_t)RX_DATA;
}

void hb_board_putc(uint8_t byte) {
  while (!(STATUS & STATUS_TXE)) {
  }
  TX_DATA = byte;
}
