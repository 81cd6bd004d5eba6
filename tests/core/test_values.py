"""JSON the app keeps: every rule holds whether a line takes the quick path (nothing suspicious in its text) or
the full walk."""

import pytest
from django.core.exceptions import ValidationError

from core.values import MAX_DEPTH, json_parse


def test_a_plain_line_parses_as_it_is():
    assert json_parse('{"item": "i1", "prompt": "Hi", "ratings": {"r1": 7}}') == {
        "item": "i1", "prompt": "Hi", "ratings": {"r1": 7}}


def test_ordinary_escapes_and_numbers_still_pass():
    assert json_parse('{"a": "caf\\u00e9", "n": 9223372036854775807, "x": 1.5e10}') == {
        "a": "café", "n": 2**63 - 1, "x": 1.5e10}


@pytest.mark.parametrize(("text", "message"), [
    ('{"a": "\\ud800"}', "lone surrogate"),
    ('{"a": "x\\u0000y"}', "NUL"),
    ('{"n": 18446744073709551616}', "beyond 64 bits"),
    ('{"x": 1e999}', "not a JSON number"),
    ('{"x": NaN}', "not a JSON number"),
    ("[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1), "nests deeper"),
])
def test_what_the_app_cannot_keep_is_refused_with_its_reason(text, message):
    with pytest.raises(ValidationError, match=message):
        json_parse(text)


@pytest.mark.parametrize(("text", "message"), [
    ('{"t": "café ☕", "n": 18446744073709551616}', "beyond 64 bits"),
    ('{"a":' * (MAX_DEPTH + 1) + "1" + "}" * (MAX_DEPTH + 1), "nests deeper"),
    ('{"a": [{"b": [' * (MAX_DEPTH // 4 + 1) + "]}]}" * (MAX_DEPTH // 4 + 1), "nests deeper"),
])
def test_long_integers_and_nesting_are_found_past_non_ascii_text_and_through_braces(text, message):
    with pytest.raises(ValidationError, match=message):
        json_parse(text)


def test_digits_inside_a_string_are_no_integer():
    assert json_parse('{"id": "q12345678901234567890123"}') == {"id": "q12345678901234567890123"}
