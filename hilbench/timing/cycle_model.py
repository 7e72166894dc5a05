"""Estimated cycles per Cortex-M core from executed-instruction classes.

The firmware's exact instruction counts (QEMU plugin) are split into classes; each class
costs what Arm's technical reference manuals give for single-cycle-memory systems. These are
ESTIMATES: wait states, bus contention, dual issue (M7) and prefetch are not modelled, and
every figure derived from them is labelled "estimated" next to the exact counts.

Per-class costs (cycles), with the TRM instruction-timing tables they come from:

| core        | alu | load | store | mul | mac | div | simd | branch | taken +  | per LDM/STM reg | mve | mve_load | mve_store |
|-------------|-----|------|-------|-----|-----|-----|------|--------|----------|-----------------|-----|----------|-----------|
| cortex-m0   | 1   | 2    | 2     | 1   | 1*  | 1*  | 1*   | 1      | 2        | 1               | 1*  | 1*       | 1*        |
| cortex-m0plus | 1 | 2    | 2     | 1   | 1*  | 1*  | 1*   | 1      | 1        | 1               | 1*  | 1*       | 1*        |
| cortex-m3   | 1   | 2    | 1     | 1   | 2   | 7   | 1*   | 1      | 2        | 1               | 1*  | 1*       | 1*        |
| cortex-m4   | 1   | 2    | 1     | 1   | 1   | 7   | 1    | 1      | 2        | 1               | 1*  | 1*       | 1*        |
| cortex-m7   | 0.6 | 1    | 1     | 1   | 1   | 6   | 0.6  | 1      | 1        | 1               | 1*  | 1*       | 1*        |
| cortex-m33  | 1   | 2    | 1     | 1   | 1   | 6   | 1    | 1      | 2        | 1               | 1*  | 1*       | 1*        |
| cortex-m55  | 1   | 1    | 1     | 1   | 1   | 6   | 1    | 1      | 1        | 1               | 2   | 2        | 2         |

Sources: Cortex-M0 TRM (DDI 0432) table 3-1: ALU 1, LDR/STR 2, MULS 1 (fast multiplier),
B taken 3 / not taken 1, LDM/STM/PUSH/POP 1+N. Cortex-M0+ TRM (DDI 0484): taken branch 2.
Cortex-M3 TRM (DDI 0337) table 18-1: LDR 2, STR 1 (write buffer), MUL 1, MLA 2,
UMULL/SMLAL 3-7, SDIV/UDIV 2-12 (mid value 7), branch 1 + P with P = 1..3 refill (2 used).
Cortex-M4 TRM (DDI 0439) table 3-1: as M3 but MLA, SMLAL, SMLAxy and SIMD 1 cycle.
Cortex-M7 TRM (DDI 0489): dual issue of ALU pairs (0.6 average), loads 1, SDIV 3-9
(6 used), branch prediction (1 extra on a taken branch). Cortex-M33 TRM (100230):
M4-like, SDIV 2-11. Cortex-M55 TRM (101051): scalar pipeline with single-cycle loads and
branch prediction. * Armv6-M has no MAC, divide or SIMD instructions, and only Armv8.1-M
with MVE (the M55 here) has the mve classes; never executed.
The "load" and "store" costs count the instruction; LDM/STM/PUSH/POP add one cycle per
register transferred.

The dsp kernels (firmware/kernels/dsp/) as the plugin classes them (hb_insn_count.c):
SMLAD, SMLABB/SMLATT and SMMULR are in the MAC group (encodings 0xFB0x-0xFB7x): single
cycle on M4 (DDI 0439 table 3-1: SMLAD, SMMUL and SMLAxy 1 cycle), and costed the same on
M7 and M33 (their TRMs give the 32-bit DSP multiplies a 1-cycle issue); SXTB16, SSAT/USAT
and PKHBT
are ALU (1 cycle on M4/M33, dual-issuable on M7); SADD16 and the other parallel add/sub
instructions are SIMD (1 cycle). LDRD is a load plus one register (LDR+1 on M4, DDI 0439
"LDRD 1 + N"). All remain estimates.

MVE (Helium) on the Cortex-M55, the mve kernels (firmware/kernels/mve/) as the plugin classes
them: every 128-bit vector instruction is four "beats" of 32 bits (Armv8.1-M ARM, DDI 0553,
"beat-wise execution"), and the Cortex-M55 TRM (101051, "Processor features": a dual-beat
MVE implementation, two beats per cycle, with a 64-bit MVE load/store path) makes it occupy
the MVE pipeline 2 cycles. mve = vector data processing (VMLADAV/VMLAV, VQRDMULH, VRSHL,
VADD, VMUL, VMOVL/VMOVN, VMAX/VMIN, VDUP, VPT/VCMP, ...): 2. mve_load/mve_store = VLDRB/H/W
and VSTRB/H/W (also the widening and narrowing forms, and gather/scatter): 2, a 128-bit
transfer at 64 bits a cycle. The architecture lets consecutive vector instructions overlap
(a load's last beats with the next instruction's first, in a dual-beat implementation a
load and a multiply-accumulate pair in about 2 cycles rather than 4); that overlap is not
modelled, so these figures are the documented per-instruction occupancy, an upper estimate.
VPST, VCTP and the low-overhead-loop set-up (DLS, DLSTP, LCTP) are alu (1); LE and WLS are
branches. VMOV of one lane, VMRS/VMSR (the predicate register) and VPUSH/VPOP remain alu.
"""

from __future__ import annotations

from hilbench.errors import ConfigError

CLASS_COSTS: dict[str, dict[str, float]] = {
    "cortex-m0": dict(alu=1, load=2, store=2, mul=1, mac=1, div=1, simd=1, branch=1,
                      taken_branch=2, multi_regs=1, mve=1, mve_load=1, mve_store=1),
    "cortex-m0plus": dict(alu=1, load=2, store=2, mul=1, mac=1, div=1, simd=1, branch=1,
                          taken_branch=1, multi_regs=1, mve=1, mve_load=1, mve_store=1),
    "cortex-m3": dict(alu=1, load=2, store=1, mul=1, mac=2, div=7, simd=1, branch=1,
                      taken_branch=2, multi_regs=1, mve=1, mve_load=1, mve_store=1),
    "cortex-m4": dict(alu=1, load=2, store=1, mul=1, mac=1, div=7, simd=1, branch=1,
                      taken_branch=2, multi_regs=1, mve=1, mve_load=1, mve_store=1),
    "cortex-m7": dict(alu=0.6, load=1, store=1, mul=1, mac=1, div=6, simd=0.6, branch=1,
                      taken_branch=1, multi_regs=1, mve=1, mve_load=1, mve_store=1),
    "cortex-m33": dict(alu=1, load=2, store=1, mul=1, mac=1, div=6, simd=1, branch=1,
                       taken_branch=2, multi_regs=1, mve=1, mve_load=1, mve_store=1),
    "cortex-m55": dict(alu=1, load=1, store=1, mul=1, mac=1, div=6, simd=1, branch=1,
                       taken_branch=1, multi_regs=1, mve=2, mve_load=2, mve_store=2),
}


def estimate_cycles(core: str, classes: dict[str, int]) -> int:
    try:
        costs = CLASS_COSTS[core]
    except KeyError:
        raise ConfigError(f"no cycle model for core {core!r}") from None
    return int(round(sum(costs[name] * count for name, count in classes.items())))
