/* NUCLEO-H743ZI2: STM32H743ZI (Cortex-M7). Runs at the reset clock, HSI 64 MHz (raising it
 * to 480 MHz needs the board's supply configuration; not done yet). USART3 on PD8/PD9
 * (AF7) is the ST-LINK virtual COM port, clocked from PCLK1 = 64 MHz. */
#include <stdint.h>
#include "hb_board.h"
#include "../common/stm32_gpio.h"

#define RCC_AHB4ENR (*(volatile uint32_t *)0x580244E0u)
#define RCC_APB1LENR (*(volatile uint32_t *)0x580244E8u)
#define GPIOD 0x58020C00u

void hb_uart_init(void);
void hb_cycles_init(void);

void hb_board_init(void) {
  RCC_AHB4ENR |= 1u << 3;    /* GPIOD */
  RCC_APB1LENR |= 1u << 18;  /* USART3 */
  (void)RCC_APB1LENR;        /* read back: the enable takes effect before first access */
  hb_stm32_pin_af(GPIOD, 8, 7);
  hb_stm32_pin_af(GPIOD, 9, 7);
  hb_uart_init();
  hb_cycles_init();
}
