/* Cores without a cycle counter reachable here (Armv6-M has no DWT CYCCNT). */
#include <stdint.h>
#include "hb_board.h"

void hb_cycles_init(void) {}

uint32_t hb_board_cycles(void) { return 0; }
