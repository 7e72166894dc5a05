/* NUCLEO-F401RE: STM32F401RE (Cortex-M4F). HSI 16 MHz -> PLL 84 MHz; USART2 on PA2/PA3
 * (AF7) is the ST-LINK virtual COM port, clocked from APB1 at 42 MHz. */
#include <stdint.h>
#include "hb_board.h"
#include "../common/stm32_gpio.h"

#define RCC 0x40023800u
#define RCC_CR (*(volatile uint32_t *)(RCC + 0x00))
#define RCC_PLLCFGR (*(volatile uint32_t *)(RCC + 0x04))
#define RCC_CFGR (*(volatile uint32_t *)(RCC + 0x08))
#define RCC_AHB1ENR (*(volatile uint32_t *)(RCC + 0x30))
#define RCC_APB1ENR (*(volatile uint32_t *)(RCC + 0x40))
#define FLASH_ACR (*(volatile uint32_t *)0x40023C00u)
#define GPIOA 0x40020000u

void hb_uart_init(void);
void hb_cycles_init(void);

static void clock_84mhz(void) {
  FLASH_ACR = 2u | (1u << 8) | (1u << 9) | (1u << 10);  /* 2 wait states, prefetch, caches */
  /* PLL from HSI: M = 16 (1 MHz), N = 336, P = 4 -> 84 MHz, Q = 7 */
  RCC_PLLCFGR = 16u | (336u << 6) | (1u << 16) | (7u << 24);
  RCC_CR |= 1u << 24;                                    /* PLLON */
  while (!(RCC_CR & (1u << 25))) {
  }
  RCC_CFGR = (4u << 10) | 2u;                            /* APB1 = HCLK / 2, SYSCLK = PLL */
  while ((RCC_CFGR & (3u << 2)) != (2u << 2)) {
  }
}

void hb_board_init(void) {
  clock_84mhz();
  RCC_AHB1ENR |= 1u << 0;   /* GPIOA */
  RCC_APB1ENR |= 1u << 17;  /* USART2 */
  hb_stm32_pin_af(GPIOA, 2, 7);
  hb_stm32_pin_af(GPIOA, 3, 7);
  hb_uart_init();
  hb_cycles_init();
}
