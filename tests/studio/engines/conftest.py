"""The clips engine tests work on, made once per module."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from tests.studio.engines.clips import decode_frames, write_parent, write_still


@pytest.fixture(scope="module")
def parent(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_parent(tmp_path_factory.mktemp("parent") / "parent.mp4")


@pytest.fixture(scope="module")
def parent_frames(parent: Path) -> list[np.ndarray]:
    return decode_frames(parent)


@pytest.fixture(scope="module")
def still(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return write_still(tmp_path_factory.mktemp("still") / "still.png")
