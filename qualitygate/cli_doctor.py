"""The body of ``qualitygate doctor``: read the deployment, print the checks, exit.

Prints one rich table (check, status, what was found, the fix) and returns the exit
status: 1 when a check failed, 0 otherwise (warnings do not fail). It takes the Redis
client from the caller (``QualityGateClient.redis``, so a Sentinel deployment is read
through the same failover-following connection) and imports no Redis itself; the checks
are ``qualitygate.doctor``'s. Everything printed from Redis (group and worker names) is
shown as text, never as markup.
"""

from __future__ import annotations

import time
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from qualitygate.config import Settings
from qualitygate.doctor import Check, check_all, gather

_STYLE = {"ok": "green", "warn": "yellow", "fail": "bold red"}


def sentinel_clients(conn: Any) -> list[Any]:
    """The sentinels behind a Sentinel-managed client; none for a plain one."""
    manager = getattr(conn.connection_pool, "sentinel_manager", None)
    return list(getattr(manager, "sentinels", []))


def render(checks: list[Check], settings: Settings) -> Table:
    table = Table(title=Text(f"qualitygate doctor (config {settings.version})"))
    for column in ("check", "status", "found", "fix"):
        table.add_column(column, overflow="fold")
    for check in checks:
        table.add_row(
            Text(check.name),
            Text(check.status.upper(), style=_STYLE[check.status]),
            Text(check.found),
            Text(check.fix),
        )
    return table


def run_doctor(conn: Any, settings: Settings, stale_after_s: float, console: Console) -> int:
    """Check, print, and return the exit status (1 when anything failed)."""
    snapshot = gather(conn, settings, time.time(), sentinel_clients(conn))
    checks = check_all(snapshot, settings, stale_after_s)
    console.print(render(checks, settings))
    failed = [check.name for check in checks if check.status == "fail"]
    if failed:
        console.print(Text(f"{len(failed)} problem(s): {', '.join(failed)}", style="bold red"))
    return 1 if failed else 0
