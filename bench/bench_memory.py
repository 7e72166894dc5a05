"""Arena per shared model for each memory mode, beside the layer-by-layer lower bound and
TFLM's arena (as TFLM's own interpreter reports it for these models), with the MACs the
patch plan recomputes in halos. Code generation only, for the M4's default dsp kernels
(their scratch is part of the plan): no QEMU. Targets: VWW plain plan at most the bound
55,296 B, VWW patch plan at most 32,768 B; a missed target exits 1."""

from __future__ import annotations

import os
import sys
from pathlib import Path

from hilbench.codegen.c_model import generate_model
from hilbench.codegen.memory_plan import lifetimes, lower_bound
from hilbench.errors import ConfigError
from hilbench.model import load_model

MODELS = Path(os.environ.get("HILBENCH_SHARED_MODELS", "/work/shared/models"))
TFLM_ARENA = {"kws_ds_cnn_int8": 16_000, "ic_resnet8_int8": 49_152,
              "vww_mobilenet_v1_025_int8": 73_728, "ad_autoencoder_int8": 768}
TARGETS = {("vww_mobilenet_v1_025_int8", "plain"): 55_296,
           ("vww_mobilenet_v1_025_int8", "patch"): 32_768}


def main() -> int:
    missed = []
    print(f"{'model':28} {'plain':>8} {'inplace':>8} {'patch':>8} {'bound':>8} {'TFLM':>8}"
          f"  patch MACs overhead")
    for name, tflm in TFLM_ARENA.items():
        path = MODELS / f"{name}.tflite"
        graph = load_model(path)
        data = path.read_bytes()
        sizes: dict[str, int | None] = {}
        overhead = "no stage worth patching"
        for mode in ("plain", "inplace", "patch"):
            try:
                generated = generate_model(graph, data, name, "dsp", mode)
            except ConfigError:
                sizes[mode] = None
                continue
            sizes[mode] = generated.plan.arena_size
            patches = generated.arena.patches if generated.arena else None
            if patches is not None:
                overhead = (f"+{patches.extra_macs:,} ({patches.extra_macs / patches.base_macs:.0%}"
                            f" of ops {patches.first}..{patches.last}, "
                            f"{patches.grid[0]}x{patches.grid[1]} patches)")
        bound = lower_bound(lifetimes(graph), len(graph.operators))
        cells = [f"{v:>8,}" if v is not None else f"{'-':>8}" for v in sizes.values()]
        print(f"{name:28} {' '.join(cells)} {bound:>8,} {tflm:>8,}  {overhead}")
        for (model, mode), limit in TARGETS.items():
            value = sizes.get(mode)
            if model == name and (value is None or value > limit):
                missed.append(f"{name} {mode} arena {value} > {limit:,}")
    for line in missed:
        print(f"MISSED: {line}")
    return 1 if missed else 0


if __name__ == "__main__":
    sys.exit(main())
