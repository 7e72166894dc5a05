/*
 * hilbench instruction counter for QEMU (TCG plugin, API version 1).
 *
 * The firmware calls one of HB_MARKERS one-instruction functions at fixed addresses at the
 * start of an inference (id START), after each layer (id = layer index) and at the end
 * (id END). The plugin recognises those blocks by address when it translates them, so no
 * memory access is instrumented. Every other block gets one execution callback that adds
 * its instruction count, split by instruction class, to the current layer. Blocks inside
 * the firmware's profiling function (the "overhead" range) count as overhead.
 * Output, one line per finished inference:
 *   inference <total> overhead <n> layers <L> then per layer: <insns> <class counts...>
 * Arguments: markers=<address>, overhead=<start>-<end>, out=<path>.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "qemu_plugin_api.h"

QEMU_PLUGIN_EXPORT int qemu_plugin_version = 1;

#define HB_MARKERS 1024
#define MARKER_START (HB_MARKERS - 2)
#define MARKER_END (HB_MARKERS - 1)
#define MAX_LAYERS (HB_MARKERS - 2)

/* instruction classes, in output order; their lower-case names are CLASSES in
 * hilbench/targets/qemu_plugin.py and the costed classes of hilbench/timing/cycle_model.py
 * (tests/test_contracts.py checks both) */
enum {
  ALU, LOAD, STORE, MUL, MAC, DIV, SIMD, BRANCH, TAKEN_BRANCH, MULTI_REGS,
  MVE, MVE_LOAD, MVE_STORE,  /* Armv8.1-M MVE (Helium): vector data processing, loads, stores */
  CLASSES
};

typedef struct {
  uint64_t vaddr, end;          /* [vaddr, end) */
  uint32_t insns;
  uint32_t classes[CLASSES];
  int ends_in_branch;
  int overhead;
} block_info;

static uint64_t marker_base, overhead_start, overhead_end;
static FILE *out;
static int current = -1;        /* layer index, or -1 outside an inference */
static int last_layer;          /* highest layer index seen in this inference */
static uint64_t counts[MAX_LAYERS][CLASSES + 1];  /* [layer][0] = instructions */
static uint64_t overhead;
static const block_info *previous;

static void classify16(uint16_t hw, uint32_t *c, int *branch) {
  if ((hw >> 11) == 0x09) c[LOAD]++;                                   /* LDR literal */
  else if ((hw >> 12) == 0x5) c[((hw >> 9) & 7) < 3 ? STORE : LOAD]++;  /* register offset */
  else if ((hw >> 13) == 0x3 || (hw >> 12) == 0x8 || (hw >> 12) == 0x9)
    c[(hw >> 11) & 1 ? LOAD : STORE]++;                                /* immediate offset */
  else if ((hw >> 12) == 0xC) {                                        /* LDM / STM */
    c[(hw >> 11) & 1 ? LOAD : STORE]++;
    c[MULTI_REGS] += (uint32_t)__builtin_popcount(hw & 0xFF);
  } else if ((hw & 0xFE00) == 0xB400 || (hw & 0xFE00) == 0xBC00) {    /* PUSH / POP */
    c[(hw & 0x0800) ? LOAD : STORE]++;
    c[MULTI_REGS] += (uint32_t)__builtin_popcount(hw & 0x1FF);
    if ((hw & 0xFF00) == 0xBD00) *branch = 1;                          /* POP {.., pc} */
  } else if ((hw & 0xFFC0) == 0x4340) c[MUL]++;
  else if (((hw & 0xF000) == 0xD000 && ((hw >> 8) & 0xE) != 0xE) || (hw & 0xF800) == 0xE000 ||
           (hw & 0xFF00) == 0x4700 || (hw & 0xF500) == 0xB100) {
    c[BRANCH]++;
    *branch = 1;
  } else c[ALU]++;
}

/* MVE (Armv8.1-M ARM, DDI 0553) in the coprocessor spaces: returns the class, or -1 for
 * anything else. The M-profile has no Advanced SIMD, so 0xEFxx/0xFFxx (VADD, VMUL,
 * VQRDMULH, VSHR, VAND/VORR, VMAX...) is all MVE; in 0xEExx/0xFExx and 0xECxx-0xEDxx /
 * 0xFCxx-0xFDxx MVE uses coprocessor numbers 14 and 15 (hw2 bits 11:9 = 111; the FPU's
 * are 10 and 11): VMLADAV/VMLAV, VMOVL/VMOVN, VADD with a scalar, VPT/VCMP... and the
 * vector loads and stores VLDRB/H/W, VSTRB/H/W (contiguous, gather/scatter, VLD2/VST2,
 * VLD4/VST4; bit 4 of hw1 is L). VDUP shares the FPU's coprocessor 11 encoding. */
