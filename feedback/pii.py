"""PII scrubbing: e-mail addresses, phone numbers, card numbers, IP addresses and secrets in URLs.

Plain regular expressions with checks (Luhn for cards, `ipaddress` for IPs), not a library: presidio-analyzer needs
a spaCy model that is not on PyPI (and missed names and tokens when tried here, see security-reliability.md 5.2),
scrubadub pulls scikit-learn and textblob for detectors we would not use, and commonregex is unmaintained since 2014
and has no card or secret rule. Names and street addresses are not detected: that needs an NER model.
"""

import ipaddress
import re
from collections import Counter
from urllib.parse import parse_qsl, urlsplit

SECRET_PARAMS = {"token", "access_token", "refresh_token", "id_token", "key", "api_key", "apikey", "secret",
                 "client_secret", "password", "passwd", "pwd", "sig", "signature", "auth", "session", "sessionid",
                 "code", "x-amz-signature", "x-amz-credential", "private_token"}

_URL = re.compile(r"\bhttps?://[^\s<>\"']+", re.IGNORECASE)
_EMAIL = re.compile(r"\b[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}\b")
_CARD = re.compile(r"(?<![\w-])\d(?:[ -]?\d){12,18}(?![\w-])")
_IPV4 = re.compile(r"(?<![\w.])(?:\d{1,3}\.){3}\d{1,3}(?!\w|\.\d)")
_IPV6 = re.compile(r"(?<![\w:])(?:[0-9A-Fa-f]{0,4}:){2,7}[0-9A-Fa-f]{0,4}(?![\w:])")
_PHONE = re.compile(r"(?<![\w+])(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d{2,4}(?:[ .-]?\d{2,5}){1,4}(?!\w)")
_DIGIT = re.compile(r"\d")
_DATE = re.compile(r"\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4}")


def _luhn(digits: str) -> bool:
    total = 0
    for position, char in enumerate(reversed(digits)):
        value = int(char)
        if position % 2:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


def scrub(text: str) -> tuple[str, Counter]:
    """The text with PII replaced by [EMAIL], [PHONE], [CARD], [IP] and [SECRET]; and how many of each."""
    found: Counter = Counter()

    def url(match: re.Match) -> str:
        value = match.group(0)
        parts = urlsplit(value)
        if parts.username or parts.password:
            value = value.replace(parts.netloc.rsplit("@", 1)[0] + "@", "[SECRET]@", 1)
            found["secret"] += 1
        for name, secret in parse_qsl(parts.query, keep_blank_values=False):
            if name.lower() in SECRET_PARAMS and secret:
                value = value.replace(f"={secret}", "=[SECRET]", 1)
                found["secret"] += 1
        return value

    def card(match: re.Match) -> str:
        digits = re.sub(r"\D", "", match.group(0))
        if not _luhn(digits):
            return match.group(0)
        found["card"] += 1
        return "[CARD]"

    def ip(match: re.Match) -> str:
        try:
            ipaddress.ip_address(match.group(0))
        except ValueError:
            return match.group(0)
        found["ip"] += 1
        return "[IP]"

    def phone(match: re.Match) -> str:
        value = match.group(0)
        digits = sum(map(str.isdigit, value))
        if not 9 <= digits <= 15 or _DATE.fullmatch(value.strip()):
            return value
        found["phone"] += 1
        return "[PHONE]"

    def email(match: re.Match) -> str:
        found["email"] += 1
        return "[EMAIL]"

    # Cheap tests first: most messages hold no digit, no "@" and no "://".
    if "://" in text:
        text = _URL.sub(url, text)
    if "@" in text:
        text = _EMAIL.sub(email, text)
    if _DIGIT.search(text):
        text = _CARD.sub(card, text)
        if text.count(".") >= 3:
            text = _IPV4.sub(ip, text)
        text = _PHONE.sub(phone, text)
    if text.count(":") >= 2:
        text = _IPV6.sub(ip, text)
    return text, found
