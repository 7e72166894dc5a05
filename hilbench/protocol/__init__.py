"""The framed serial protocol spoken with the firmware (firmware/app/hb_protocol.h)."""