static int classify_mve(uint16_t hw1, uint16_t hw2) {
  if ((hw1 & 0xEF00) == 0xEF00) return MVE;
  if ((hw1 & 0xFF90) == 0xEE80 && (hw2 & 0x0F5F) == 0x0B10) return MVE;  /* VDUP */
  if ((hw2 & 0x0E00) != 0x0E00) return -1;
  if ((hw1 & 0xEF00) == 0xEE00)
    return ((hw1 & 0xFFBF) == 0xFE31 && (hw2 & 0x3FFF) == 0x0F4D) ? ALU : MVE;  /* VPST */
  if ((hw1 & 0xEE00) == 0xEC00) {
    if ((hw1 & 0x01A0) == 0) return MVE;  /* P = U = W = 0: VMOV two lanes <-> two GPRs */
    return (hw1 & 0x0010) ? MVE_LOAD : MVE_STORE;
  }
  return -1;
}

static void classify32(uint16_t hw1, uint16_t hw2, uint32_t *c, int *branch) {
  const int mve = classify_mve(hw1, hw2);
  if (mve >= 0) c[mve]++;
  /* VCTP (writes the predicate from a scalar), and DLS, DLSTP and LCTP, which set up or end
   * a low-overhead loop without branching: not branches (LE and WLS below are) */
  else if ((hw1 & 0xFFC0) == 0xF000 && hw2 == 0xE801) c[ALU]++;
  else if ((hw1 & 0xFF80) == 0xF000 && hw2 == 0xE001) c[ALU]++;
  else if ((hw1 & 0xFE40) == 0xE800) {                                      /* LDM / STM */
    c[(hw1 >> 4) & 1 ? LOAD : STORE]++;
    c[MULTI_REGS] += (uint32_t)__builtin_popcount(hw2);
    if (((hw1 >> 4) & 1) && (hw2 & 0x8000)) *branch = 1;
  } else if ((hw1 & 0xFE40) == 0xE840) {                               /* LDRD/STRD, TBB */
    if ((hw1 & 0xFFF0) == 0xE8D0 && (hw2 & 0xFFE0) == 0xF000) { c[BRANCH]++; *branch = 1; }
    else { c[(hw1 >> 4) & 1 ? LOAD : STORE]++; c[MULTI_REGS] += 1; }
  } else if ((hw1 & 0xFE00) == 0xF800) c[(hw1 >> 4) & 1 ? LOAD : STORE]++;
  else if ((hw1 & 0xFF80) == 0xFB00)                                   /* MUL, MLA, SMLA.. */
    c[((hw1 & 0xFFF0) == 0xFB00 && (hw2 & 0xF0F0) == 0xF000) ? MUL : MAC]++;
  else if ((hw1 & 0xFF80) == 0xFB80)                                   /* long mul, divide */
    c[(((hw1 >> 4) & 5) == 1 && (hw2 & 0x00F0) == 0x00F0) ? DIV : MAC]++;
  else if ((hw1 & 0xFF80) == 0xFA80) c[SIMD]++;                        /* parallel add/sub */
  else if ((hw1 & 0xF800) == 0xF000 && (hw2 & 0x8000) &&
           ((hw2 & 0x5000) || ((hw1 >> 7) & 7) != 7)) {                /* B, BL, B<c> */
    c[BRANCH]++;
    *branch = 1;
  } else c[ALU]++;
}

static void finish_inference(void) {
  uint64_t total = overhead;
  /* a runtime that marks no layers (a user firmware on the DUT library) is one span */
  const int layers = last_layer < 0 ? 1 : last_layer + 1;
  int layer, k;
  for (layer = 0; layer < layers; ++layer) total += counts[layer][0];
  fprintf(out, "inference %llu overhead %llu layers %d", (unsigned long long)total,
          (unsigned long long)overhead, layers);
  for (layer = 0; layer < layers; ++layer)
    for (k = 0; k <= CLASSES; ++k) fprintf(out, " %llu", (unsigned long long)counts[layer][k]);
  fputc('\n', out);
  fflush(out);
}

