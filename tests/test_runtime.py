"""bayescred.runtime: the garbage collector is paused for a block and restored after it."""

from __future__ import annotations

import gc

import pytest

from bayescred.runtime import collector_paused


@pytest.mark.parametrize("enabled", [True, False])
def test_collector_paused_restores_the_state_it_found(enabled):
    before = gc.isenabled()
    (gc.enable if enabled else gc.disable)()
    try:
        with collector_paused():
            assert not gc.isenabled()
        assert gc.isenabled() == enabled
        with pytest.raises(KeyError), collector_paused():
            raise KeyError("inside the block")
        assert gc.isenabled() == enabled  # also after an error inside the block
    finally:
        (gc.enable if before else gc.disable)()
