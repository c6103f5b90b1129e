"""Shared test settings."""

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
