"""Integer arithmetic of TFLM's reference kernels, vectorized with NumPy.

Every function works on int64 arrays that hold int32 values, and reproduces the C++
semantics of TFLM and gemmlowp bit for bit: truncating division, arithmetic shifts,
saturation where gemmlowp saturates and two's-complement wrap-around where the C code
simply overflows. TFLM is built without TFLITE_SINGLE_ROUNDING, so requantization rounds
twice (gemmlowp style); that is what makes it differ from LiteRT by ±1 LSB.
"""

from __future__ import annotations

import math

import numpy as np

from hilbench.errors import ModelError

INT32_MIN = -(1 << 31)
INT32_MAX = (1 << 31) - 1
INT16_MIN = -(1 << 15)
INT16_MAX = (1 << 15) - 1

ArrayLike = np.ndarray | int


def as_i64(x: ArrayLike) -> np.ndarray:
    return np.asarray(x, dtype=np.int64)


def wrap32(x: ArrayLike) -> np.ndarray:
    """Two's-complement int32 overflow, as C compilers produce on Cortex-M and x86."""
    x = as_i64(x)
    return ((x + (1 << 31)) & 0xFFFFFFFF) - (1 << 31)


def _trunc_div_pow2(x: np.ndarray, bits: int) -> np.ndarray:
    """C integer division by 2**bits (rounds toward zero)."""
    return np.where(x >= 0, x >> bits, -((-x) >> bits))


def round_half_away(x: float) -> int:
    """std::round / TfLiteRound: halves go away from zero (Python's round() does not)."""
    magnitude = math.floor(abs(x))
    if abs(x) - magnitude >= 0.5:
        magnitude += 1
    return int(magnitude if x >= 0 else -magnitude)


def round_half_away_array(x: np.ndarray) -> np.ndarray:
    magnitude = np.floor(np.abs(x))
    magnitude = np.where(np.abs(x) - magnitude >= 0.5, magnitude + 1, magnitude)
    return np.where(x >= 0, magnitude, -magnitude)


# --- gemmlowp primitives -----------------------------------------------------------------

