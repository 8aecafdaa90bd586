"""Shared fixtures. Real data (../shared beside the clone) is optional: tests that need it skip."""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared"

# Two cores are shared by everything on CI machines; more threads only thrash.
torch.set_num_threads(min(2, torch.get_num_threads()))


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """../shared/data (real DAVIS / flow pairs / clips); skips the test when absent."""
    path = SHARED / "data"
    if not path.is_dir():
        pytest.skip("../shared/data is absent (real evaluation data is optional)")
    return path


@pytest.fixture(scope="session")
def shared_reference() -> Path:
    """../shared/reference (official toolkit metric values); skips the test when absent."""
    path = SHARED / "reference"
    if not path.is_dir():
        pytest.skip("../shared/reference is absent")
    return path
