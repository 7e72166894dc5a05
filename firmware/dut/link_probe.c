/*
 * The protocol over RAM, for a debug probe (SEGGER-RTT style): a control block with one
 * ring buffer per direction. The target owns up_write and down_read, the host owns
 * up_read and down_write; each side only ever advances its own index, so no lock is
 * needed. The host finds the block by the ELF symbol hb_link_block and checks the magic.
 */
#include <stdint.h>
#include "hb_link.h"

#define UP_SIZE 4096u
#define DOWN_SIZE 4096u

typedef struct {
  char magic[16];
  uint32_t up_size, down_size;
  volatile uint32_t up_write, up_read;      /* target -> host */
  volatile uint32_t down_write, down_read;  /* host -> target */
  uint8_t up[UP_SIZE];
  uint8_t down[DOWN_SIZE];
} hb_link_control;

hb_link_control hb_link_block __attribute__((used, aligned(8)));

static inline void barrier(void) { __asm__ volatile("dmb" ::: "memory"); }

void hb_link_init(void) {
  static const char magic[16] = "HILBENCH-LINK-1";
  unsigned i;
  hb_link_block.up_size = UP_SIZE;
  hb_link_block.down_size = DOWN_SIZE;
  for (i = 0; i < sizeof magic; ++i) hb_link_block.magic[i] = magic[i];
  barrier();
}

/* Indices are taken modulo the ring size wherever they are read: the block is in RAM a
 * debugger writes, and an index out of range must never address past a ring (the sizes
 * are powers of two, so this is a mask). */
uint8_t hb_link_getc(void) {
  const uint32_t read = hb_link_block.down_read % DOWN_SIZE;
  uint8_t byte;
  while (read == hb_link_block.down_write % DOWN_SIZE) {
  }
  barrier();
  byte = hb_link_block.down[read];
  hb_link_block.down_read = (read + 1u) % DOWN_SIZE;
  return byte;
}

void hb_link_putc(uint8_t byte) {
  const uint32_t write = hb_link_block.up_write % UP_SIZE;
  const uint32_t next = (write + 1u) % UP_SIZE;
  while (next == hb_link_block.up_read % UP_SIZE) {
  }
  hb_link_block.up[write] = byte;
  barrier();
  hb_link_block.up_write = next;
}
