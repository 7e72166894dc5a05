/* The Armv6-M high multiply against the 64-bit formula: edge cases and 20 M random pairs. */
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include "srdhm_v6m.h"
static int32_t ref(int32_t a, int32_t b) { return (int32_t)(((int64_t)a * b + ((int64_t)1 << 30)) >> 31); }
int main(void) {
  uint64_t s = 88172645463325252ull; long bad = 0, n = 0;
  int32_t edges[] = {0, 1, -1, 2, -2, 32767, -32768, 65535, -65536, 65536, INT32_MAX, INT32_MIN, INT32_MIN + 1, 1 << 30, -(1 << 30), 0x40000001, 0x7FFF0000};
  for (unsigned i = 0; i < sizeof edges / sizeof *edges; ++i)
    for (unsigned j = 0; j < sizeof edges / sizeof *edges; ++j) {
      int32_t a = edges[i], b = edges[j] < 0 ? -(edges[j] + 1) : edges[j];
      n++; if (hb_srdhm_v6m(a, b) != ref(a, b)) { bad++; printf("a=%d b=%d %d %d\n", a, b, hb_srdhm_v6m(a,b), ref(a,b)); }
    }
  for (long k = 0; k < 20000000; ++k) {
    s ^= s << 13; s ^= s >> 7; s ^= s << 17;
    int32_t a = (int32_t)s; int32_t b = (int32_t)((s >> 32) & 0x7FFFFFFF);
    if (k & 1) a >>= (s >> 59);   /* small magnitudes too */
    n++; if (hb_srdhm_v6m(a, b) != ref(a, b)) { bad++; if (bad < 5) printf("a=%d b=%d\n", a, b); }
  }
  printf("%ld checked, %ld wrong\n", n, bad);
  return bad != 0;
}
