/* Put one STM32 GPIO pin in alternate-function mode (internal to STM32 board files). */
#ifndef HB_STM32_GPIO_H
#define HB_STM32_GPIO_H
#include <stdint.h>

static inline void hb_stm32_pin_af(uint32_t gpio_base, uint32_t pin, uint32_t af) {
  volatile uint32_t *moder = (volatile uint32_t *)(gpio_base + 0x00);
  volatile uint32_t *ospeedr = (volatile uint32_t *)(gpio_base + 0x08);
  volatile uint32_t *afr = (volatile uint32_t *)(gpio_base + 0x20 + 4 * (pin / 8));
  *moder = (*moder & ~(3u << (2 * pin))) | (2u << (2 * pin));      /* alternate function */
  *ospeedr |= 2u << (2 * pin);                                      /* high speed */
  *afr = (*afr & ~(0xFu << (4 * (pin % 8)))) | (af << (4 * (pin % 8)));
}
#endif
