"""The Python API (hilbench.api) and the versioned JSON document it shares with the CLI."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest

import hilbench
from hilbench import api
from hilbench.errors import ConfigError, ModelError
from support import REPO, hilbench as hilbench_cli

TOUCH = REPO / "examples" / "touch_classifier" / "touch_mlp_int8.tflite"
# figures of the host's timing: a resend happens when a reply is slow on a busy machine
VOLATILE = {"link_bytes_per_s", "vectors_per_s", "build_cached", "link_resends"}


def test_root_reexports_the_api():
    assert hilbench.run_model is api.run and hilbench.build is api.build
    assert hilbench.load_board("qemu-microbit").core == "cortex-m0"
    import hilbench.run as stage  # the run/ package keeps its name

    assert stage.RunRequest is not None


def test_budgets_are_checked_before_anything_runs():
    with pytest.raises(ConfigError, match="unknown budget limit.*latency_ms"):
        api.budgets_from({"latency_ms": 3})
    with pytest.raises(ConfigError, match="bit_exact must be True or False"):
        api.budgets_from({"bit_exact": 1})
    with pytest.raises(ConfigError, match="ram_bytes must be a number"):
        api.run(TOUCH, "qemu-microbit", budgets={"ram_bytes": "lots"})
    with pytest.raises(ModelError, match="not found"):
        api.run(REPO / "no-such-model.tflite")


def test_reference_matches_the_reference_command(tmp_path):
    graph = api.load_model(TOUCH)
    x = np.random.default_rng(0).integers(-128, 128, size=(5,) + graph.input_tensors[0].shape,
                                          dtype=np.int8)
    np.save(tmp_path / "x.npy", x)
    assert hilbench_cli("reference", TOUCH, "--input", tmp_path / "x.npy", "--output",
                        tmp_path / "y.npy").returncode == 0
    np.testing.assert_array_equal(api.reference(TOUCH, x).outputs[0], np.load(tmp_path / "y.npy"))


def test_schema_is_a_valid_draft_2020_12_schema():
    schema = api.run_schema()
    jsonschema.Draft202012Validator.check_schema(schema)
    assert schema["properties"]["schema_version"] == {"const": 1}


@pytest.mark.hil
def test_api_run_checks_budgets_and_writes_the_cli_document(tmp_path):
    x = np.random.default_rng(1).integers(-128, 128, size=(3,) + api.load_model(
        TOUCH).input_tensors[0].shape, dtype=np.int8)
    result = api.run(TOUCH, "qemu-microbit", data=x,
                     budgets={"latency_us": 100, "ram_bytes": 102_400, "flash_bytes": 10})
    assert result.comparison.bit_exact and result.vectors == 3
    by_name = {c.name: c for c in result.checks}
    assert by_name["bit_exact"].passed and by_name["latency_us"].passed
    assert not by_name["flash_bytes"].passed and not result.passed  # 10 bytes cannot hold

    document = json.loads(result.to_json(profile=True))
    jsonschema.validate(document, api.run_schema())
    assert document["schema_version"] == 1 and document["layers"]

    np.save(tmp_path / "x.npy", x)
    cli = hilbench_cli("run", TOUCH, "--board", "qemu-microbit", "--data", tmp_path / "x.npy",
                       "--json", tmp_path / "run.json", "--profile")
    assert cli.returncode == 0, cli.stderr
    written = json.loads((tmp_path / "run.json").read_text())
    jsonschema.validate(written, api.run_schema())
    assert written.keys() == document.keys()
    same = {k: v for k, v in written.items() if k not in VOLATILE | {"data"}}
    assert same == {k: v for k, v in document.items() if k not in VOLATILE | {"data"}}


def test_schema_rejects_a_wrong_document():
    bad = {"schema_version": 1, "model": "m", "bit_exact": "yes"}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, api.run_schema())
