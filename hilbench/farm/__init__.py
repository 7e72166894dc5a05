"""Running jobs on boards shared through a labgrid farm.

client.py talks to the coordinator (places, tags, acquire, release); lease.py matches a
job's board to a place by its `board=<hilbench board name>` tag, acquires it (waiting while
another client holds it) and releases it on every exit path; labgrid_pyocd.py is the labgrid
resource and driver that flash a place's board through pyOCD by the probe's unique ID;
target.py is the hilbench target driver ("labgrid") that runs a job on a leased place;
qemu_exporter.py serves QEMU boards as places, so the whole path runs without hardware.
"""

import os

# labgrid's client is gRPC. gRPC's fork handlers break a child forked while its threads run:
# the child aborts (or segfaults) between fork and exec, and hilbench forks all the time
# (QEMU, ser2net, matrix workers; each execs at once and needs none of gRPC). The variable
# is read when gRPC is first imported, so it is set here, before any farm module imports
# labgrid; a process that imported gRPC earlier must set it itself.
os.environ.setdefault("GRPC_ENABLE_FORK_SUPPORT", "0")
