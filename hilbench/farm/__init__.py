"""Running jobs on boards shared through a labgrid farm.

client.py talks to the coordinator (places, tags, acquire, release); lease.py matches a
job's board to a place by its `board=<hilbench board name>` tag, acquires it (waiting while
another client holds it) and releases it on every exit path; labgrid_pyocd.py is the labgrid
resource and driver that flash a place's board through pyOCD by the probe's unique ID;
target.py is the hilbench target driver ("labgrid") that runs a job on a leased place;
qemu_exporter.py serves QEMU boards as places, so the whole path runs without hardware.
"""
