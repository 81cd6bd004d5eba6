"""The export's stage clock: the time spent making values is counted to their stage."""

import time

from exports.clock import StageClock


def _slow(count: int):
    for value in range(count):
        time.sleep(0.01)
        yield value


def test_the_time_taken_to_make_values_is_counted_to_their_stage_once_they_end():
    clock = StageClock()
    values = clock.iterate("read", _slow(3))
    assert next(values) == 0 and clock.seconds["read"] == 0  # counted at the end: no lock per value
    assert list(values) == [1, 2]
    assert clock.seconds["read"] >= 0.03 and clock.seconds["write"] == 0
