"""JSON the app keeps: every rule holds whether a line takes the quick path (nothing suspicious in its text) or
the full walk."""

import json

import pytest
from django.core.exceptions import ValidationError

from core import values
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


def test_depth_not_the_number_of_objects_decides_the_quick_path():
    many = json.dumps([{"id": i, "text": "a [bracket] in {text}", "tags": [i]} for i in range(500)])
    assert values._depth(many) == 3 and json_parse(many)[499] == {"id": 499, "text": "a [bracket] in {text}",
                                                                   "tags": [499]}
    deepest = "[" * MAX_DEPTH + "]" * MAX_DEPTH
    assert values._depth(deepest) == MAX_DEPTH and json_parse(deepest) is not None


def test_brackets_inside_strings_neither_hide_nor_fake_depth():
    deep = "[" * (MAX_DEPTH + 1) + "]" * (MAX_DEPTH + 1)
    hiding = '["' + "]" * 100 + '\\" ]]", ' + deep + "]"  # closing brackets on paper, inside a string
    with pytest.raises(ValidationError, match="nests deeper"):
        json_parse(hiding)
    faking = json.dumps(["[" * 200])
    assert values._depth(faking) == 1 and json_parse(faking) == ["[" * 200]
