import gc

import pytest

from core.heap import collector_paused


def test_the_collector_is_off_during_a_load_and_on_again_after_it_even_when_the_load_fails():
    assert gc.isenabled()
    with pytest.raises(ValueError), collector_paused():
        assert not gc.isenabled()
        raise ValueError("a bad line")
    assert gc.isenabled()


def test_a_collector_already_off_stays_off():
    gc.disable()
    try:
        with collector_paused():
            pass
        assert not gc.isenabled()
    finally:
        gc.enable()
