"""A task's output schema is the type of `done.data` in what providers enforce."""

from __future__ import annotations

import jsonschema
import pytest

from worker.agent.protocol import ACTIONS, FINISHING, response_json_schema

PERSON = {
    "$schema": "https://json-schema.org/draft/2020-12/schema",
    "type": "object",
    "properties": {"name": {"type": "string"}, "home": {"$ref": "#/$defs/Address"}},
    "required": ["name", "home"],
    "$defs": {"Address": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}},
}


def _done(schema: dict) -> dict:
    variants = schema["properties"]["action"]["items"]["anyOf"]
    return next(v["properties"]["done"] for v in variants if "done" in v["properties"])


def test_without_a_schema_data_is_any() -> None:
    assert "type" not in _done(response_json_schema())["properties"]["data"]


@pytest.mark.parametrize("names", [None, FINISHING])
def test_the_schema_types_done_data_and_its_refs_resolve_from_the_root(names: list[str] | None) -> None:
    schema = response_json_schema(names, PERSON)
    data = _done(schema)["properties"]["data"]
    assert data["properties"] == PERSON["properties"] and "$defs" not in data and "$schema" not in data
    assert schema["$defs"]["Address"] == PERSON["$defs"]["Address"]
    good = {
        "evaluation_previous_goal": "",
        "memory": "",
        "next_goal": "",
        "action": [{"done": {"data": {"name": "Ada", "home": {"city": "London"}}}}],
    }
    jsonschema.validate(good, schema)
    bad = {**good, "action": [{"done": {"data": {"name": "Ada", "home": {"town": "London"}}}}]}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(bad, schema)
    assert "$defs" not in PERSON["properties"]["home"] and "$defs" in PERSON  # the task's schema is not changed


def test_no_action_has_definitions_of_its_own_to_clash_with_the_output_schemas() -> None:
    assert all("$defs" not in m.model_json_schema() for m in ACTIONS.values())


def test_a_typed_done_leaves_the_next_steps_schemas_as_they_were() -> None:
    """The actions' parameter schemas are made once and shared by every step's schema: typing
    one task's `done.data` must not reach another task's, nor a step without a schema."""
    plain = response_json_schema()
    typed = response_json_schema(None, PERSON)
    assert _done(typed)["properties"]["data"]["properties"] == PERSON["properties"]
    assert response_json_schema() == plain
    assert "type" not in _done(response_json_schema(FINISHING))["properties"]["data"]
    assert "$defs" not in response_json_schema()
    other = {"type": "object", "properties": {"n": {"type": "integer"}}}
    assert _done(response_json_schema(FINISHING, other))["properties"]["data"] == other
    assert _done(response_json_schema(None, PERSON))["properties"]["data"]["properties"] == PERSON["properties"]


def test_each_caller_gets_its_own_copy_of_the_built_schema_with_the_output_schema_in_its_order() -> None:
    """The document is built once per (actions, output schema); a caller that changes its
    copy changes nobody else's, and the task's properties keep the order it gave them."""
    zebra = {"type": "object", "properties": {"z": {"type": "string"}, "a": {"type": "string"}}}
    first = response_json_schema(None, zebra)
    _done(first)["properties"]["data"]["properties"].clear()
    first["properties"].clear()
    again = response_json_schema(None, zebra)
    assert list(_done(again)["properties"]["data"]["properties"]) == ["z", "a"]
    assert "action" in again["properties"]
    assert response_json_schema(FINISHING, zebra) != again  # another set of actions, another document
