"""The worker's side of ask_human: put the agent's question on the task row (the
task waits, paused, like any pause) and read back what the person did: an
answer (POST /task/{id}/answer), or a plain resume, perhaps after driving the
page themselves in the live view."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass

from shared import task_store
from shared.db import session_scope
from shared.human_answer import HumanAnswer, unseal
from shared.task_store import Lease


@dataclass(frozen=True)
class Reply:
    """What became of a question: still `waiting`, or over with the `answer` (None: resumed without one)."""

    waiting: bool
    answer: HumanAnswer | None = None


class HumanChannel:
    """One task's questions, through its row, under its lease."""

    def __init__(self, lease: Lease) -> None:
        self.lease = lease

    async def ask(self, question: str) -> bool:
        """False when the lease is lost."""
        return await asyncio.to_thread(self._write, question)

    async def reply(self) -> Reply | None:
        """None when the lease is lost."""
        return await asyncio.to_thread(self._read)

    async def pending(self) -> HumanAnswer | None:
        """An answer given while no worker held the task (its worker was lost or shut down)."""
        sealed = await asyncio.to_thread(self._pending)
        return unseal(sealed) if sealed else None

    def _write(self, question: str) -> bool:
        with session_scope() as session:
            return task_store.ask_human(session, self.lease, question)

    def _read(self) -> Reply | None:
        with session_scope() as session:
            got = task_store.take_answer(session, self.lease)
        if got is None:
            return None
        return Reply(waiting=got.waiting, answer=unseal(got.answer_encrypted) if got.answer_encrypted else None)

    def _pending(self) -> str | None:
        with session_scope() as session:
            return task_store.take_pending_answer(session, self.lease)


def describe(answer: HumanAnswer | None, driven: bool) -> str:
    """What the model reads of the person's reply (never a secret answer's value)."""
    if answer is None:
        text = "No answer: a person resumed the task without answering."
        if driven:
            text = "A person took control of the browser, used the page and resumed the task (no written answer)."
        return text + " Look at the page below as they left it."
    if answer.secret_name:
        text = (
            f"The person answered with a secret: type it with <secret>{answer.secret_name}</secret> "
            "(you never see its value)."
        )
    else:
        text = f"The person answered: {answer.text}"
    if driven:
        text += " They also used the page in the browser: look at it below."
    return text
