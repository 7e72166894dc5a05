"""Where hilbench finds its own files and keeps what it builds.

Every path hilbench needs is decided here and nowhere else:

- Board files and firmware sources: in a checkout (an editable install, or running from the
  source tree), the repository's `boards/` and `firmware/` folders; in an installed wheel,
  the same folders shipped as package data under `hilbench/_data/` (setup.py puts them there).
- The build cache (firmware builds, runtime libraries, the QEMU plugin): `HILBENCH_CACHE`
  when set (`hilbench --build-dir` sets it), else the user's cache folder
  (`~/.cache/hilbench` on Linux, from platformdirs). Never inside the package or checkout.
"""

from __future__ import annotations

import os
from pathlib import Path

CACHE_VARIABLE = "HILBENCH_CACHE"

PACKAGE_DIR = Path(__file__).resolve().parent
_CHECKOUT = PACKAGE_DIR.parent


def _is_checkout(root: Path) -> bool:
    return all((root / name).exists() for name in ("pyproject.toml", "boards", "firmware"))


IN_CHECKOUT = _is_checkout(_CHECKOUT)
# the source checkout; for an installed wheel, the folder holding its shipped data
REPO = _CHECKOUT if IN_CHECKOUT else PACKAGE_DIR / "_data"
BOARDS_DIR = REPO / "boards"
FIRMWARE_DIR = REPO / "firmware"
DEMO_MODEL = PACKAGE_DIR / "data" / "kws_ds_cnn_int8.tflite"


def build_dir() -> Path:
    """The build cache, read at each call so that `--build-dir` and `HILBENCH_CACHE` set
    after import still apply."""
    override = os.environ.get(CACHE_VARIABLE)
    if override:
        path = Path(override).expanduser().resolve()
    else:
        from platformdirs import user_cache_path

        path = user_cache_path("hilbench", appauthor=False)
    if path.exists() and not path.is_dir():
        from hilbench.errors import ConfigError

        raise ConfigError(f"the build cache {path} is not a directory (--build-dir or "
                          f"${CACHE_VARIABLE})")
    return path


def __getattr__(name: str) -> Path:
    # BUILD_DIR stays importable for code written before the cache moved out of the checkout
    if name == "BUILD_DIR":
        return build_dir()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
