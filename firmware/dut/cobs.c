#include "cobs.h"

size_t hb_cobs_encode(const uint8_t *in, size_t length, uint8_t *out) {
  size_t read = 0, write = 1, code_index = 0;
  uint8_t code = 1;
  while (read < length) {
    if (in[read] == 0) {
      out[code_index] = code;
      code = 1;
      code_index = write++;
    } else {
      out[write++] = in[read];
      if (++code == 0xFF) {
        out[code_index] = code;
        code = 1;
        code_index = write++;
      }
    }
    ++read;
  }
  out[code_index] = code;
  return write;
}

size_t hb_cobs_decode(const uint8_t *in, size_t length, uint8_t *out) {
  size_t read = 0, write = 0;
  while (read < length) {
    const uint8_t code = in[read++];
    uint8_t i;
    if (code == 0 || read + code - 1 > length) return 0;
    for (i = 1; i < code; ++i) out[write++] = in[read++];
    if (code != 0xFF && read != length) out[write++] = 0;
  }
  return write;
}
