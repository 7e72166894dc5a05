"""Test data for a run: the user's recorded inputs (and labels), or generated vectors.

Every array gets the vector axis first. A model input of shape (1, 49, 10, 1) takes data
of shape (N, 1, 49, 10, 1) or (N, 49, 10, 1). int8 (int16) data goes as it is; float data
for an int8 (int16) input is quantized with the input's scale and zero point, rounding as
TFLM's QUANTIZE does (float32 division, half away from zero). Everything is checked before
anything is built or started, and every error names the file.
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hilbench.errors import ConfigError, InputError
from hilbench.model.graph import Graph, Tensor
from hilbench.reference.fixedpoint import round_half_away_array


GENERATED_LIMIT = 256 << 20  # bytes of generated inputs: --vectors 10^12 once asked for 931 GiB


@dataclass(frozen=True)
class TestData:
    inputs: list[np.ndarray]  # one per model input, (N, *shape), the input's dtype
    labels: np.ndarray | None  # (N,) class indices
    source: str  # where it came from, for the report

    @property
    def count(self) -> int:
        return int(self.inputs[0].shape[0])

    def vector(self, i: int) -> list[np.ndarray]:
        return [x[i] for x in self.inputs]


def generated_data(graph: Graph, count: int, seed: int,
                   near_zero_point: bool = True) -> TestData:
    """Even vectors uniform over int8 (int16), odd ones near the input's zero point (uniform inputs
    saturate some models, which would hide errors); all uniform without near_zero_point.
    Float inputs are standard normal."""
    if seed < 0:
        raise ConfigError(f"the seed must not be negative, not {seed}")
    per_vector = sum(t.nbytes for t in graph.input_tensors)
    if not 1 <= count or count * per_vector > GENERATED_LIMIT:
        raise ConfigError(f"{count:,} vectors of {per_vector:,} bytes: between 1 and "
                          f"{max(1, GENERATED_LIMIT // max(per_vector, 1)):,} can be generated")
    rng = np.random.default_rng(seed)
    inputs = []
    for tensor in graph.input_tensors:
        shape = (count,) + tensor.shape
        if tensor.dtype == np.float32:
            inputs.append(rng.standard_normal(shape).astype(np.float32))
            continue
        zero_point = tensor.zero_point if tensor.quantization else 0
        x = integer_vectors(rng, shape, tensor.dtype, zero_point, near=False)
        if near_zero_point:
            x[1::2] = integer_vectors(rng, shape, tensor.dtype, zero_point, near=True)[1::2]
        inputs.append(x)
    return TestData(inputs, None, f"{count} generated vectors (seed {seed})")


# Deviations around the zero point of the "near" vectors: +-6 LSB of int8, the same
# fraction of the range for int16 (zero point 0 there, and TFLM's int16 models use the
# whole range, so small values are where the rounding edge cases are).
NEAR_ZERO_POINT = {np.dtype(np.int8): 6, np.dtype(np.int16): 6 << 8}


def integer_vectors(rng: np.random.Generator, shape: tuple[int, ...], dtype: np.dtype,
                    zero_point: int, near: bool) -> np.ndarray:
    """Uniform over the whole int8/int16 range, or near the zero point."""
    limits = np.iinfo(dtype)
    if not near:
        return rng.integers(limits.min, limits.max + 1, size=shape, dtype=dtype)
    spread = NEAR_ZERO_POINT[np.dtype(dtype)]
    deviation = rng.integers(-spread, spread + 1, size=shape)
    return np.clip(zero_point + deviation, limits.min, limits.max).astype(dtype)


def read_npy(path: Path) -> np.ndarray:
    """One array from a .npy file; pickles are refused."""
    try:
        # memory-mapped first: a header that claims more elements than the file holds
        # fails here, before anything is allocated (a 130-byte file once asked for 931 GiB)
        array = np.load(path, allow_pickle=False, mmap_mode="r")
        if isinstance(array, np.ndarray):
            array = np.array(array)
    except FileNotFoundError:
        raise InputError(f"input file not found: {path}") from None
    except IsADirectoryError:
        raise InputError(f"{path} is a directory, not a .npy file") from None
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path} is not a NumPy .npy array ({exc})") from None
    if not isinstance(array, np.ndarray):
        raise InputError(f"{path} holds several arrays; give one .npy file per model input")
    return array


def load_data(graph: Graph, paths: Sequence[Path], labels: Path | None = None) -> TestData:
    """Inputs from one .npy (or a folder of .npy files, one vector each) per model input,
    in model order, or from one .npz keyed by input name."""
    tensors = graph.input_tensors
    if len(paths) == 1 and paths[0].suffix == ".npz":
        arrays = _from_npz(paths[0], tensors)
    else:
        if len(paths) != len(tensors):
            raise InputError(f"the model has {len(tensors)} inputs ("
                             f"{', '.join(t.name for t in tensors)}); give as many --data "
                             f"files, or one .npz keyed by input name")
        arrays = [(str(path), _read_path(path)) for path in paths]
    inputs = [_conform(array, tensor, where) for (where, array), tensor in zip(arrays, tensors)]
    counts = {x.shape[0] for x in inputs}
    if len(counts) != 1:
        raise InputError(f"the --data files hold different numbers of vectors: "
                         f"{', '.join(f'{w}: {x.shape[0]}' for (w, _), x in zip(arrays, inputs))}")
    count = counts.pop()
    if count < 1:
        raise InputError(f"{arrays[0][0]} holds no vectors")
    label_array = None if labels is None else _labels(labels, count)
    return TestData(inputs, label_array, ", ".join(w for w, _ in arrays))


def _from_npz(path: Path, tensors: list[Tensor]) -> list[tuple[str, np.ndarray]]:
    try:
        archive = np.load(path, allow_pickle=False)
    except FileNotFoundError:
        raise InputError(f"data file not found: {path}") from None
    except (ValueError, OSError, EOFError) as exc:
        raise InputError(f"{path} is not a NumPy .npz archive ({exc})") from None
    with archive:
        names = list(archive.files)
        missing = [t.name for t in tensors if t.name not in names]
        if missing:
            raise InputError(f"{path} has no array for input {missing[0]!r}; it has "
                             f"{', '.join(names) or 'none'} (arrays are keyed by input name)")
        try:
            for t in tensors:
                _check_npz_member(archive, path, t.name)
            return [(f"{path}[{t.name}]", archive[t.name]) for t in tensors]
        except ValueError as exc:
            raise InputError(f"{path}: {exc}") from None


def _check_npz_member(archive, path: Path, name: str) -> None:
    """A member's header must not claim more bytes than the member holds: NumPy would
    allocate the claimed size before reading (a zip member cannot be memory-mapped)."""
    with archive.zip.open(f"{name}.npy") as member:
        read_header = (np.lib.format.read_array_header_1_0
                       if np.lib.format.read_magic(member)[0] == 1
                       else np.lib.format.read_array_header_2_0)
        shape, _, dtype = read_header(member)
        claimed = math.prod(shape) * dtype.itemsize
        size = archive.zip.getinfo(f"{name}.npy").file_size
    if claimed > size:
        raise InputError(f"{path}[{name}] claims {claimed:,} bytes of shape {shape} but "
                         f"holds {size:,}")


def _read_path(path: Path) -> np.ndarray:
    if not path.is_dir():
        return read_npy(path)
    files = sorted(path.glob("*.npy"))
    if not files:
        raise InputError(f"{path} has no .npy files")
    vectors = [read_npy(f) for f in files]
    shapes = {v.shape for v in vectors}
    if len(shapes) != 1:
        raise InputError(f"the .npy files in {path} differ in shape: "
                         f"{', '.join(str(s) for s in sorted(shapes))}")
    return np.stack(vectors)


def _conform(array: np.ndarray, tensor: Tensor, where: str) -> np.ndarray:
    """The array with the vector axis first and the input's own shape and dtype."""
    shape = tensor.shape
    squeezed = shape[1:] if shape[:1] == (1,) else None
    if array.shape[1:] == shape:
        vectors = array
    elif squeezed is not None and array.shape[1:] == squeezed:
        vectors = array.reshape((array.shape[0],) + shape)
    else:
        raise InputError(f"{where}: shape {array.shape} does not fit input {tensor.name!r} of "
                         f"shape {shape}: expected (N, {', '.join(map(str, shape))})")
    if tensor.dtype == np.float32:
        if vectors.dtype.kind != "f":
            raise InputError(f"{where}: dtype {vectors.dtype} for float input {tensor.name!r}")
        return vectors.astype(np.float32)
    if vectors.dtype == tensor.dtype:
        return vectors
    if vectors.dtype.kind == "f" and tensor.quantization is not None:
        if not np.isfinite(vectors).all():
            raise InputError(f"{where}: NaN or infinite values for input {tensor.name!r}")
        return quantize_like_tflm(vectors, tensor)
    raise InputError(f"{where}: dtype {vectors.dtype} for {tensor.dtype.name} input "
                     f"{tensor.name!r}: give {tensor.dtype.name} data, or float data to be "
                     f"quantized with the input's scale and zero point")


def quantize_like_tflm(values: np.ndarray, tensor: Tensor) -> np.ndarray:
    """Float to int8 or int16 as TFLM's QUANTIZE: float32 division, round half away,
    clamp to the input's type."""
    scaled = values.astype(np.float32) / np.float32(tensor.scale)
    q = round_half_away_array(scaled).astype(np.int64) + tensor.zero_point
    limits = np.iinfo(tensor.dtype)
    return np.clip(q, limits.min, limits.max).astype(tensor.dtype)


def _labels(path: Path, count: int) -> np.ndarray:
    labels = read_npy(path)
    if labels.ndim != 1 or labels.dtype.kind not in "iu":
        raise InputError(f"{path}: labels must be a 1-D array of integer class indices, "
                         f"not {labels.dtype} of shape {labels.shape}")
    if labels.shape[0] != count:
        raise InputError(f"{path} holds {labels.shape[0]} labels for {count} vectors")
    return labels.astype(np.int64)
