/* Decimal and hexadecimal output for the MLPerf DUT, in integer arithmetic only: the
 * results are printed after timing, but no soft-float library is linked for it either. */
#include "hb_link.h"
#include "hb_mlperf.h"

void hb_mlperf_puts(const char *text) {
  while (*text) hb_link_putc((uint8_t)*text++);
}

void hb_mlperf_put_u64(uint64_t value) {
  char digits[20];
  int count = 0;
  do {
    digits[count++] = (char)('0' + value % 10u);
    value /= 10u;
  } while (value != 0);
  while (count > 0) hb_link_putc((uint8_t)digits[--count]);
}

void hb_mlperf_put_hex32(uint32_t value) {
  int shift;
  hb_mlperf_puts("0x");
  for (shift = 28; shift >= 0; shift -= 4) hb_link_putc((uint8_t)"0123456789abcdef"[(value >> shift) & 0xFu]);
}

void hb_mlperf_put_fixed(int64_t value, uint32_t decimals) {
  uint64_t magnitude = value < 0 ? (uint64_t)(-(value + 1)) + 1u : (uint64_t)value;
  uint64_t unit = 1;
  uint32_t i;
  for (i = 0; i < decimals; ++i) unit *= 10u;
  if (value < 0) hb_link_putc('-');
  hb_mlperf_put_u64(magnitude / unit);
  if (decimals == 0) return;
  hb_link_putc('.');
  magnitude %= unit;
  for (unit /= 10u; unit > 0; unit /= 10u) { /* leading zeros of the fraction too */
    hb_link_putc((uint8_t)('0' + magnitude / unit));
    magnitude %= unit;
  }
}

int64_t hb_mlperf_scaled(int8_t q, const hb_mlperf_output *output) {
  const int64_t product = (int64_t)((int32_t)q - output->zero_point) * output->multiplier;
  const uint64_t magnitude = product < 0 ? (uint64_t)(-product) : (uint64_t)product;
  /* round half away from zero, as the host's check assumes */
  const uint64_t rounded = output->shift == 0
                               ? magnitude
                               : (magnitude + ((uint64_t)1 << (output->shift - 1))) >> output->shift;
  return product < 0 ? -(int64_t)rounded : (int64_t)rounded;
}
