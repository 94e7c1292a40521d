"""A person's answer to the agent's question (ask_human), on its way from the
API to the worker: sealed (encrypted) on the task row until the worker takes it.

A secret answer (a 2FA code) becomes one of the task's secrets, named
`human_answer_N`: stored encrypted with the others, so the model can type it
with `<secret>human_answer_N</secret>` and a later attempt of the task still
can, while its value never reaches the model, the steps or the logs."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from shared.crypto import decrypt_json, encrypt_json
from shared.models import Task

SECRET_PREFIX = "human_answer_"


@dataclass(frozen=True)
class HumanAnswer:
    question: str
    text: str
    secret_name: str | None = None  # set when the answer is a secret: `text` is then its value


def free_name(names: list[str]) -> str:
    n = 1
    while f"{SECRET_PREFIX}{n}" in names:
        n += 1
    return f"{SECRET_PREFIX}{n}"


def seal(task: Task, text: str, secret: bool) -> tuple[str, dict[str, Any]]:
    """The sealed answer, and the task columns to set with it (a secret answer's secrets)."""
    columns: dict[str, Any] = {}
    name = None
    if secret:
        secrets = decrypt_json(task.secrets_encrypted) if task.secrets_encrypted else {}
        assert isinstance(secrets, dict)
        name = free_name([*secrets, *(task.secret_names or [])])
        secrets[name] = text
        columns = {"secrets_encrypted": encrypt_json(secrets), "secret_names": sorted(secrets)}
    sealed = encrypt_json({"question": task.human_question or "", "answer": text, "secret_name": name})
    return sealed, columns


def unseal(sealed: str) -> HumanAnswer:
    data = decrypt_json(sealed)
    assert isinstance(data, dict)
    return HumanAnswer(
        question=str(data.get("question") or ""), text=str(data["answer"]), secret_name=data.get("secret_name")
    )
