"""Shared test settings."""

import os

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread():
    """Test tensors are tiny and gain nothing from intra-op threads, and on a shared 2-core CPU the extra
    threads spin (about 10x slower measured here); the setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def needs_procgen():
    """Tests that step Procgen. They run everywhere procgen is installed; only the numpy-2 run of
    `make test` (no procgen wheel for numpy 2) sets SND_TESTS_WITHOUT_PROCGEN=1 and skips them there, so a
    main install that lost procgen still fails loudly."""
    if os.environ.get("SND_TESTS_WITHOUT_PROCGEN") == "1":
        return pytest.importorskip("procgen")
    import procgen

    return procgen
