"""Stage 5: target drivers, which load firmware onto a board and offer capabilities
(hilbench.drivers): QEMU (qemu.py, with the instruction-counting plugin in
qemu_plugin.py), and pyOCD for real boards and for QEMU through its GDB stub
(pyocd_target.py, pyocd_qemu_probe.py). Runs find them through hilbench.drivers.registry.
"""
