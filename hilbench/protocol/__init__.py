"""The framed serial protocol spoken with the firmware (firmware/dut/hb_protocol.h)."""
