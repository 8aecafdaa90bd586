"""The CLI answers --help for every command and --version, without importing torch."""

import subprocess
import sys

import pytest
from typer.testing import CliRunner

from segflow_cli import __version__
from segflow_cli.cli import app

COMMANDS = ["segment", "flow", "train", "benchmark", "data", "info"]


@pytest.mark.parametrize("cmd", COMMANDS)
def test_help_for_every_command(cmd):
    res = CliRunner().invoke(app, [cmd, "--help"])
    assert res.exit_code == 0, res.output
    assert "Usage" in res.output


def test_version():
    res = CliRunner().invoke(app, ["--version"])
    assert res.exit_code == 0 and __version__ in res.output


def test_help_does_not_import_torch():
    code = "import sys; from segflow_cli.cli import app\ntry:\n    app(['--help'])\nexcept SystemExit:\n    pass\nprint('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert out.stdout.strip().endswith("False"), out.stdout + out.stderr


def test_info_summarises_a_card_by_its_latest_davis_runs():
    """`segflow info` shows a card's latest DAVIS runs (the card keeps every earlier stop's and its history
    for the record), the default marked, and the flow figures; the shipped card reads so too."""
    import json
    from pathlib import Path

    from segflow_cli.cli.info_cmd import _summary

    run = lambda jf: {"J&F-Mean": jf, "command": "segflow benchmark davis"}  # noqa: E731
    real = {"davis2016_shared_8_sequences": {
        "segflow (stop 22, same key)": run(0.785), "history: propagate, stop 26 default": run(0.823),
        "propagate (default, stop 27: faster)": run(0.823), "segflow (stop 27)": run(0.818), "note": "x"},
        "flow_shared_pairs": {"segflow": {"EPE": 4.463}, "dis": {"EPE": 5.209}}}
    assert _summary(real) == "DAVIS J&F (stop 27) propagate (default) 82.3, segflow 81.8; flow EPE 4.46 (dis 5.21)"
    card = json.loads((Path(__file__).resolve().parents[1] / "weights" / "segflow-lite.json").read_text())
    shown = _summary(card["metrics"]["real_data"])
    assert "propagate (default)" in shown and "history" not in shown and len(shown) < 200, shown
