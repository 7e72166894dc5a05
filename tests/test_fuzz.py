"""A bounded slice of each fuzz campaign of bench/fuzz.py (`make fuzz` runs the full ones):
mutated models through `inspect` and `reference` under a 2 GiB address-space limit, with
TFLM's verdict on every model hilbench accepts; random frames through the decoder and the
receive path; a hostile device against the session. Seconds, not minutes."""

from __future__ import annotations

import sys

import pytest

from support import REPO

sys.path.insert(0, str(REPO / "bench"))
import fuzz  # noqa: E402


@pytest.mark.oracle
def test_model_mutants_never_crash_hang_blow_up_or_pass_what_tflm_refuses():
    counts = fuzz.model_campaign(40, seed=18)
    assert counts.mutants == 40
    assert counts.failures == 0, counts.findings
    assert counts.refused > 0 and counts.accepted > 0  # the slice reaches both outcomes


def test_mutants_are_deterministic_and_varied():
    labels = [label for label, _ in fuzz.mutants(24, seed=3)]
    assert labels == [label for label, _ in fuzz.mutants(24, seed=3)]
    assert {label.split(": ")[1].split(" ")[0] for label in labels} == {"bytes", "fields", "both"}


def test_frames_only_ever_raise_frame_errors():
    counts = fuzz.frame_campaign(5000, seed=1)
    assert counts.findings == [] and counts.escaped == 0
    assert counts.frames > 0 and counts.rejected > 0


def test_hostile_device_ends_every_session_within_its_deadlines():
    counts = fuzz.device_campaign(5000, seed=2)
    assert counts.escaped == 0 and counts.overtime == 0, counts.findings
    assert counts.completed > 0 and counts.refused > 0 and counts.resends > 0


# The firmware replays a repeated request, so the session asks again for every reply it
# lost, INVOKE included, until the call's limit; on a loaded machine a slow inference is
# waited for, a lost reply costs one doubling wait.
@pytest.mark.hil
def test_noisy_link_run_completes_bit_exact_with_its_resends():
    counts = fuzz.link_campaign(1e-3, vectors=20, seed=18)  # 0.1 % of bytes, both ways
    assert counts.error == "" and counts.bit_exact and counts.vectors == 20, counts
    assert counts.corrupted > 0 and counts.resends > 0


@pytest.mark.hil
def test_very_noisy_link_ends_within_30_s_with_one_line():
    counts = fuzz.link_campaign(1e-2, vectors=20, seed=18)
    assert counts.seconds < 30, counts
    assert counts.bit_exact or (counts.error and "\n" not in counts.error), counts


# The firmware's decoder and dispatcher on the host under ASan and UBSan, for the serial
# and the probe link's frame sizes (bench/fuzz.py --decoder runs 10^6 inputs each).
@pytest.mark.hil
@pytest.mark.parametrize("link", ["serial", "probe"])
def test_firmware_decoder_under_sanitizers(link):
    from hilbench.drivers.registry import link_driver

    counts = fuzz.decoder_campaign(30_000, seed=18, max_data=link_driver(link).max_data)
    assert counts.clean, (counts.sanitizer, counts.findings[:5])
    c = counts.counts
    assert all(c[kind] > 0 for kind in fuzz.DECODER_KINDS), c  # every kind of input ran
    assert c["ok"] > 0 and c["replayed"] > 0 and c["answered"] > c["inputs"] // 2, c
    assert all(c[f"error{code}"] > 0 for code in range(1, 8)), c  # every error answered


@pytest.mark.hil
def test_decoder_campaign_catches_the_echo_overflow():
    """The engine as it was before the length checks: the sanitizer stops it."""
    from hilbench.paths import FIRMWARE_DIR

    engine = (FIRMWARE_DIR / fuzz.DECODER_ENGINE).read_text()
    for check, without in [("      if (length > HB_MAX_DATA) break;\n", ""),
                           ("} else if (length > FRAME_MAX) {", "} else if (0) {"),
                           ("  if (length > HB_MAX_DATA) {\n    send_error(", "  if (0) {\n    send_error(")]:
        assert check in engine, check
        engine = engine.replace(check, without)
    counts = fuzz.decoder_campaign(30_000, seed=18, max_data=512, engine=engine)
    assert "global-buffer-overflow" in counts.sanitizer and not counts.clean, counts
