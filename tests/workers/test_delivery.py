"""workers/delivery.py: what a message may carry and which id its result gets."""

from __future__ import annotations

from workers.delivery import delivery_from, result_id_for


def test_the_item_is_the_only_argument_or_the_item_keyword() -> None:
    assert delivery_from("t", [{"id": "a"}], {}).payload == {"id": "a"}
    assert delivery_from("t", [], {"item": {"id": "b"}}).payload == {"id": "b"}
    assert delivery_from("t", [{"id": "a"}], {}).problem is None


def test_other_shapes_are_a_problem_that_names_the_arguments() -> None:
    two = delivery_from("t", [{"id": "a"}, 2], {})
    assert two.problem is not None and "2 positional and 0 keyword" in two.problem
    assert delivery_from("t", [], {}).problem is not None
    assert delivery_from("t", [], {"text": "x"}).problem is not None


def test_result_id_is_the_items_own_when_usable_else_the_task_id() -> None:
    assert result_id_for({"id": "item-1"}, "task") == "item-1"
    assert result_id_for({"id": 42}, "task") == "42"
    assert result_id_for({"id": "x" * 257}, "task") == "task"
    assert result_id_for({"id": ""}, "task") == "task"
    assert result_id_for({"id": True}, "task") == "task"
    assert result_id_for({"text": "no id"}, "task") == "task"
    assert result_id_for("not an object", "task") == "task"
