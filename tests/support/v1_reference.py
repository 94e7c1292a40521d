"""The official v1 reference, transcribed in v1_reference.json, as checks: a
response conforms when it validates against the model's JSON Schema (required
fields, types, nullability, enums) and carries no key beyond the model's
properties other than browserq's documented extensions (x-extensions)."""

from __future__ import annotations

import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

REFERENCE = Path(__file__).with_name("v1_reference.json")


@lru_cache
def reference() -> dict[str, Any]:
    return json.loads(REFERENCE.read_text())


def model(name: str) -> dict[str, Any]:
    return reference()["$defs"][name]


def model_names() -> list[str]:
    return list(reference()["$defs"])


def llm_models() -> list[str]:
    return list(model("LLMModel")["enum"])


def endpoints() -> list[dict[str, Any]]:
    return list(reference()["endpoints"])


def problems(name: str, value: Any) -> list[str]:
    """Everything about `value` that the reference's model `name` does not allow."""
    schema = {"$defs": reference()["$defs"], "$ref": f"#/$defs/{name}"}
    found = [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}"
        for e in Draft202012Validator(schema).iter_errors(value)
    ]
    return found + _undocumented_keys(model(name), value, name)


def _undocumented_keys(schema: dict[str, Any], value: Any, where: str) -> list[str]:
    """Keys the model neither defines nor lists as an extension, at every level."""
    schema = _resolve(schema)
    found: list[str] = []
    if isinstance(value, dict) and "properties" in schema:
        known = set(_properties(schema)) | set(schema.get("x-extensions", []))
        found += [f"{where}: undocumented key {key!r}" for key in value if key not in known]
        for key, sub in _properties(schema).items():
            if key in value:
                found += _undocumented_keys(sub, value[key], f"{where}.{key}")
    elif isinstance(value, list) and "items" in schema:
        for i, item in enumerate(value):
            found += _undocumented_keys(schema["items"], item, f"{where}[{i}]")
    elif "anyOf" in schema and value is not None:
        for option in schema["anyOf"]:
            if _resolve(option).get("type") != "null":
                found += _undocumented_keys(option, value, where)
    return found


def _properties(schema: dict[str, Any]) -> dict[str, Any]:
    props = dict(schema.get("properties", {}))
    for part in schema.get("allOf", []):
        props = {**_properties(_resolve(part)), **props}
    return props


def _resolve(schema: dict[str, Any]) -> dict[str, Any]:
    while "$ref" in schema:
        schema = {**model(schema["$ref"].rsplit("/", 1)[1]), **{k: v for k, v in schema.items() if k != "$ref"}}
    return schema


def assert_conforms(name: str, value: Any) -> None:
    found = problems(name, value)
    assert not found, f"{name} does not match the official v1 reference:\n  " + "\n  ".join(found) + f"\n{value!r}"


def explicit_nulls(name: str) -> dict[str, None]:
    """Every field of a request model the reference types `X | null`, set to null."""
    return {key: None for key, sub in _properties(_resolve(model(name))).items() if _nullable(sub)}


def _nullable(schema: dict[str, Any]) -> bool:
    schema = _resolve(schema)
    kind = schema.get("type")
    if kind == "null" or (isinstance(kind, list) and "null" in kind):
        return True
    return any(_nullable(option) for option in schema.get("anyOf", []))
