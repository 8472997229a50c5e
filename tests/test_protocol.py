"""qualitygate/protocol.py: the wire contract, and who may import which broker library."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from importlib import resources
from typing import Any

import pytest

from qualitygate.config import Settings
from qualitygate.protocol import (
    MAX_ID_CHARS,
    SAFE_CONTENT,
    TASK_NAME,
    Keys,
    MalformedTaskError,
    celery_settings,
    dead_payload,
    decode_task,
    dump_payload,
    encode_task,
    load_payload,
    usable_id,
)


def test_keys_are_named_from_the_streams_config(settings: Settings) -> None:
    keys = Keys.from_settings(settings)
    state = settings.streams.state_key_prefix
    assert (keys.results, keys.dead) == (settings.streams.results, settings.streams.dead)
    assert keys.result("post-1") == settings.streams.result_key_prefix + "post-1"
    assert keys.in_flight_payloads == f"{state}inflight"
    assert keys.in_flight_sent_at == f"{state}inflight:sent-at"
    assert keys.redeliver_lock == f"{state}inflight:sweep-lock"
    assert keys.published("t1") == f"{state}published:t1"
    assert keys.attempts("t1") == f"{state}attempts:t1"
    seen = keys.intake_seen("wordpress", "sig:ab12")
    assert seen.startswith(f"{state}intake-seen:wordpress:") and "ab12" not in seen
    assert (
        seen != keys.intake_seen("wordpress", "sig:ab13") != keys.intake_seen("strapi", "sig:ab12")
    )
    assert re.fullmatch(rf"{re.escape(state)}cache:[0-9a-f]{{64}}", keys.cache(["a", None]))
    assert keys.cache(["a", None]) == keys.cache(["a", None]) != keys.cache(["a", "b"])


def test_a_task_message_carries_the_item_as_its_one_argument() -> None:
    message = encode_task({"id": "a", "text": "hi"}, "task-1")
    args, kwargs, embed = decode_task(json.loads(json.dumps(message.body)))
    assert (list(args), kwargs) == ([{"id": "a", "text": "hi"}], {})
    assert embed == {"callbacks": None, "errbacks": None, "chain": None, "chord": None}
    assert message.headers["task"] == TASK_NAME and message.headers["id"] == "task-1"
    assert message.headers["lang"] == "py" and message.headers["root_id"] == "task-1"
    options = message.publish_options("q")
    assert (options["routing_key"], options["serializer"]) == ("q", "json")
    assert options["correlation_id"] == "task-1"


@pytest.mark.parametrize(
    ("payload", "version", "problem"),
    [
        ({}, 2, r"\(\[args, kwargs, embed\]\)"),
        ([1], 2, r"\(\[args, kwargs, embed\]\)"),
        ([[], [], 7], 2, r"\(\[args, kwargs, embed\]\)"),
        ("args", 1, r"not a Celery task message$"),
        ({"args": 5}, 1, r"args or kwargs are not a list and an object"),
    ],
)
def test_a_body_of_another_shape_is_named(payload: Any, version: int, problem: str) -> None:
    with pytest.raises(MalformedTaskError, match=problem):
        decode_task(payload, version)


def test_protocol_one_bodies_are_read_too() -> None:
    body = {"args": [{"id": "a"}], "kwargs": {}, "task": TASK_NAME}
    args, kwargs, embed = decode_task(body, version=1)
    assert (args, kwargs, embed) == ([{"id": "a"}], {}, body)


def test_ids_and_payloads() -> None:
    assert usable_id("t") == "t" and usable_id("t" * MAX_ID_CHARS) == "t" * MAX_ID_CHARS
    assert usable_id("") is usable_id("t" * (MAX_ID_CHARS + 1)) is usable_id(5) is None
    assert load_payload(dump_payload({"id": "\ud800"})) == {"id": "\ud800"}
    assert dead_payload({"t": "한"}) == '{"t": "한"}'


def test_producers_and_workers_agree_on_json_only(settings: Settings) -> None:
    config = celery_settings(settings)
    assert config["task_serializer"] in SAFE_CONTENT
    assert set(config["accept_content"]) <= SAFE_CONTENT
    assert config["task_routes"] == {TASK_NAME: {"queue": settings.worker.queue}}


# One fresh interpreter, in import order: the protocol alone, then the modules that may
# use Redis but must not pull in a broker library, even through another module.
_IMPORT_CHECK = """
import sys
import qualitygate.protocol
found = [m for m in ("celery", "kombu", "redis") if m in sys.modules]
import qualitygate.client, workers.publish, workers.batch
print(found, [m for m in ("celery", "kombu") if m in sys.modules])
"""


def test_who_imports_which_broker_library() -> None:
    out = subprocess.run(
        [sys.executable, "-c", _IMPORT_CHECK], capture_output=True, text=True, check=True
    )
    assert out.stdout.strip() == "[] []"


def test_the_workers_main_process_imports_no_torch() -> None:
    """The main process imports the runtime, the staged grader and the prepare pool; the
    model, and torch with it, live only in the pool processes (CUDA must not be forked)."""
    check = (
        "import sys, workers.app, workers.runtime, workers.staged, workers.prepare_pool, "
        "workers.prepare_child; "
        "print([m for m in ('torch', 'transformers', 'tokenizers') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", check], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_the_publish_script_ships_in_the_package_and_names_its_keys() -> None:
    script = resources.files("workers").joinpath("lua", "publish.lua").read_text("utf-8")
    for n in range(1, 10):
        assert f"-- KEYS[{n}]" in script
    assert "-- ARGV[7]" in script
    # Named locals: KEYS and ARGV are read once, at the top, never by number in the logic.
    code = [line for line in script.splitlines() if not line.startswith("--")]
    assert all(line.startswith("local ") for line in code if re.search(r"(KEYS|ARGV)\[", line))