def saturating_rounding_doubling_high_mul(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """ARM VQRDMULH: round(a*b / 2**31), saturating the single overflow case."""
    a, b = as_i64(a), as_i64(b)
    ab = a * b
    nudged = ab + np.where(ab >= 0, 1 << 30, 1 - (1 << 30))
    result = _trunc_div_pow2(nudged, 31)
    return np.where((a == b) & (a == INT32_MIN), INT32_MAX, result)


def rounding_divide_by_pot(x: ArrayLike, exponent: ArrayLike) -> np.ndarray:
    """Arithmetic right shift rounding to nearest, ties away from zero.

    gemmlowp's mask/threshold formulation equals (x + 2**(e-1) - [x < 0]) >> e for e > 0.
    """
    x = as_i64(x)
    if np.ndim(exponent) == 0:
        e = int(exponent)  # type: ignore[arg-type]
        return x if e == 0 else (x + ((1 << (e - 1)) - (x < 0))) >> e
    exponents = as_i64(exponent)
    half = (np.int64(1) << exponents) >> 1
    return (x + half - ((x < 0) & (exponents > 0))) >> exponents


def saturating_rounding_multiply_by_pot(x: ArrayLike, exponent: int) -> np.ndarray:
    """gemmlowp's SaturatingRoundingMultiplyByPOT<exponent> for int32."""
    x = as_i64(x)
    if exponent == 0:
        return x
    if exponent < 0:
        return rounding_divide_by_pot(x, -exponent)
    threshold = (1 << (31 - exponent)) - 1
    shifted = wrap32(x << exponent)
    return np.where(x > threshold, INT32_MAX, np.where(x < -threshold, INT32_MIN, shifted))


def rounding_half_sum(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    total = as_i64(a) + as_i64(b)
    return _trunc_div_pow2(total + np.where(total >= 0, 1, -1), 1)


# --- TFLM requantization -----------------------------------------------------------------

def quantize_multiplier(real_multiplier: float) -> tuple[int, int]:
    """TFLM QuantizeMultiplier: real = multiplier * 2**(shift - 31), multiplier in Q0.31."""
    if real_multiplier == 0.0:
        return 0, 0
    fraction, shift = math.frexp(real_multiplier)
    q_fixed = round_half_away(fraction * (1 << 31))
    if q_fixed == (1 << 31):
        q_fixed //= 2
        shift += 1
    if shift < -31:  # everything would be shifted out: TFLM flushes to zero
        return 0, 0
    if shift > 31:  # TFLM would shift an int32 left by 32 or more: undefined in C
        raise ModelError(f"requantization multiplier {real_multiplier:.3g} is out of range "
                         f"(2^31 or more)")
    return int(q_fixed), int(shift)


def multiply_by_quantized_multiplier(x: ArrayLike, multiplier: ArrayLike,
                                     shift: ArrayLike) -> np.ndarray:
    """TFLM MultiplyByQuantizedMultiplier (double rounding); shift may be per element.

    Multipliers from quantize_multiplier are never negative, so the high multiply needs no
    overflow check, and its truncating division with gemmlowp's nudge reduces exactly to
    (a*b + 2**30) >> 31 for either sign of a*b.
    """
    x = as_i64(x)
    shift = as_i64(shift)
    if np.any(shift > 0):
        x = wrap32(x << np.maximum(shift, 0))
    high = (x * as_i64(multiplier) + (1 << 30)) >> 31
    return rounding_divide_by_pot(high, np.maximum(-shift, 0) if shift.ndim else max(-int(shift), 0))


def calculate_input_radius(input_integer_bits: int, input_left_shift: int,
                           total_signed_bits: int = 31) -> int:
    max_input_rescaled = (1.0 * ((1 << input_integer_bits) - 1)
                          * (1 << (total_signed_bits - input_integer_bits))
                          / (1 << input_left_shift))
    return int(math.floor(max_input_rescaled))


def count_leading_zeros32(x: ArrayLike) -> np.ndarray:
    """__builtin_clz on uint32 values (32 for zero)."""
    x = as_i64(x) & 0xFFFFFFFF
    bit_length = np.frexp(x.astype(np.float64))[1]  # exact: values < 2**53
    return np.where(x == 0, 32, 32 - bit_length).astype(np.int64)


# --- gemmlowp fixed-point transcendental functions --------------------------------------
# Raw values are int32 in Q(integer_bits).(31 - integer_bits).

def _one(integer_bits: int) -> int:
    return INT32_MAX if integer_bits == 0 else 1 << (31 - integer_bits)


def _exp_on_interval_between_negative_one_quarter_and_0_excl(a: np.ndarray) -> np.ndarray:
    constant_term = 1895147668  # exp(-1/8) in Q0.31
    constant_1_over_3 = 715827883
    mul = saturating_rounding_doubling_high_mul
    x = wrap32(a + (1 << 28))  # Taylor expansion around -1/8
    x2 = mul(x, x)
    x3 = mul(x2, x)
    x4 = mul(x2, x2)
    x4_over_4 = saturating_rounding_multiply_by_pot(x4, -2)
    poly = saturating_rounding_multiply_by_pot(
        wrap32(mul(wrap32(x4_over_4 + x3), constant_1_over_3) + x2), -1)
    return wrap32(constant_term + mul(constant_term, wrap32(x + poly)))


_EXP_BARREL = ((-2, 1672461947), (-1, 1302514674), (0, 790015084), (1, 290630308),
               (2, 39332535), (3, 720401), (4, 242))


def exp_on_negative_values(a: ArrayLike, integer_bits: int) -> np.ndarray:
    """exp(a) for a <= 0; input Q(integer_bits), result Q0.31."""
    a = as_i64(a)
    fractional_bits = 31 - integer_bits
    one_quarter = 1 << (fractional_bits - 2)
    a_mod_quarter_minus_one_quarter = wrap32((a & (one_quarter - 1)) - one_quarter)
    result = _exp_on_interval_between_negative_one_quarter_and_0_excl(
        saturating_rounding_multiply_by_pot(a_mod_quarter_minus_one_quarter, integer_bits))
    remainder = wrap32(a_mod_quarter_minus_one_quarter - a)
    for exponent, multiplier in _EXP_BARREL:
        if integer_bits > exponent:
            bit = 1 << (fractional_bits + exponent)
            result = np.where((remainder & bit) != 0,
                              saturating_rounding_doubling_high_mul(result, multiplier), result)
    if integer_bits > 5:
        clamp = -(1 << (36 - integer_bits))  # -32.0 in this format
        result = np.where(a < clamp, 0, result)
    return np.where(a == 0, INT32_MAX, result)


def _newton_reciprocal(half_denominator: np.ndarray) -> np.ndarray:
    """Three Newton-Raphson steps for 1/half_denominator; result in Q2.29."""
    mul = saturating_rounding_doubling_high_mul
    x = wrap32(1515870810 + mul(half_denominator, -1010580540))  # 48/17 - 32/17 * d
    one_q2 = _one(2)
    for _ in range(3):
        one_minus_dx = wrap32(one_q2 - mul(half_denominator, x))
        x = wrap32(x + saturating_rounding_multiply_by_pot(mul(x, one_minus_dx), 2))
    return x


def one_over_one_plus_x_for_x_in_0_1(a: ArrayLike) -> np.ndarray:
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = _newton_reciprocal(half_denominator)
    return saturating_rounding_multiply_by_pot(x, 1)  # ExactMulByPot<-1> then Rescale<0>


def one_minus_x_over_one_plus_x_for_x_in_0_1(a: ArrayLike) -> np.ndarray:
    half_denominator = rounding_half_sum(a, INT32_MAX)
    x = _newton_reciprocal(half_denominator)
    return saturating_rounding_multiply_by_pot(wrap32(x - _one(2)), 2)


def logistic(a: ArrayLike, integer_bits: int) -> np.ndarray:
    a = as_i64(a)
    positive = a > 0
    abs_input = np.where(positive, a, wrap32(-a))
    result_if_positive = one_over_one_plus_x_for_x_in_0_1(
        exp_on_negative_values(wrap32(-abs_input), integer_bits))
    result_if_negative = wrap32(INT32_MAX - result_if_positive)
    result = np.where(positive, result_if_positive, result_if_negative)
    return np.where(a == 0, 1 << 30, result)


def tanh(a: ArrayLike, integer_bits: int) -> np.ndarray:
    a = as_i64(a)
    negative = a < 0
    n = np.where(negative, a, wrap32(-a))
    # exp(2n): doubling is exact by reading the same raw value with one more integer bit
    t = one_minus_x_over_one_plus_x_for_x_in_0_1(exp_on_negative_values(n, integer_bits + 1))
    result = np.where(negative, wrap32(-t), t)
    return np.where(a == 0, 0, result)


def get_reciprocal(x: ArrayLike, x_integer_digits: int) -> tuple[np.ndarray, np.ndarray]:
    """1/x as (Q0.31 scale, num_bits_over_unit), as in TFLM's softmax."""
    x = as_i64(x)
    headroom_plus_one = count_leading_zeros32(x)
    num_bits_over_unit = x_integer_digits - headroom_plus_one
    shifted = ((x & 0xFFFFFFFF) << headroom_plus_one) & 0xFFFFFFFF
    shifted_sum_minus_one = wrap32(shifted - (1 << 31))
    return one_over_one_plus_x_for_x_in_0_1(shifted_sum_minus_one), num_bits_over_unit


# --- 16-bit variants (HARD_SWISH) ---------------------------------------------------------

def saturating_rounding_doubling_high_mul16(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    a, b = as_i64(a), as_i64(b)
    ab = a * b
    nudged = ab + np.where(ab >= 0, 1 << 14, 1 - (1 << 14))
    result = _trunc_div_pow2(nudged, 15)
    return np.where((a == b) & (a == INT16_MIN), INT16_MAX, result)


def saturating_doubling_high_mul16(a: ArrayLike, b: ArrayLike) -> np.ndarray:
    """Like the rounding version but truncating (SQDMULH)."""
    a, b = as_i64(a), as_i64(b)
    result = _trunc_div_pow2(a * b, 15)
    return np.where((a == b) & (a == INT16_MIN), INT16_MAX, result)


def saturating_left_shift16(x: ArrayLike, amount: int) -> np.ndarray:
    return np.clip(as_i64(x) * (1 << amount), INT16_MIN, INT16_MAX)


def downscale_int32_to_int16_multiplier(multiplier: int) -> int:
    if multiplier >= INT32_MAX - (1 << 15):
        return INT16_MAX
    return (multiplier + (1 << 15)) >> 16


# --- int16x8 kernels ------------------------------------------------------------------

def multiply_by_quantized_multiplier_64(x: ArrayLike, multiplier: ArrayLike,
                                        shift: ArrayLike) -> np.ndarray:
    """TFLM's MultiplyByQuantizedMultiplier for an int64 accumulator (the int16x8 conv
    and fully connected with int64 bias): the multiplier rounded to 16 bits, then one
    rounding shift. Exact in int64 for |x| < 2**47, TFLM's stated range."""
    m = as_i64(multiplier)
    reduced = np.where(m < 0x7FFF0000, (m + (1 << 15)) >> 16, 0x7FFF)
    total = 15 - as_i64(shift)
    return wrap32((as_i64(x) * reduced + (np.int64(1) << (total - 1))) >> total)


def int16_table_lookup(value: ArrayLike, table: np.ndarray) -> np.ndarray:
    """TFLM's generic_int16_table_lookup: 512 segments of 128 inputs, linear in between;
    the slope and the sum wrap to int16 as the C code's casts do."""
    v = as_i64(value)
    index = 256 + (v >> 7)
    offset = v & 0x7F
    lut = table.astype(np.int64)
    base = lut[index]
    slope = ((lut[index + 1] - base + (1 << 15)) & 0xFFFF) - (1 << 15)
    delta = (slope * offset + 64) >> 7
    return ((base + delta + (1 << 15)) & 0xFFFF) - (1 << 15)
