"""``QualityGateClient.submit_once``: validation before anything is sent, one message per new
submission, and one client shared by many threads (as the HTTP API's threadpool shares it)."""

from __future__ import annotations

import json
import threading

import pytest

from qualitygate.client import QualityGateClient
from qualitygate.errors import InvalidItemError
from tests.support.api import api_settings


def test_nothing_is_sent_when_one_item_is_invalid(api_run: str) -> None:
    with QualityGateClient(settings=api_settings(api_run)) as client:
        with pytest.raises(InvalidItemError, match=r"items\[1\]: text"):
            client.submit_once([{"id": "a", "text": "fine"}, {"id": "b"}])
        assert client.redis.llen(client.settings.worker.queue) == 0
        assert client.redis.hlen(client.keys.in_flight_payloads) == 0
        assert client.submit_once([]) == []


def test_same_item_twice_in_one_call_is_one_task(api_run: str) -> None:
    with QualityGateClient(settings=api_settings(api_run)) as client:
        done = client.submit_once([{"id": "a", "text": "same"}, {"id": "a", "text": "same"}])
        assert done[0].task_id == done[1].task_id
        assert [d.sent for d in done] == [True, False]
        assert client.redis.llen(client.settings.worker.queue) == 1


def test_one_client_many_threads(api_run: str) -> None:
    threads, per_thread = 8, 40
    with QualityGateClient(settings=api_settings(api_run)) as client:
        errors: list[BaseException] = []

        def work(t: int) -> None:
            try:
                for n in range(per_thread):
                    client.submit_once([{"id": f"t{t}-{n}", "text": f"item {t} {n}"}])
            except BaseException as exc:
                errors.append(exc)

        pool = [threading.Thread(target=work, args=(t,)) for t in range(threads)]
        for thread in pool:
            thread.start()
        for thread in pool:
            thread.join()
        assert errors == []
        queue = client.settings.worker.queue
        messages = client.redis.lrange(queue, 0, -1)
        assert len(messages) == threads * per_thread
        task_ids = {json.loads(m)["headers"]["id"] for m in messages}
        assert len(task_ids) == threads * per_thread
        assert client.redis.hlen(client.keys.in_flight_payloads) == threads * per_thread


def test_a_reverted_edit_is_a_new_submission(api_run: str) -> None:
    """Regression: A, B, A again answered A's old task (B's grade was the latest)."""
    with QualityGateClient(settings=api_settings(api_run)) as client:
        a, b = {"id": "x", "text": "version A"}, {"id": "x", "text": "version B"}
        (first,) = client.submit_once([a])
        (edited,) = client.submit_once([b])
        (again,) = client.submit_once([a])
        (repeat,) = client.submit_once([a])
        assert [first.sent, edited.sent, again.sent, repeat.sent] == [True, True, True, False]
        assert again.task_id != first.task_id and repeat.task_id == again.task_id
        assert client.redis.get(client.keys.latest_task("x")) == again.task_id
        assert client.redis.llen(client.settings.worker.queue) == 3


def test_a_repeat_keeps_the_first_origin(api_run: str) -> None:
    with QualityGateClient(settings=api_settings(api_run)) as client:
        client.submit_once([{"id": "y", "text": "same"}], origin="key:cms")
        (repeat,) = client.submit_once([{"id": "y", "text": "same"}], origin="key:other")
        assert not repeat.sent
        assert client.redis.get(client.keys.origin("y")) == "key:cms"
