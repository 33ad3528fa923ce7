"""Test-suite settings: every run in the tests is strict, so an internal error in any engine
fails the test that met it instead of hiding behind another strategy's pass."""
import os

os.environ["DERIVE_STRICT"] = "1"

import pytest  # noqa: E402
import torch  # noqa: E402


@pytest.fixture
def one_thread():
    """Small tensors in a loop: one thread beats contending for shared cores."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
