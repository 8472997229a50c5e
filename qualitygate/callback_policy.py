"""Which callback URLs and addresses ``qualitygate deliver`` may reach: the allow-list.

Owns the rules, as pure functions over config values and IP addresses: a callback's host
must be on ``delivery.allow_hosts``; its URL must be https (plain http only for an
IP-literal host inside ``delivery.allow_private``); an address that is private, loopback,
link-local, multicast, reserved or otherwise not global is refused unless it lies inside
``delivery.allow_private``, and so is an address that embeds such an IPv4 address
(IPv4-mapped, 6to4, Teredo, NAT64). Config validation uses it at start, and
``callbacks.targets`` applies it to every address a host name resolves to, at every
attempt. It must not resolve names, open connections or import Redis.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING
from urllib.parse import urlsplit

if TYPE_CHECKING:
    from qualitygate.config import DeliverySettings

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network

_HOST_PATTERN = re.compile(
    r"^(\*\.)?[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?(\.[a-z0-9_]([a-z0-9_-]*[a-z0-9_])?)*$"
)
_ORIGIN = re.compile(r"^(key|source):\S+$")
_NAT64 = ipaddress.IPv6Network("64:ff9b::/96")


def parse_network(text: str) -> IPNetwork:
    """A CIDR network (``10.0.0.0/8``, ``fd00::/8``) or one address; ValueError otherwise."""
    return ipaddress.ip_network(text.strip(), strict=False)


def parse_address(host: str) -> IPAddress | None:
    """The IP address a URL's host is, or None for a host name."""
    try:
        return ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return None


def normal_host(host: str) -> str:
    return host.strip().rstrip(".").lower()


def host_allowed(host: str, allow_hosts: Sequence[str]) -> bool:
    """Whether ``host`` is named on the allow-list: a name equal to an entry, a subdomain
    of a ``*.example.com`` entry, or an IP literal inside a CIDR entry."""
    address = parse_address(host)
    name = normal_host(host)
    for entry in allow_hosts:
        if address is not None:
            network = _network_or_none(entry)
            same_family = network is not None and address.version == network.version
            if same_family and address in network:
                return True
            continue
        pattern = normal_host(entry)
        if pattern.startswith("*."):
            if name.endswith(pattern[1:]) and len(name) > len(pattern) - 1:
                return True
        elif name == pattern:
            return True
    return False


def _network_or_none(text: str) -> IPNetwork | None:
    try:
        return parse_network(text)
    except ValueError:
        return None


def _views(address: IPAddress) -> Iterator[IPAddress]:
    """The address, then every IPv4 address it carries inside it. An IPv4-mapped address
    (``::ffff:a.b.c.d``) is that IPv4 address on the wire, so only the IPv4 one counts."""
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        yield address.ipv4_mapped
        return
    yield address
    if isinstance(address, ipaddress.IPv6Address):
        if address.sixtofour is not None:
            yield address.sixtofour
        if address.teredo is not None:
            yield from address.teredo
        if address in _NAT64:
            yield ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)


def _kind(address: IPAddress) -> str | None:
    """Why an address is not a public one, or None when it is."""
    checks = (
        ("unspecified", address.is_unspecified),
        ("loopback", address.is_loopback),
        ("link-local", address.is_link_local),
        ("multicast", address.is_multicast),
        ("reserved", address.is_reserved),
        ("private", address.is_private),
        ("not a global address", not address.is_global),
    )
    return next((name for name, hit in checks if hit), None)


def address_refusal(address: IPAddress, allow_private: Sequence[IPNetwork]) -> str | None:
    """Why a callback may not connect to ``address``, or None when it may: every view of
    it (itself and the IPv4 it embeds) must be public or inside ``allow_private``."""
    for view in _views(address):
        kind = _kind(view)
        if kind is None:
            continue
        if any(view.version == net.version and view in net for net in allow_private):
            continue
        shown = str(address) if view == address else f"{address} (embeds {view})"
        return f"{shown} is {kind} and not inside delivery.allow_private"
    return None


def url_problem(url: str, allow_hosts: Sequence[str], allow_private: Sequence[IPNetwork]) -> str:
    """Why a callback URL is not acceptable, or "" when it is."""
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018  (raises ValueError for a bad port)
    except ValueError as exc:
        return f"not a valid URL ({exc})"
    if parts.scheme not in ("https", "http") or not parts.hostname:
        return "must be an https:// URL with a host"
    if parts.username is not None or parts.password is not None:
        return "must not carry credentials (the signature authenticates each callback)"
    host = parts.hostname
    if not host_allowed(host, allow_hosts):
        return f"host {host!r} is not on delivery.allow_hosts"
    address = parse_address(host)
    if address is not None:
        refusal = address_refusal(address, allow_private)
        if refusal:
            return refusal
    if parts.scheme == "http":
        private = address is not None and _kind(address) is not None
        if not private:
            return "must be https (plain http only for an IP-literal host in allow_private)"
    return ""


def check_delivery(delivery: DeliverySettings) -> None:
    """Every cross-field rule of the ``delivery`` section; ValueError names the field."""
    networks = []
    for index, entry in enumerate(delivery.allow_private):
        network = _network_or_none(entry)
        if network is None:
            raise ValueError(f"allow_private[{index}]: {entry!r} is not a CIDR network")
        networks.append(network)
    for index, entry in enumerate(delivery.allow_hosts):
        if _network_or_none(entry) is None and not _HOST_PATTERN.match(normal_host(entry)):
            raise ValueError(f"allow_hosts[{index}]: {entry!r} is not a host name or network")
    if delivery.backoff_base_s > delivery.backoff_max_s:
        raise ValueError("backoff_base_s must not exceed backoff_max_s")
    for name, callback in delivery.callbacks.items():
        problem = url_problem(callback.url, delivery.allow_hosts, networks)
        if problem:
            raise ValueError(f"callbacks.{name}.url: {problem}")
    for origin, name in delivery.routes.items():
        if not _ORIGIN.match(origin):
            raise ValueError(f"routes: {origin!r} is not key:NAME or source:NAME")
        if name not in delivery.callbacks:
            raise ValueError(f"routes.{origin}: no callback named {name!r} in callbacks")
    if delivery.default_callback and delivery.default_callback not in delivery.callbacks:
        raise ValueError(f"default_callback: no callback named {delivery.default_callback!r}")


def private_networks(delivery: DeliverySettings) -> list[IPNetwork]:
    """``delivery.allow_private`` parsed (validation has checked every entry)."""
    return [parse_network(entry) for entry in delivery.allow_private]
