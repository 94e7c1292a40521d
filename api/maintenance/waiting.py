"""The maintenance loop's share of the integrations: send due webhook events,
and queue again the tasks that waited for a free slot under their key's cap.
Each job logs its own failures and never raises, so one cannot stop the others."""

from __future__ import annotations

import logging

from shared import running_cap
from shared.db import session_scope
from shared.dispatch import dispatch
from shared.settings import Settings
from shared.webhooks import delivery

log = logging.getLogger("browserq.maintenance")


def run_once(settings: Settings) -> None:
    try:
        delivery.send_due()
    except Exception:
        log.exception("sending webhook events failed; retrying next round")
    try:
        with session_scope() as session:
            released = running_cap.release_waiting(session, settings.max_running_tasks_per_key)
        for task_id in released:
            if not dispatch(task_id):
                break  # broker down: due_for_dispatch sends these later
    except Exception:
        log.exception("releasing tasks waiting for a slot failed; retrying next round")
