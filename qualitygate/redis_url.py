"""Where a Redis URL may carry credentials, and how it is shown.

redis-py reads a password from the userinfo (``redis://user:pw@host``) or from the query
(``?password=pw``, ``?username=u``); kombu, which the workers and the client use for the
queue, reads only the userinfo and fails with a TypeError on the query form. So
credentials in the query are moved into the userinfo when the config is loaded, and every
credential form is masked wherever a URL is printed or logged.

A Sentinel URL is kombu's own form, ``sentinel://[:password@]host:port[/db]`` once per
sentinel, joined by ``;``: the password is the data nodes' (master and replicas), given in
the first part; the sentinels' own password and the master's name are config
(``redis.sentinel``), not URL. No Redis import here.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import SplitResult, quote, unquote, unquote_plus, urlsplit

MASK = "***"
#: Query parameters whose value is a secret, whatever library reads them.
_SECRET_PARAM = re.compile(r"pass|secret|token|auth", re.IGNORECASE)
_MOVED_TO_USERINFO = ("username", "password")


def _split_query(query: str) -> list[tuple[str, str | None]]:
    """The query's raw ``name=value`` segments, names unquoted, values left as written."""
    pairs: list[tuple[str, str | None]] = []
    for segment in query.split("&") if query else []:
        name, sep, value = segment.partition("=")
        pairs.append((unquote_plus(name), value if sep else None))
    return pairs


def _join_query(pairs: list[tuple[str, str | None]]) -> str:
    return "&".join(quote(name, safe="") + ("" if v is None else f"={v}") for name, v in pairs)


def _unsplit(parts: SplitResult, netloc: str, query: str) -> str:
    # Not urlunsplit: it drops the "//" of a URL with an empty host, as unix:// URLs have.
    tail = (f"?{query}" if query else "") + (f"#{parts.fragment}" if parts.fragment else "")
    return f"{parts.scheme}://{netloc}{parts.path}{tail}"


SENTINEL_SCHEME = "sentinel"


def is_sentinel_url(url: str) -> bool:
    return url.startswith(f"{SENTINEL_SCHEME}://")


@dataclass(frozen=True)
class SentinelURL:
    """A parsed ``sentinel://`` URL: where the sentinels listen, and how to log in to the
    master they name (username, password, database)."""

    sentinels: tuple[tuple[str, int], ...]
    username: str | None
    password: str | None
    db: int


def parse_sentinel_url(url: str) -> SentinelURL:
    """The sentinels, credentials and database of a ``sentinel://`` URL; ValueError says
    which part is wrong. Credentials go in the first part (kombu reads only that one)."""
    hosts: list[tuple[str, int]] = []
    dbs: set[int] = set()
    for index, text in enumerate(url.split(";")):
        parts = urlsplit(text.strip())
        where = f"part {index + 1} ({mask_url(text.strip())})"
        if parts.scheme != SENTINEL_SCHEME:
            raise ValueError(f"{where}: every part must start with sentinel://")
        if parts.query or parts.fragment:
            raise ValueError(f"{where}: a sentinel URL takes no query; use redis.sentinel")
        if index and parts.password is not None:
            raise ValueError(f"{where}: give the password in the first part only")
        try:
            port = parts.port or 26379
        except ValueError:
            raise ValueError(f"{where}: the port is not a number from 0 to 65535") from None
        if not parts.hostname:
            raise ValueError(f"{where}: no host")
        path = parts.path.strip("/")
        if path:
            if not path.isdigit():
                raise ValueError(f"{where}: the database must be a number, not {path!r}")
            dbs.add(int(path))
        hosts.append((parts.hostname, port))
    if len(dbs) > 1:
        raise ValueError("the parts name different databases")
    first = urlsplit(url.split(";")[0].strip())
    return SentinelURL(
        sentinels=tuple(hosts),
        username=unquote(first.username) if first.username else None,
        password=unquote(first.password) if first.password is not None else None,
        db=dbs.pop() if dbs else 0,
    )


def normalise_redis_url(url: str) -> str:
    """The same URL with ``?password=``/``?username=`` moved into the userinfo, so kombu
    and redis-py read the same credentials. Raises ValueError when a credential is given
    both ways, or a ``sentinel://`` URL is malformed."""
    if is_sentinel_url(url):
        parse_sentinel_url(url)
        return url
    parts = urlsplit(url)
    pairs = _split_query(parts.query)
    moved = {name: value or "" for name, value in pairs if name in _MOVED_TO_USERINFO}
    if not moved:
        return url
    # urlsplit leaves the userinfo percent-encoded, as it must stay; query values are
    # decoded the way redis-py decodes them, then encoded for the userinfo.
    raw = {"username": parts.username, "password": parts.password}
    for name, value in moved.items():
        if raw[name]:
            raise ValueError(f"the {name} is given twice (in the userinfo and as ?{name}=)")
        raw[name] = quote(unquote_plus(value), safe="")
    userinfo = (raw["username"] or "") + ("" if raw["password"] is None else f":{raw['password']}")
    netloc = f"{userinfo}@{parts.netloc.rpartition('@')[2]}"
    query = _join_query([(name, value) for name, value in pairs if name not in moved])
    return _unsplit(parts, netloc, query)


def mask_url(url: str) -> str:
    """The URL with every credential replaced by ``***``: the userinfo's password and
    any query parameter that names a secret (``password``, ``ssl_keyfile_password``,
    ``auth_token``...), in each part of a ``sentinel://`` URL. Printable and loggable."""
    if ";" in url and is_sentinel_url(url):
        return ";".join(mask_url(part) for part in url.split(";"))
    parts = urlsplit(url)
    pairs = _split_query(parts.query)
    secret = [name for name, value in pairs if value and _SECRET_PARAM.search(name)]
    if parts.password is None and not secret:
        return url
    netloc = parts.netloc
    if parts.password is not None:
        userinfo, _, hostport = netloc.rpartition("@")
        netloc = f"{userinfo.partition(':')[0]}:{MASK}@{hostport}"
    query = _join_query([(n, MASK if n in secret else v) for n, v in pairs])
    return _unsplit(parts, netloc, query)