static void on_marker(unsigned int vcpu, void *udata) {
  const int id = (int)(uintptr_t)udata;
  (void)vcpu;
  previous = NULL;
  if (id == MARKER_START) {
    memset(counts, 0, sizeof counts);
    overhead = 1;
    current = 0;
    last_layer = -1;
  } else if (current < 0) {
    return;
  } else if (id == MARKER_END) {
    overhead += 1;
    finish_inference();
    current = -1;
  } else {
    overhead += 1;
    if (id > last_layer) last_layer = id;
    current = id + 1 < MAX_LAYERS ? id + 1 : MAX_LAYERS - 1;
  }
}

static void on_block(unsigned int vcpu, void *udata) {
  const block_info *b = udata;
  int k;
  (void)vcpu;
  if (current < 0) return;
  /* a block that ended in a branch and is not followed by its fall-through: taken */
  if (previous && previous->ends_in_branch && !previous->overhead && b->vaddr != previous->end)
    counts[current][1 + TAKEN_BRANCH]++;
  previous = b;
  if (b->overhead) {
    overhead += b->insns;
    return;
  }
  counts[current][0] += b->insns;
  for (k = 0; k < CLASSES; ++k) counts[current][1 + k] += b->classes[k];
}

static void on_translate(qemu_plugin_id_t id, struct qemu_plugin_tb *tb) {
  const uint64_t vaddr = qemu_plugin_tb_vaddr(tb);
  const size_t n = qemu_plugin_tb_n_insns(tb);
  block_info *b;
  size_t i;
  (void)id;
  if (vaddr >= marker_base && vaddr < marker_base + 2 * HB_MARKERS) {
    qemu_plugin_register_vcpu_tb_exec_cb(tb, on_marker, QEMU_PLUGIN_CB_NO_REGS,
                                         (void *)(uintptr_t)((vaddr - marker_base) / 2));
    return;
  }
  b = calloc(1, sizeof *b);  /* lives as long as the translated block may run */
  b->vaddr = vaddr;
  b->insns = (uint32_t)n;
  b->overhead = vaddr >= overhead_start && vaddr < overhead_end;
  for (i = 0; i < n; ++i) {
    const struct qemu_plugin_insn *insn = qemu_plugin_tb_get_insn(tb, i);
    const uint8_t *bytes = qemu_plugin_insn_data(insn);
    const size_t size = qemu_plugin_insn_size(insn);
    int branch = 0;
    const uint16_t hw1 = (uint16_t)(bytes[0] | bytes[1] << 8);
    if (size == 4) classify32(hw1, (uint16_t)(bytes[2] | bytes[3] << 8), b->classes, &branch);
    else classify16(hw1, b->classes, &branch);
    if (i == n - 1) {
      b->ends_in_branch = branch;
      b->end = qemu_plugin_insn_vaddr(insn) + size;
    }
  }
  qemu_plugin_register_vcpu_tb_exec_cb(tb, on_block, QEMU_PLUGIN_CB_NO_REGS, b);
}

static void on_plugin_exit(qemu_plugin_id_t id, void *udata) {
  (void)id;
  (void)udata;
  if (out) fclose(out);
  out = NULL;
}

QEMU_PLUGIN_EXPORT int qemu_plugin_install(qemu_plugin_id_t id, const qemu_info_t *info,
                                           int argc, char **argv) {
  const char *path = NULL;
  int i;
  (void)info;
  for (i = 0; i < argc; ++i) {
    if (strncmp(argv[i], "markers=", 8) == 0) marker_base = strtoull(argv[i] + 8, NULL, 0);
    else if (strncmp(argv[i], "overhead=", 9) == 0) {
      char *dash;
      overhead_start = strtoull(argv[i] + 9, &dash, 0);
      overhead_end = strtoull(dash + 1, NULL, 0);
    } else if (strncmp(argv[i], "out=", 4) == 0) path = argv[i] + 4;
  }
  if (!marker_base || !path) {
    fprintf(stderr, "hb_insn_count: needs markers=<address> and out=<path>\n");
    return -1;
  }
  out = fopen(path, "w");
  if (!out) {
    perror("hb_insn_count");
    return -1;
  }
  qemu_plugin_register_vcpu_tb_trans_cb(id, on_translate);
  qemu_plugin_register_atexit_cb(id, on_plugin_exit, NULL);
  return 0;
}
