"""Byte links to a target: a serial port (real, or QEMU via socket://)."""
