"""Requantization without a 64-bit product, for cores whose MULS is 32 x 32 -> 32 bits.

TFLM's requantization of an accumulator is clamp(MBQM(acc, M, shift) + zp, act_min, act_max)
(`fixedpoint.multiply_by_quantized_multiplier`). It is monotonic in acc, so clamping acc
into the window [lo, hi] where the output is not saturated changes nothing, provided the
clamped ends give act_min and act_max exactly. Inside that window |acc << left| is small
(for int8 outputs: about 256 / effective scale), and when it stays below 2**15 the product
with the 31-bit multiplier splits exactly into two 32-bit products:

    a = clamp(acc, lo, hi)                       (a * 2**left folded into mh, ml)
    x = a * mh + ((a * ml) >> 16) + 2**14        = (a*M*2**left + 2**30) >> 31 shifted by 15
    x += (x >> 31) & neg                         rounding half away from zero (right > 0)
    y = (x + add) >> total_shift                 add holds the rounding and zp << total_shift

with no clamp of y needed. Windows up to 2**(15 + j) drop the j lowest bits of M's low half
(ml = bits j..15, shifted by 16 - j): exact only if no rounding flips, which the check says. The record is computed here and then checked against the
reference for every accumulator of the window: a layer whose parameters do not allow it
(an accumulator or an intermediate over 32 bits, a saturating end that does not land on
act_min or act_max) gets no record, and the kernel keeps its general path.
"""

from __future__ import annotations

import numpy as np

from hilbench.reference.fixedpoint import multiply_by_quantized_multiplier

FIELDS = ("lo", "hi", "mh", "ml", "ml_shift", "neg", "add", "total_shift")  # int32 each
_INT32 = (-(2**31), 2**31 - 1)
_LIMIT = 2**15  # |a * 2**left| below this keeps both partial products in 32 bits


def _requantize(acc: np.ndarray, multiplier: int, shift: int, zp: int, act_min: int,
                act_max: int) -> np.ndarray:
    y = multiply_by_quantized_multiplier(acc, multiplier, shift) + zp
    return np.clip(y, act_min, act_max)


def _first_at_least(target: int, multiplier: int, shift: int, zp: int, start: int,
                    stop: int) -> int:
    """Smallest acc in [start, stop] whose unclamped output is >= target (stop if none)."""
    while start < stop:
        mid = (start + stop) // 2
        y = int(multiply_by_quantized_multiplier(np.array([mid]), multiplier, shift)[0]) + zp
        if y >= target:
            stop = mid
        else:
            start = mid + 1
    return start


def window_record(multiplier: int, shift: int, zp: int, act_min: int, act_max: int,
                  acc_min: int, acc_max: int) -> tuple[int, ...] | None:
    """The kernel's record (FIELDS) for accumulators in [acc_min, acc_max], or None."""
    left, right = max(shift, 0), max(-shift, 0)
    if multiplier <= 0 or act_min >= act_max or acc_min > acc_max:
        return None
    if max(abs(acc_min), abs(acc_max)) << left > _INT32[1]:
        return None  # the reference's left shift would wrap: not monotonic
    # the unsaturated window, intersected with the accumulators that can occur
    lo = _first_at_least(act_min, multiplier, shift, zp, acc_min, acc_max)
    hi = _first_at_least(act_max, multiplier, shift, zp, lo, acc_max)
    lo, hi = max(lo, acc_min), min(hi, acc_max)
    ends = _requantize(np.array([lo, hi]), multiplier, shift, zp, act_min, act_max)
    below = _requantize(np.array([acc_min, acc_max]), multiplier, shift, zp, act_min, act_max)
    if ends[0] != below[0] or ends[1] != below[1]:
        return None  # a saturating end would not give the saturated output
    scaled = multiplier << left
    total_shift = 15 + right
    neg = -(1 << 15) if right > 0 else 0
    add = (1 << (14 + right) if right > 0 else 0) + (zp << total_shift)
    for dropped in range(4):
        if max(abs(lo), abs(hi)) >= _LIMIT << dropped:
            continue
        ml = (scaled & 0xFFFF) >> dropped
        record = (lo, hi, scaled >> 16, ml, 16 - dropped, neg, add, total_shift)
        if not all(_INT32[0] <= v <= _INT32[1] for v in record) or total_shift > 31:
            return None
        if _check(record, multiplier, shift, zp, act_min, act_max):
            return record
    return None


def _check(record: tuple[int, ...], multiplier: int, shift: int, zp: int, act_min: int,
           act_max: int) -> bool:
    """The kernel's int32 arithmetic, over every accumulator of the window."""
    lo, hi, mh, ml, ml_shift, neg, add, total_shift = record
    a = np.arange(lo, hi + 1, dtype=np.int64)
    steps = [a * mh, a * ml]
    x = steps[0] + (steps[1] >> ml_shift)
    steps.append(x)
    x = x + (1 << 14)
    steps.append(x)
    x = x + np.where(x < 0, neg, 0)
    steps.append(x)
    x = x + add
    steps.append(x)
    if any(s.size and (s.min() < _INT32[0] or s.max() > _INT32[1]) for s in steps):
        return False
    expected = _requantize(a, multiplier, shift, zp, act_min, act_max)
    return bool(np.array_equal(x >> total_shift, expected))


def layer_records(multiplier: np.ndarray, shift: np.ndarray, zp: int, act_min: int,
                  act_max: int, acc_min: np.ndarray, acc_max: np.ndarray
                  ) -> tuple[np.ndarray, int] | None:
    """Records for a layer's units: one shared record (stride 0) when the quantization is
    per tensor, else one per unit (stride len(FIELDS)); None when any unit has none."""
    multiplier = np.asarray(multiplier, np.int64)
    shift = np.asarray(shift, np.int64)
    if np.all(multiplier == multiplier[0]) and np.all(shift == shift[0]):
        record = window_record(int(multiplier[0]), int(shift[0]), zp, act_min, act_max,
                               int(acc_min.min()), int(acc_max.max()))
        return None if record is None else (np.array(record, np.int64), 0)
    records = []
    for m, s, low, high in zip(multiplier, shift, acc_min, acc_max):
        record = window_record(int(m), int(s), zp, act_min, act_max, int(low), int(high))
        if record is None:
            return None
        records.append(record)
    return np.array(records, np.int64).reshape(-1), len(FIELDS)
