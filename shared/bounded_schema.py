"""JSON Schema validation whose cost a caller cannot blow up. A schema's
`pattern` and `patternProperties` are the caller's regexes, matched against the
model's output: with Python's backtracking `re` (what jsonschema uses), a
pattern like `^(a+)+$` takes seconds per extra character and, on the worker's
event loop, stops every task there. Here they are matched by RE2, in time
linear in the text, and a pattern RE2 cannot take (backreferences, lookaround)
is refused when the task is submitted, saying so.

`unevaluatedProperties` next to `patternProperties` is refused too: jsonschema
matches those patterns with `re` inside its own helper, out of our reach."""

from __future__ import annotations

from collections.abc import Iterator
from functools import lru_cache
from typing import Any

import re2
from jsonschema import Draft202012Validator, ValidationError, validators
from jsonschema.exceptions import SchemaError
from jsonschema.protocols import Validator

MAX_PATTERN_CHARS = 1000
_OPTIONS = re2.Options()
_OPTIONS.log_errors = False  # a refused pattern is answered to the caller, not logged by RE2 to stderr
_OPTIONS.max_mem = 8 << 20  # per compiled pattern: bounded memory too


class UnsafeSchema(ValueError):
    """A schema browserq will not run: the message says which part and why."""


@lru_cache(maxsize=512)
def _compiled(pattern: str) -> Any:
    return re2.compile(pattern, options=_OPTIONS)


def _matches(pattern: str, text: str) -> bool:
    return _compiled(pattern).search(text) is not None


def _pattern(validator: Validator, pattern: str, instance: Any, _schema: dict[str, Any]) -> Iterator[ValidationError]:
    if validator.is_type(instance, "string") and not _matches(pattern, instance):
        yield ValidationError(f"{instance!r} does not match {pattern!r}")


def _pattern_properties(
    validator: Validator, patterns: dict[str, Any], instance: Any, _schema: dict[str, Any]
) -> Iterator[ValidationError]:
    if not validator.is_type(instance, "object"):
        return
    for pattern, subschema in patterns.items():
        for key, value in instance.items():
            if _matches(pattern, key):
                yield from validator.descend(value, subschema, path=key, schema_path=pattern)


def _additional_properties(
    validator: Validator, extra_schema: Any, instance: Any, schema: dict[str, Any]
) -> Iterator[ValidationError]:
    """jsonschema's own, with the patternProperties test done by RE2."""
    if not validator.is_type(instance, "object"):
        return
    known, patterns = schema.get("properties", {}), list(schema.get("patternProperties", {}))
    extras = [k for k in instance if k not in known and not any(_matches(p, k) for p in patterns)]
    if validator.is_type(extra_schema, "object"):
        for extra in extras:
            yield from validator.descend(instance[extra], extra_schema, path=extra)
    elif not extra_schema and extras:
        listed = ", ".join(repr(e) for e in sorted(extras))
        yield ValidationError(f"Additional properties are not allowed ({listed} unexpected)")


BoundedValidator = validators.extend(
    Draft202012Validator,
    {"pattern": _pattern, "patternProperties": _pattern_properties, "additionalProperties": _additional_properties},
)


def _walk(schema: Any, where: str) -> Iterator[tuple[str, Any]]:
    """Every (place, subschema object) of a schema, so each of its regexes can be checked."""
    if isinstance(schema, dict):
        yield where, schema
        for key, value in schema.items():
            yield from _walk(value, f"{where}/{key}")
    elif isinstance(schema, list):
        for i, value in enumerate(schema):
            yield from _walk(value, f"{where}/{i}")


def _check_pattern(pattern: str, where: str) -> None:
    if len(pattern) > MAX_PATTERN_CHARS:
        raise UnsafeSchema(f"the pattern at {where} is longer than {MAX_PATTERN_CHARS} characters")
    try:
        _compiled(pattern)
    except re2.error as exc:
        detail = exc.args[0].decode(errors="replace") if exc.args and isinstance(exc.args[0], bytes) else str(exc)
        raise UnsafeSchema(
            f"the pattern {pattern[:100]!r} at {where} is not supported ({detail}): browserq matches patterns "
            "with RE2, which has no backreferences or lookaround; rewrite it without them"
        ) from None


def check_schema(schema: dict[str, Any]) -> None:
    """Raise SchemaError for an invalid schema, UnsafeSchema for one browserq will not run."""
    BoundedValidator.check_schema(schema)
    has_patterns = has_unevaluated = False
    for where, part in _walk(schema, "#"):
        if isinstance(part.get("pattern"), str):
            _check_pattern(part["pattern"], f"{where}/pattern")
        patterns = part.get("patternProperties")
        if isinstance(patterns, dict) and patterns:
            has_patterns = True
            for pattern in patterns:
                _check_pattern(pattern, f"{where}/patternProperties")
        has_unevaluated = has_unevaluated or "unevaluatedProperties" in part
    if has_patterns and has_unevaluated:
        raise UnsafeSchema(
            "the schema uses patternProperties and unevaluatedProperties together, which browserq "
            "cannot check in bounded time: use additionalProperties instead"
        )


def validator_for(schema: dict[str, Any]) -> Validator:
    return BoundedValidator(schema)


def first_error(validator: Validator, data: Any) -> ValidationError | None:
    """The error to tell the model about (the first by its place in the data), or None."""
    errors = sorted(validator.iter_errors(data), key=lambda e: [str(x) for x in e.path])
    return errors[0] if errors else None


__all__ = ["SchemaError", "UnsafeSchema", "check_schema", "first_error", "validator_for"]
