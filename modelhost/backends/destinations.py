"""Where the model host may send a request (plain Python, like the backends).

An endpoint's URL comes from an admin, but the worker that calls it sits inside the network: a URL naming the cloud
metadata service, a database or anything on localhost would let a form reach what the internet cannot (SSRF). So a
URL must resolve to public addresses only, however it is written (decimal `2130706433`, hex `0x7f.1`, IPv6-mapped
`[::ffff:127.0.0.1]`, a DNS name pointing inwards): the addresses are what the resolver gives, as the HTTP client
will. A host named in the allow-list (a vLLM on the LAN) may be internal.

A name checked once could answer differently when the HTTP client resolves it again (DNS rebinding: public for the
check, 127.0.0.1 a second later), so the OpenAI backend checks at every connection (`destination_addresses`) and
connects to the very address it checked.
"""

import ipaddress
import socket
from collections.abc import Collection
from urllib.parse import urlsplit

from .base import BackendError


class DestinationRefused(BackendError):
    """The URL leads somewhere the model host must not send requests."""


def _internal(address: str) -> bool:
    ip = ipaddress.ip_address(address.split("%", 1)[0])  # drop an IPv6 zone
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return not ip.is_global


def destination_allowed(host: str, *, allowed_hosts: Collection[str]) -> bool:
    return host.lower().strip("[]") in {allowed.lower().strip("[]") for allowed in allowed_hosts}


def destination_addresses(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to now, in the resolver's order; DestinationRefused unless all are public."""
    try:
        addresses = list(dict.fromkeys(info[4][0] for info in socket.getaddrinfo(host, port,
                                                                                proto=socket.IPPROTO_TCP)))
    except (socket.gaierror, UnicodeError, ValueError) as error:
        raise DestinationRefused(f"{host} does not resolve: {error}") from None
    internal = sorted(address for address in addresses if _internal(address))
    if internal:
        raise DestinationRefused(f"{host} leads to the internal address {internal[0]}; if that server is yours, "
                                 "list the host in MODELHOST_ALLOWED_HOSTS.")
    return addresses


def destination_check(url: str, *, allowed_hosts: Collection[str]) -> None:
    """Raise DestinationRefused unless `url` is http(s) to public addresses only, or to an allowed host."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise DestinationRefused(f"{url} is not an http(s) URL with a host.")
    if not destination_allowed(parts.hostname, allowed_hosts=allowed_hosts):
        try:
            port = parts.port or (443 if parts.scheme == "https" else 80)
        except ValueError as error:
            raise DestinationRefused(f"{url} has no valid port: {error}") from None
        destination_addresses(parts.hostname, port)
