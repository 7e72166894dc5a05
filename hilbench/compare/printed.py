"""Outputs a device printed as decimal text (MLPerf's m-results-[...]) against the host
reference.

Each printed value is checked against the reference's dequantized value (real = scale ×
(q − zero point)) within the precision it was printed with: half a unit of its last
digit, which is what rounding to that many digits costs, plus 0.1 % of that unit for the
printing DUT's own arithmetic (hilbench's firmware: a 30-bit fixed-point multiplier; a
float32 printf: 2^-24 relative). Where the printed precision tells neighbouring quantized
values apart (a unit of the last digit at most half the scale), the quantized value is
recovered and compared exactly too. Top-1: the reference's arg-max is among the printed
maxima.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

import numpy as np

from hilbench.compare.metrics import dequantize
from hilbench.errors import TargetError
from hilbench.model.graph import Tensor

ARITHMETIC_SLACK = 1.001  # of half a unit of the last printed digit


@dataclass(frozen=True)
class PrintedMismatch:
    vector: int
    index: int  # in the printed list (the outputs in model order)
    expected: float
    printed: str


@dataclass(frozen=True)
class PrintedComparison:
    values: int
    within_precision: int
    max_abs_diff: float
    decimals: int  # the fewest digits after the point seen
    tolerance: float  # half a unit of that digit, with the slack
    bit_exact: bool | None  # None when the printed precision cannot resolve one step
    top1_agreement: float
    first: PrintedMismatch | None

    @property
    def passed(self) -> bool:
        return self.within_precision == self.values and self.top1_agreement == 1.0


def parse_printed(texts: Sequence[str], where: str) -> tuple[np.ndarray, np.ndarray]:
    """The values and, for each, the number of digits after the point it was printed
    with (1.5e-3 counts as 4)."""
    values, decimals = [], []
    for text in texts:
        try:
            number = Decimal(text)
        except InvalidOperation:
            raise TargetError(f"{where}: {text[:20]!r} is not a number") from None
        if not number.is_finite():
            raise TargetError(f"{where}: printed {text!r}")
        exponent = number.as_tuple().exponent
        assert isinstance(exponent, int)
        values.append(float(number))
        decimals.append(max(0, -exponent))
    return np.array(values, np.float64), np.array(decimals, np.int64)


def compare_printed(expected: list[np.ndarray], printed: Sequence[Sequence[str]],
                    tensors: Sequence[Tensor]) -> PrintedComparison:
    """expected: one array per model output, (vectors, ...) as the reference gives them;
    printed: per vector, every output's values in model order."""
    sizes = [int(np.prod(t.shape)) for t in tensors]
    values = within = 0
    max_diff = 0.0
    fewest = 99
    exact: bool | None = True
    agree: list[bool] = []
    first = None
    for vector, texts in enumerate(printed):
        where = f"vector {vector + 1}"
        if len(texts) != sum(sizes):
            raise TargetError(f"{where}: the DUT printed {len(texts)} results, the model has "
                              f"{sum(sizes)} output values: is it running this model?")
        got, digits = parse_printed(texts, where)
        offset = 0
        for out, tensor, size in zip(expected, tensors, sizes):
            reference_q = out[vector].reshape(-1)
            reference = dequantize(reference_q, tensor)
            part, places = got[offset:offset + size], digits[offset:offset + size]
            unit = 10.0 ** -places.astype(np.float64)
            diff = np.abs(part - reference)
            ok = diff <= 0.5 * unit * ARITHMETIC_SLACK
            values += size
            within += int(ok.sum())
            max_diff = max(max_diff, float(diff.max()))
            fewest = min(fewest, int(places.min()))
            if first is None and not ok.all():
                k = int(np.argmin(ok))
                first = PrintedMismatch(vector, offset + k, float(reference[k]), texts[offset + k])
            if tensor.quantization is not None and exact is not None:
                scale = float(tensor.scale)
                if np.all(unit <= scale / 2):
                    recovered = np.rint(part / scale) + tensor.zero_point
                    exact = exact and bool(np.array_equal(recovered, reference_q))
                else:
                    exact = None
            top = part.max()
            agree.append(bool(part[int(np.argmax(reference))] >= top))
            offset += size
    unit = 10.0 ** -fewest if values else 0.0
    return PrintedComparison(values=values, within_precision=within, max_abs_diff=max_diff,
                             decimals=fewest if values else 0,
                             tolerance=0.5 * unit * ARITHMETIC_SLACK,
                             bit_exact=exact if values else None,
                             top1_agreement=float(np.mean(agree)) if agree else 1.0,
                             first=first)
