"""JSON the app keeps: every rule holds whether a line takes the quick path (nothing suspicious in its text) or
the full walk."""

import json
from datetime import datetime

import pytest
from django.core.exceptions import ValidationError

from core import values
from core.values import MAX_DEPTH, canonical_json, json_parse


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


def _json_canonical(value) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


@pytest.mark.parametrize("value", [
    [{"role": "user", "content": "".join(chr(c) for c in range(0x3001) if not 0xD800 <= c < 0xE000)}],
    {"b": [1.5e-5, 1e-05, 2.5e-7, 1e16, 0.1, -0.0, 5e-324], "a": {"z": None, "Z": True, "é": 2**63 - 1}},
    {"text": "write 1e-5 as a number", "n": 1},  # looks like a short exponent: the json path, same text
    {"big": 2**64, "keys": {2: "a", 1: "b"}},  # orjson refuses both
    ["lone \ud800 surrogate"],
    ("a tuple", ["of", "lists"]),
])
def test_canonical_json_writes_what_json_writes_byte_for_byte(value):
    assert canonical_json(value) == _json_canonical(value)


def test_canonical_json_refuses_what_json_refuses():
    with pytest.raises(TypeError):
        canonical_json({"when": datetime(2026, 1, 1)})


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
