"""Per-vector time of the batched host reference against TFLM's interpreter invoke loop.

Both run in this process on the same vectors, so the ratio is meaningful on a shared,
noisy machine even when the absolute figures are not. Usage:
    python bench/bench_reference.py [--models DIR] [--vectors N] [--large-vectors N]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
from rich.console import Console
from rich.table import Table

from hilbench.model import load_model
from hilbench.reference import Reference
from hilbench.reference.tflm_oracle import TflmOracle

LARGE_MACS = 5_000_000  # models above this get --large-vectors (VWW, ResNet)


def _best_of(repeats: int, fn) -> float:
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main() -> int:
    repo = Path(__file__).resolve().parents[1]
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--models", type=Path, default=repo.parent / "shared" / "models")
    parser.add_argument("--vectors", type=int, default=1000)
    parser.add_argument("--large-vectors", type=int, default=200)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()

    from hilbench.model.stats import model_stats

    table = Table(title="host reference vs tflite-micro interpreter (per vector, best of "
                        f"{args.repeats})", title_justify="left")
    for column in ("model", "vectors", "reference", "TFLM invoke", "speed-up", "same outputs"):
        table.add_column(column, justify="left" if column == "model" else "right")
    slower = []
    for path in sorted(args.models.glob("*.tflite")):
        graph = load_model(path)
        count = args.vectors if model_stats(graph).total_macs < LARGE_MACS else args.large_vectors
        tensor = graph.input_tensors[0]
        x = np.random.default_rng(0).integers(-128, 128, (count,) + tensor.shape, dtype=np.int8)
        reference = Reference(graph)
        oracle = TflmOracle(path, graph, preserve_all_tensors=False)
        ours = _best_of(args.repeats, lambda r=reference, v=x: r.run([v]))
        theirs = _best_of(args.repeats, lambda o=oracle, v=x: [o.invoke(row) for row in v])
        same = np.array_equal(reference.run([x[:50]]).outputs[0], oracle.run(x[:50]).outputs[0])
        ratio = theirs / ours
        if ratio <= 1.0:
            slower.append(path.stem)
        table.add_row(path.stem, str(count), f"{ours / count * 1e6:.1f} us",
                      f"{theirs / count * 1e6:.1f} us", f"{ratio:.1f}x", "yes" if same else "NO")
    console = Console(width=120)
    console.print(table)
    if slower:
        console.print(f"target missed (reference not faster): {', '.join(slower)}")
        return 1
    console.print("target met: the batched reference is faster per vector on every model")
    return 0


if __name__ == "__main__":
    sys.exit(main())
