"""What text and JSON must be before the app keeps any of it, at every door (API bodies, imports, forms, specs).

Text holds no NUL (PostgreSQL cannot store it) and no lone surrogate (it cannot be encoded as UTF-8, so every page,
export and model call that met it would fail). JSON also holds no NaN or infinity (not JSON; PostgreSQL's jsonb
refuses them), no integer beyond 64 bits (databases and Arrow cannot hold it) and nests at most MAX_DEPTH deep
(Python's json and every writer recurse). A value that breaks a rule is a ValidationError naming where it is.
"""

import json
import math
import re
from itertools import accumulate

import orjson
from django.core.exceptions import ValidationError

MAX_DEPTH = 64
INT64_MIN, INT64_MAX = -(2**63), 2**63 - 1
# Bytes of UTF-8 text mapped to "0" (an ASCII digit), "[" (an opening bracket or brace) or " " (anything else): one
# translate, then a substring search and a count, find long digit runs and the nesting eight times as fast as a regex
# search did (which cost five times orjson's parse of the line).
_SHAPE = bytes(48 if 48 <= byte <= 57 else 91 if byte in b"[{" else 32 for byte in range(256))
_LONG_INTEGER = b"0" * 19
# orjson writes 1e-5 where json writes 1e-05; a match in a string's text only costs the slower path
_SHORT_EXPONENT = re.compile(r"[0-9]e-[0-9](?![0-9])")
_ORJSON_CANONICAL = (orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS
                     | orjson.OPT_PASSTHROUGH_SUBCLASS)
_STRING = re.compile(r'"[^"\\]*(?:\\.[^"\\]*)*"')  # a JSON string, escapes included
_NOT_BRACKET = re.compile(r"[^\[\]{}]+")
_STEP = {"[": 1, "{": 1, "]": -1, "}": -1}


def text_check(value, name: str) -> str:
    """A string the database, the pages and the models can all hold, or a ValidationError naming `name`."""
    if not isinstance(value, str):
        raise ValidationError(f"{name} must be a string, got {type(value).__name__}")
    if "\x00" in value:
        raise ValidationError(f"{name} contains a NUL character")
    try:
        if not value.isascii():  # a flag lookup, where encoding copies the text
            value.encode("utf-8")
    except UnicodeEncodeError:
        raise ValidationError(f"{name} contains a lone surrogate (text that is not valid Unicode)") from None
    return value


def json_check(value, name: str = ""):
    """The value if every string, key and number in it can be kept, or a ValidationError naming the place (`name`,
    then the path inside it). Walks with a stack, so depth is counted rather than recursed into."""
    stack = [(value, name, 0)]
    while stack:
        current, where, depth = stack.pop()
        place = where or "the value"
        if isinstance(current, dict | list) and depth >= MAX_DEPTH:
            raise ValidationError(f"{name or 'the value'} nests deeper than {MAX_DEPTH} levels")
        if isinstance(current, dict):
            for key, inner in current.items():
                text_check(key, f"a key in {place}")
                stack.append((inner, f"{where}.{key}" if where else key, depth + 1))
        elif isinstance(current, list):
            stack.extend((inner, f"{where}[{index}]", depth + 1) for index, inner in enumerate(current))
        elif isinstance(current, str):
            text_check(current, place)
        elif isinstance(current, float) and not math.isfinite(current):
            raise ValidationError(f"{place} is {current}, which is not a JSON number")
        elif isinstance(current, int) and not isinstance(current, bool) and not INT64_MIN <= current <= INT64_MAX:
            raise ValidationError(f"{place} is an integer beyond 64 bits")
        elif current is not None and not isinstance(current, bool | int | float):
            raise ValidationError(f"{place} is a {type(current).__name__}, not a JSON value")
    return value


def canonical_json(value) -> str:
    """A JSON value as sorted, compact text with its characters as they are: the text hashes, fingerprints and
    export splits are taken of, so it must never change.

    It is json.dumps(sort_keys=True, ensure_ascii=False, separators=(",", ":")), byte for byte, for every value
    json_check passes (NaN and infinities, which orjson writes as null, are not JSON). orjson writes the same text
    several times as fast, except a float's exponent of one digit (1e-5 for 1e-05); what it refuses
    (integers beyond 64 bits, keys that are not strings, lone surrogates, types json does not know) goes through
    json too, which writes or refuses it as before."""
    try:
        text = orjson.dumps(value, option=_ORJSON_CANONICAL).decode()
    except TypeError:  # orjson.JSONEncodeError is one
        pass
    else:
        if "e-" not in text or not _SHORT_EXPONENT.search(text):  # the substring test is C-fast; the regex is not
            return text
    return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def _no_constant(constant: str):
    raise ValueError(f"{constant} is not a JSON number")


def _depth(text: str) -> int:
    """How many levels the brackets of well-formed JSON text nest; brackets inside strings are text, not nesting,
    so strings are cut out first (a string could otherwise close brackets on paper and hide real depth)."""
    brackets = _NOT_BRACKET.sub("", _STRING.sub("", text))
    return max(accumulate(map(_STEP.__getitem__, brackets)), default=0)


def json_parse(text: str, name: str = ""):
    """`text` as JSON held to json_check's rules (NaN and Infinity refused too), or a ValidationError.

    orjson reads well-formed text about four times as fast as json.loads, and refuses NaN, infinities and lone
    surrogates itself; text it refuses, or that might break a rule it does not check (a NUL, nesting deeper than
    MAX_DEPTH, an integer of 19 digits or more, which it would turn into a float), goes the strict way, which words
    the error. Depth, not the number of objects, decides: a body of many shallow objects stays on the quick path."""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        pass
    else:
        shape = text.encode("utf-8", "surrogatepass").translate(_SHAPE)  # orjson took it: no lone surrogate
        if "\\u0000" not in text and _LONG_INTEGER not in shape and (
                shape.count(b"[") <= MAX_DEPTH or _depth(text) <= MAX_DEPTH):  # counting is cheaper
            return value
    prefix = f"{name}: " if name else ""
    try:
        value = json.loads(text, parse_constant=_no_constant)
    except json.JSONDecodeError as error:
        raise ValidationError(f"{prefix}not valid JSON ({error.msg} at column {error.colno})") from None
    except ValueError as error:
        raise ValidationError(f"{prefix}{error}") from None
    except RecursionError:
        raise ValidationError(f"{prefix}nests deeper than {MAX_DEPTH} levels") from None
    return json_check(value, name)
