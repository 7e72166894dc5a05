/*
 * Generic Cortex-M start-up: vector table, .data/.bss set-up, stack painting, and a
 * HardFault handler that hands the stacked registers to the application's reporter.
 * The linker script provides the symbols used here.
 */
#include <stdint.h>
#include "hb_board.h"

extern uint32_t __data_load, __data_start, __data_end, __bss_start, __bss_end;
extern uint32_t __stack_bottom, __stack_top;
extern int main(void);

#define STACK_PAINT 0xA5A5A5A5u

void Reset_Handler(void);
void HardFault_Handler(void);
void Default_Handler(void);
void SysTick_Handler(void) __attribute__((weak, alias("Default_Handler")));

__attribute__((section(".vectors"), used))
const void *const hb_vectors[16 + 48] = {
    &__stack_top,        /* initial SP */
    Reset_Handler,       /* reset */
    Default_Handler,     /* NMI */
    HardFault_Handler,   /* HardFault */
    HardFault_Handler,   /* MemManage */
    HardFault_Handler,   /* BusFault */
    HardFault_Handler,   /* UsageFault */
    0, 0, 0, 0,          /* reserved */
    Default_Handler,     /* SVCall */
    Default_Handler,     /* debug monitor */
    0,                   /* reserved */
    Default_Handler,     /* PendSV */
    SysTick_Handler,     /* SysTick: the cycle counter of cores without DWT */
};

void Reset_Handler(void) {
  uint32_t *src = &__data_load, *dst = &__data_start, *p;
  uint32_t sp;
#if defined(__ARM_FP) || defined(__ARM_FEATURE_MVE)
  /* Built with FPU or MVE (Helium) instructions: grant full access to coprocessors CP10
   * and CP11 (CPACR, 0xE000ED88) before any of them runs, or the first one faults. */
  *(volatile uint32_t *)0xE000ED88u |= 0xFu << 20;
  __asm__ volatile("dsb\n\tisb" ::: "memory");
#endif
  while (dst < &__data_end) *dst++ = *src++;
  for (dst = &__bss_start; dst < &__bss_end; ++dst) *dst = 0;
  /* Paint the unused stack below us so that the high-water mark can be measured. */
  __asm__ volatile("mov %0, sp" : "=r"(sp));
  for (p = &__stack_bottom; p < (uint32_t *)(sp - 64); ++p) *p = STACK_PAINT;
  main();
  for (;;) {
  }
}

uint32_t hb_stack_size(void) {
  return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)&__stack_bottom);
}

uint32_t hb_stack_peak(void) {
  const uint32_t *p = &__stack_bottom;
  while (p < &__stack_top && *p == STACK_PAINT) ++p;
  return (uint32_t)((uintptr_t)&__stack_top - (uintptr_t)p);
}

__attribute__((naked)) void HardFault_Handler(void) {
  /* Pick the stack the fault happened on (bit 2 of EXC_RETURN) and report from C. */
  __asm__ volatile(
      "mov r1, lr          \n"
      "movs r0, #4         \n"
      "tst r0, r1          \n"
      "bne 1f              \n"
      "mrs r0, msp         \n"
      "b 2f                \n"
      "1: mrs r0, psp      \n"
      "2: ldr r2, =hb_report_fault \n"
      "bx r2               \n");
}

void Default_Handler(void) {
  for (;;) {
  }
}
