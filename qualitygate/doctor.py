"""What ``qualitygate doctor`` knows about a deployment, and what it concludes.

Owns the snapshot of a deployment read from Redis (``gather``, through whatever Redis
client the caller hands in: this module imports no Redis) and the checks over it (pure
functions of plain data: role, persistence, eviction policy, stream lengths against
``streams.maxlen``, consumer groups' pending and unread entries, missed results, dead
letters, workers' heartbeats and their config versions), each with what is wrong and the
fix. It must not change anything in Redis nor print: the CLI part (``cli_doctor``) prints.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

from qualitygate.config import Settings
from qualitygate.protocol import Keys
from qualitygate.redis_url import is_sentinel_url, mask_url

Status = Literal["ok", "warn", "fail"]


@dataclass(frozen=True)
class Check:
    """One line of the report: what was looked at, what was found, and the fix."""

    name: str
    status: Status
    found: str
    fix: str = ""


@dataclass(frozen=True)
class Group:
    name: str
    pending: int
    lag: int | None  # unread entries; None when Redis cannot tell (after deletions)
    missed: int  # entries trimmed before the group read or acknowledged them


@dataclass(frozen=True)
class WorkerSeen:
    node: str
    seen_s_ago: float | None  # None when the heartbeat entry is not readable
    config_version: str | None
    pid: int | None


@dataclass(frozen=True)
class Snapshot:
    """A deployment as Redis shows it; None where Redis would not say (CONFIG disabled)."""

    role: str
    replicas: int
    appendonly: str | None
    maxmemory_policy: str | None
    results_len: int
    dead_len: int
    queue_len: int
    groups: list[Group] = field(default_factory=list)
    workers: list[WorkerSeen] = field(default_factory=list)
    sentinels: list[tuple[str, str | None]] = field(default_factory=list)  # (where, problem)
    live_config: str | None = None  # the active live config (``config apply``), if any


def _config(conn: Any, name: str) -> str | None:
    try:
        return str(conn.config_get(name).get(name))
    except Exception:  # a managed Redis may refuse CONFIG: say "unknown", don't fail
        return None


def _text(value: Any) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def read_worker(node: str, raw: Any, now: float) -> WorkerSeen:
    """One ``Keys.workers`` entry (JSON ``{"seen_at", "config_version", "pid"}``)."""
    try:
        data = json.loads(raw)
        seen = now - float(data["seen_at"])
        version, pid = data.get("config_version"), data.get("pid")
        return WorkerSeen(node, seen, str(version) if version else None, pid)
    except (ValueError, TypeError, KeyError):
        return WorkerSeen(node, None, None, None)


def gather(conn: Any, settings: Settings, now: float, sentinels: Sequence[Any] = ()) -> Snapshot:
    """Read the snapshot through ``conn`` (a redis-py client on the master); ``sentinels``
    are clients of the sentinels, asked about ``redis.sentinel.master_name``."""
    keys = Keys.from_settings(settings)
    replication = conn.info("replication")
    groups = []
    if conn.exists(keys.results):
        for info in conn.xinfo_groups(keys.results):
            name = _text(info["name"])
            lag = info.get("lag")
            missed = int(conn.xlen(keys.missed(name)))
            groups.append(
                Group(name, int(info["pending"]), None if lag is None else int(lag), missed)
            )
    workers = [
        read_worker(_text(node), raw, now)
        for node, raw in sorted(conn.hgetall(keys.workers).items())
    ]
    return Snapshot(
        role=_text(replication.get("role", "unknown")),
        replicas=int(replication.get("connected_slaves", 0)),
        appendonly=_config(conn, "appendonly"),
        maxmemory_policy=_config(conn, "maxmemory-policy"),
        results_len=int(conn.xlen(keys.results)),
        dead_len=int(conn.xlen(keys.dead)),
        queue_len=int(conn.llen(settings.worker.queue)),
        groups=groups,
        workers=workers,
        sentinels=[_ask_sentinel(s, settings) for s in sentinels],
        live_config=_text(live) if (live := conn.get(keys.config_active)) else None,
    )


def _ask_sentinel(sentinel: Any, settings: Settings) -> tuple[str, str | None]:
    kwargs = sentinel.connection_pool.connection_kwargs
    where = f"{kwargs.get('host')}:{kwargs.get('port')}"
    try:
        state = sentinel.sentinel_master(settings.redis.sentinel.master_name)
    except Exception as exc:  # unreachable, or it does not monitor that name
        return where, f"{type(exc).__name__}: {str(exc)[:120]}"
    if state.get("is_sdown") or state.get("is_odown"):
        return where, "sees the master as down"
    return where, None


# -- the checks -----------------------------------------------------------------------


def check_all(snap: Snapshot, settings: Settings, stale_after_s: float) -> list[Check]:
    """Every check, in the order the report prints them."""
    return [
        *check_redis(snap, settings),
        check_persistence(snap),
        check_eviction(snap),
        *check_streams(snap, settings),
        *check_groups(snap, settings),
        *check_workers(snap, settings, stale_after_s),
    ]


def check_redis(snap: Snapshot, settings: Settings) -> list[Check]:
    url = mask_url(settings.redis.url)
    sentinel = is_sentinel_url(settings.redis.url)
    where = f"{url} (sentinel master {settings.redis.sentinel.master_name!r})" if sentinel else url
    checks = []
    if snap.role != "master":
        checks.append(
            Check(
                "redis role",
                "fail",
                f"{where} is a {snap.role}: writes fail",
                "point redis.url at the master, or at the sentinels (sentinel://)",
            )
        )
    else:
        checks.append(Check("redis role", "ok", f"{where}: master, {snap.replicas} replica(s)"))
    if sentinel and snap.replicas == 0:
        checks.append(
            Check(
                "replicas",
                "fail",
                "no replica is connected: a failover has nothing to promote",
                "start a replica with replicaof the master",
            )
        )
    if snap.sentinels:
        bad = [f"{where}: {problem}" for where, problem in snap.sentinels if problem]
        good = len(snap.sentinels) - len(bad)
        status: Status = "ok" if good * 2 > len(snap.sentinels) and not bad else "warn"
        if good * 2 <= len(snap.sentinels):
            status = "fail"
        checks.append(
            Check(
                "sentinels",
                status,
                f"{good} of {len(snap.sentinels)} agree the "
                "master is up" + (f"; {'; '.join(bad)}" if bad else ""),
                ""
                if status == "ok"
                else "a majority of sentinels must reach the "
                "master for a failover; restart or reconfigure the others",
            )
        )
    return checks


def check_persistence(snap: Snapshot) -> Check:
    if snap.appendonly is None:
        return Check(
            "persistence",
            "warn",
            "unknown: CONFIG GET refused",
            "make sure AOF (appendonly yes) is on, with your provider",
        )
    if snap.appendonly != "yes":
        return Check(
            "persistence",
            "fail",
            "appendonly no: a restart loses the queue, unread results and every record",
            "CONFIG SET appendonly yes, and appendonly yes with appendfsync everysec in redis.conf",
        )
    return Check("persistence", "ok", "appendonly yes")


def check_eviction(snap: Snapshot) -> Check:
    policy = snap.maxmemory_policy
    if policy is None:
        return Check(
            "eviction",
            "warn",
            "unknown: CONFIG GET refused",
            "make sure maxmemory-policy is noeviction, with your provider",
        )
    if policy != "noeviction":
        return Check(
            "eviction",
            "fail",
            f"maxmemory-policy {policy}: Redis may evict queued items and results when full",
            "CONFIG SET maxmemory-policy noeviction, and the same in redis.conf",
        )
    return Check("eviction", "ok", "maxmemory-policy noeviction")


def check_streams(snap: Snapshot, settings: Settings) -> list[Check]:
    streams = settings.streams
    maxlen, length = streams.maxlen, snap.results_len
    share = f"{length} of streams.maxlen {maxlen} ({100 * length / maxlen:.0f}%)"
    checks = [
        Check(
            "results stream",
            "ok" if length <= maxlen else "warn",
            share,
            ""
            if length <= maxlen
            else "the next result trims the excess; read and acknowledge, or raise streams.maxlen",
        )
    ]
    checks.append(
        Check(
            "queue",
            "ok",
            f"{snap.queue_len} item(s) waiting in {settings.worker.queue}",
        )
    )
    if snap.dead_len:
        checks.append(
            Check(
                "dead letters",
                "warn",
                f"{snap.dead_len} in {streams.dead}",
                f"XRANGE {streams.dead} - + shows why each failed; fix the "
                "cause and submit them again",
            )
        )
    else:
        checks.append(Check("dead letters", "ok", f"none in {streams.dead}"))
    return checks


def check_groups(snap: Snapshot, settings: Settings) -> list[Check]:
    streams = settings.streams
    if not snap.groups:
        return [
            Check(
                "consumer groups",
                "warn",
                "no consumer group reads the results stream",
                "the CMS reads with client.results(group=...) (or qualitygate results)",
            )
        ]
    checks = []
    room = streams.maxlen - streams.pause_headroom
    for group in snap.groups:
        name = f"group {group.name!r}"
        unread = "unknown" if group.lag is None else str(group.lag)
        found = f"{group.pending} pending (read, not acknowledged), {unread} unread"
        if group.missed:
            checks.append(
                Check(
                    name,
                    "fail",
                    f"{found}; {group.missed} result(s) trimmed before it read them",
                    f"fetch them: client.missed({group.name!r})"
                    " then client.get(id); raise streams.maxlen for longer outages",
                )
            )
        elif group.pending + (group.lag or 0) > room:
            checks.append(
                Check(
                    name,
                    "warn",
                    f"{found}: near streams.maxlen, workers pause (or trim, with on_full continue)",
                    "read and acknowledge faster, or raise streams.maxlen",
                )
            )
        else:
            checks.append(Check(name, "ok", found))
    return checks


def check_workers(snap: Snapshot, settings: Settings, stale_after_s: float) -> list[Check]:
    if not snap.workers:
        return [
            Check(
                "workers",
                "fail",
                "no worker has reported a heartbeat",
                "start `qualitygate worker` with this redis.url and config",
            )
        ]
    return [check_worker(seen, snap, settings, stale_after_s) for seen in snap.workers]


def check_worker(
    seen: WorkerSeen, snap: Snapshot, settings: Settings, stale_after_s: float
) -> Check:
    """One worker's heartbeat: readable, recent, and grading with this config."""
    name = f"worker {seen.node}"
    if seen.seen_s_ago is None:
        return Check(name, "warn", "heartbeat entry is not readable JSON",
                     "restart the worker; HDEL the entry if it is gone")  # fmt: skip
    if seen.seen_s_ago > stale_after_s:
        return Check(name, "warn", f"last seen {seen.seen_s_ago:.0f} s ago",
                     "stopped or cut off from Redis: restart it, or HDEL its entry")  # fmt: skip
    # A heartbeat reports the version the worker grades with, a live one included.
    expected = snap.live_config or settings.version
    if seen.config_version != expected and snap.live_config:
        return Check(name, "warn", f"grades with config {seen.config_version}; live config "
                     f"{snap.live_config} is applied (over this file's {settings.version})",
                     "the worker refused it or has other config files: its log says which; "
                     "see `qualitygate config history`")  # fmt: skip
    if seen.config_version != expected:
        return Check(name, "fail", f"grades with config {seen.config_version}, this config is "
                     f"{settings.version}", "restart it with the same config (or run doctor "
                     "with the worker's --config)")  # fmt: skip
    return Check(name, "ok", f"seen {seen.seen_s_ago:.0f} s ago, pid {seen.pid}, "
                 f"config {seen.config_version}")  # fmt: skip
