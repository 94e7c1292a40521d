"""What the model reads: the rules (system) and the whole state of the run
(one user message rebuilt each step, not an ever-growing chat)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from worker.agent.actions import registry
from worker.agent.steps import HistoryItem
from worker.browser.page_state import PageState
from worker.browser.session import TabInfo

_SYSTEM = """You are a browser agent. You complete the user's task by acting in a real web browser.

Each step you receive the task, the history of your earlier steps, and the current browser state:
the open tabs, the current URL and title, and the page content. Interactive elements are lines
that start with their index in square brackets, e.g. `[12]<button type=submit>Search</button>`;
a `*` before the index marks an element that is new since your last step. Refer to elements only
by these indices. An element without text is named by what shows it: `icon=` (its image's file
name), `class=`, `colour=`, an SVG `title=`; a checkbox or radio by its `label=`. A value ending
in … is cut (`value-length=` says how long it is whole): read_value reads it. A select lists its
options (`[x]` = chosen); a long list says how many more, and read_value with a filter finds one.
Menus that open on hover: hover, and their items are listed next step.

Answer with ONE JSON object and nothing else:
{"evaluation_previous_goal": "Success|Failed|Unknown: did your last goal work, and why",
 "memory": "what you have found so far and what is left to do",
 "next_goal": "what the actions of this step are for",
 "action": [ {"<action name>": {<parameters>}}, ... ]}

`action` holds 1 to 5 actions run in order; the rest of the list is skipped when the page changes
(a navigation or a new tab), and you see the new page next step.

Actions:
{actions}

Rules: never guess values you have not seen; use <secret>name</secret> for secrets, never ask for
their values; when only a person can go on, use ask_human rather than guessing; when the task is
complete, or cannot be completed, call done."""
# The action list is written from the registry, where each action is declared once.
SYSTEM = _SYSTEM.replace("{actions}", registry.prompt_list())


@dataclass
class RunState:
    task: str
    output_schema: dict[str, Any] | None
    secret_names: list[str]
    max_steps: int
    history: list[HistoryItem] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)  # standing notes (e.g. no allowed domains)
    files: list[str] = field(default_factory=list)


def render_user_message(
    run: RunState, step: int, state: PageState, tabs: list[TabInfo], current_tab: int | None, events: list[str]
) -> str:
    parts = [f"<task>\n{run.task}\n</task>"]
    if run.output_schema is not None:
        parts.append(
            '<output_schema>\nFinish with done {"data": ...} valid against this JSON Schema:\n'
            f"{json.dumps(run.output_schema)}\n</output_schema>"
        )
    if run.secret_names:
        parts.append(
            "<secrets>\nSecrets you can type with <secret>name</secret> (you never see their values): "
            + ", ".join(run.secret_names)
            + "\n</secrets>"
        )
    if run.notes:
        parts.append("<notes>\n" + "\n".join(run.notes) + "\n</notes>")
    parts.append(render_history(run.history))
    if run.files:
        parts.append("<files>\n" + "\n".join(run.files) + "\n</files>")
    parts.append(_browser(state, tabs, current_tab, events))
    last = step >= run.max_steps
    parts.append(
        f"<step>\nStep {step} of at most {run.max_steps}."
        + (" This is the last step: you must call done now, with what you have." if last else "")
        + "\n</step>"
    )
    return "\n\n".join(parts)


def render_history(history: list[HistoryItem], keep: int = 20) -> str:
    if not history:
        return "<history>\nNo steps yet.\n</history>"
    lines = []
    shown = history[-keep:]
    if len(history) > keep:
        lines.append(f"({len(history) - keep} earlier steps omitted)")
    for item in shown:
        lines.append(
            f"Step {item.step}: evaluation: {item.evaluation} | memory: {item.memory} | next goal: {item.next_goal}"
        )
        lines.extend(f"  - {r}" for r in item.results)
    return "<history>\n" + "\n".join(lines) + "\n</history>"


def _browser(state: PageState, tabs: list[TabInfo], current_tab: int | None, events: list[str]) -> str:
    tab_lines = [f"{'*' if t.tab_id == current_tab else ' '} tab_id {t.tab_id}: {t.title[:60]} ({t.url})" for t in tabs]
    lines = [
        "<browser_state>",
        "Tabs (* = current):",
        *tab_lines,
        f"Current URL: {state.url}",
        f"Title: {state.title}",
    ]
    lines.extend(f"Event: {e}" for e in events)
    lines.append(f"Pages above: {state.pages_above:.1f}, pages below: {state.pages_below:.1f}")
    lines.append("Page content:")
    lines.append(state.text or "(empty page)")
    lines.append("</browser_state>")
    return "\n".join(lines)
