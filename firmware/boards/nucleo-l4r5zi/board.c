/* NUCLEO-L4R5ZI: STM32L4R5ZI (Cortex-M4F), the MLPerf Tiny reference board. MSI 4 MHz ->
 * PLL 120 MHz in range-1 boost mode; LPUART1 on PG7/PG8 (AF8) is the ST-LINK virtual COM
 * port, clocked from PCLK1 (120 MHz). Port G is powered from VDDIO2, enabled here. */
#include <stdint.h>
#include "hb_board.h"
#include "../common/stm32_gpio.h"

#define RCC 0x40021000u
#define RCC_CR (*(volatile uint32_t *)(RCC + 0x00))
#define RCC_CFGR (*(volatile uint32_t *)(RCC + 0x08))
#define RCC_PLLCFGR (*(volatile uint32_t *)(RCC + 0x0C))
#define RCC_AHB2ENR (*(volatile uint32_t *)(RCC + 0x4C))
#define RCC_APB1ENR1 (*(volatile uint32_t *)(RCC + 0x58))
#define RCC_APB1ENR2 (*(volatile uint32_t *)(RCC + 0x5C))
#define PWR_CR2 (*(volatile uint32_t *)0x40007004u)
#define PWR_CR5 (*(volatile uint32_t *)0x40007080u)
#define FLASH_ACR (*(volatile uint32_t *)0x40022000u)
#define GPIOG 0x48001800u

void hb_uart_init(void);
void hb_cycles_init(void);

static void clock_120mhz(void) {
  RCC_APB1ENR1 |= 1u << 28;                  /* PWR */
  PWR_CR5 &= ~1u;                            /* R1MODE = 0: range 1 boost, needed > 80 MHz */
  FLASH_ACR = (FLASH_ACR & ~0xFu) | 5u;      /* 5 wait states at 120 MHz */
  /* PLL from MSI 4 MHz: M = 1, N = 60 -> 240 MHz VCO, R = 2 -> 120 MHz */
  RCC_PLLCFGR = 1u | (0u << 4) | (60u << 8) | (1u << 24);  /* PLLSRC = MSI, PLLREN */
  RCC_CR |= 1u << 24;                        /* PLLON */
  while (!(RCC_CR & (1u << 25))) {
  }
  RCC_CFGR = (RCC_CFGR & ~0xF3u) | (8u << 4) | 3u;  /* AHB / 2 while switching, SW = PLL */
  while ((RCC_CFGR & (3u << 2)) != (3u << 2)) {
  }
  RCC_CFGR &= ~(0xFu << 4);                  /* then AHB / 1 */
}

void hb_board_init(void) {
  clock_120mhz();
  RCC_AHB2ENR |= 1u << 6;                    /* GPIOG */
  PWR_CR2 |= 1u << 9;                        /* IOSV: VDDIO2 valid, port G usable */
  RCC_APB1ENR2 |= 1u << 0;                   /* LPUART1 */
  hb_stm32_pin_af(GPIOG, 7, 8);
  hb_stm32_pin_af(GPIOG, 8, 8);
  hb_uart_init();
  hb_cycles_init();
}
