"""The one packaging step pyproject.toml cannot declare: the checkout's `boards/` and
`firmware/` folders (board files, C runtime, the QEMU plugin's source) go into the wheel as
`hilbench/_data/boards` and `hilbench/_data/firmware`, whole, so that a board or a kernel
added to those folders ships without an edit here. Everything else is in pyproject.toml."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

ROOT = Path(__file__).resolve().parent
SHIPPED = ("boards", "firmware")


class BuildPyWithData(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:  # an editable install reads the checkout's folders directly
            return
        for folder in SHIPPED:
            target = Path(self.build_lib) / "hilbench" / "_data" / folder
            shutil.rmtree(target, ignore_errors=True)
            shutil.copytree(ROOT / folder, target,
                            ignore=shutil.ignore_patterns("__pycache__", "*.o", "*.a", "*.so"))


setup(cmdclass={"build_py": BuildPyWithData})
