"""Where hilbench finds its own files and keeps what it builds.

Every repository path is named here and nowhere else, so that an installed package (whose
board files and firmware sources live elsewhere) changes one module.
"""

from __future__ import annotations

from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
BOARDS_DIR = REPO / "boards"
FIRMWARE_DIR = REPO / "firmware"
BUILD_DIR = REPO / "build"  # caches: firmware builds, runtime libraries, the QEMU plugin
DEMO_MODEL = REPO / "hilbench" / "data" / "kws_ds_cnn_int8.tflite"
