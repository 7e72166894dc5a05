/*
 * What a board supplies to the firmware: three functions (plus its linker script).
 * A new board is a boards/<name>.toml file and, at most, firmware/boards/<name>/.
 */
#ifndef HB_BOARD_H
#define HB_BOARD_H

#include <stdint.h>

void hb_board_init(void);
/* Blocking byte I/O on the board's console UART. */
uint8_t hb_board_getc(void);
void hb_board_putc(uint8_t byte);
/* Free-running cycle counter, or 0 when the core has none (or, as QEMU, reads 0). */
uint32_t hb_board_cycles(void);

/* Stack painting (startup code): lowest address ever used, and the region's bounds. */
uint32_t hb_stack_size(void);
uint32_t hb_stack_peak(void);

/* Called by the HardFault handler with the stacked exception frame. Never returns. */
void hb_report_fault(const uint32_t *frame, uint32_t exc_return);

#endif
