"""Callback targets: the configured callbacks with their secrets, and where to connect.

Owns turning a callback URL into a *pinned* request: the host name is resolved once per
attempt, every address it resolves to is checked against the allow-list
(``qualitygate.callback_policy``: private, loopback, link-local, multicast and reserved
addresses are refused unless inside ``delivery.allow_private``), and the request then
connects to the checked address itself, with the original host name kept as the ``Host``
header and as the TLS server name (SNI and certificate verification). The HTTP client never
resolves the name again, so a DNS answer that changes between the check and the connect
(DNS rebinding) cannot steer a callback to an internal service. It must not send anything.
"""

from __future__ import annotations

import os
import socket
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from urllib.parse import urlsplit, urlunsplit

from qualitygate.callback_policy import IPNetwork, address_refusal, parse_address
from qualitygate.config import DeliverySettings
from qualitygate.errors import ConfigError

#: host, port -> the IP addresses the name resolves to (socket.getaddrinfo by default).
Resolver = Callable[[str, int], Sequence[str]]


class TargetRefused(Exception):
    """A callback host resolved to an address the allow-list refuses, or to none."""


@dataclass(frozen=True)
class Callback:
    """One configured callback, its secret resolved (never shown in a repr)."""

    name: str
    url: str
    secret: str = field(repr=False)


@dataclass(frozen=True)
class Pinned:
    """A request's destination after the check: the URL to connect to (the checked IP in
    place of the name), and the host name for the ``Host`` header and for TLS."""

    url: str
    host_header: str
    server_name: str | None


def load_callbacks(
    delivery: DeliverySettings, environ: Mapping[str, str] | None = None
) -> dict[str, Callback]:
    """Every configured callback with its secret, read from config or from the environment
    variable named by ``secret_env``; ConfigError names the field when one is unset."""
    env = os.environ if environ is None else environ
    loaded: dict[str, Callback] = {}
    for name, callback in delivery.callbacks.items():
        if callback.secret is not None:
            secret = callback.secret.get_secret_value()
        else:
            secret = env.get(callback.secret_env or "", "")
            if len(secret) < 16:
                raise ConfigError(
                    f"config.delivery.callbacks.{name}.secret_env: the environment variable "
                    f"{callback.secret_env} is unset or shorter than 16 characters"
                )
        loaded[name] = Callback(name, callback.url, secret)
    return loaded


def system_resolver(host: str, port: int) -> list[str]:
    """Every address ``host`` resolves to for a TCP connection, in the resolver's order."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    return list(dict.fromkeys(str(info[4][0]) for info in infos))


def pin(url: str, allow_private: Sequence[IPNetwork], resolve: Resolver) -> Pinned:
    """Resolve ``url``'s host, check every address, and point the URL at the first one.

    TargetRefused when any address is refused (one bad address among good ones is enough:
    a name that sometimes answers with an internal address is not a safe target)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    port = parts.port or (443 if parts.scheme == "https" else 80)
    literal = parse_address(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list(resolve(host, port))
        except OSError as exc:
            raise TargetRefused(f"cannot resolve {host!r} ({type(exc).__name__})") from None
        if not addresses:
            raise TargetRefused(f"{host!r} resolves to no address")
    for text in addresses:
        address = parse_address(text.split("%", 1)[0])
        if address is None:
            raise TargetRefused(f"{host!r} resolved to {text!r}, not an IP address")
        refusal = address_refusal(address, allow_private)
        if refusal:
            raise TargetRefused(f"{host!r} resolves to {refusal}")
    chosen = parse_address(addresses[0].split("%", 1)[0])
    netloc_host = f"[{chosen}]" if chosen is not None and chosen.version == 6 else str(chosen)
    default_port = port == (443 if parts.scheme == "https" else 80)
    shown_host = f"[{host}]" if literal is not None and literal.version == 6 else host
    host_header = shown_host if default_port else f"{shown_host}:{port}"
    pinned = urlunsplit((parts.scheme, f"{netloc_host}:{port}", parts.path or "/", parts.query, ""))
    server_name = host if parts.scheme == "https" and literal is None else None
    return Pinned(pinned, host_header, server_name)
