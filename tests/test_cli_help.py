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
