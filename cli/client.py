"""The `browserq` commands for people at a terminal: submit a task and watch
its steps arrive, list tasks, stop, pause and resume. They speak only the
public HTTP API (like any client), so they work against any browserq server:
`--url`/BROWSERQ_URL and `--key`/BROWSERQ_API_KEY, or by default the local
`browserq dev` (http://127.0.0.1:8000 and its key in .browserq/api-key)."""

from __future__ import annotations

import json
import os
import signal
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, NoReturn

import httpx
import typer
from rich.console import Console, Group
from rich.live import Live
from rich.spinner import Spinner
from rich.table import Table
from rich.text import Text

from shared.task_api import error_detail

DEFAULT_URL = "http://127.0.0.1:8000"
FINAL = {"finished", "stopped", "failed"}
EXIT_CODES = {"finished": 0, "failed": 1, "stopped": 2}
POLL_SECONDS = 0.5

console = Console(highlight=False)
errors = Console(stderr=True, highlight=False)

UrlOption = Annotated[str, typer.Option("--url", envvar="BROWSERQ_URL", help="The browserq server")]
KeyOption = Annotated[
    str | None, typer.Option("--key", envvar="BROWSERQ_API_KEY", help="API key (default: .browserq/api-key)")
]


def fail(message: str, code: int = 1) -> NoReturn:
    errors.print(f"[red]error:[/red] {message}")
    raise typer.Exit(code)


def default_key() -> str | None:
    """The key `browserq dev` keeps in its data folder, when this is that machine."""
    file = Path(os.environ.get("BROWSERQ_DATA_DIR", ".browserq")) / "api-key"
    return file.read_text().strip() if file.is_file() else None


@dataclass
class Api:
    """The v1 API with errors turned into messages that say what to do."""

    url: str
    key: str | None

    def __post_init__(self) -> None:
        self.key = self.key or default_key()
        if not self.key:
            fail("no API key: pass --key or set BROWSERQ_API_KEY (`browserq keys create NAME` makes one)")
        self.http = httpx.Client(
            base_url=self.url.rstrip("/") + "/api/v1", headers={"Authorization": f"Bearer {self.key}"}, timeout=30
        )

    def call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.request(method, path, **kwargs).json()

    def request(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        try:
            response = self.http.request(method, path, **kwargs)
        except httpx.HTTPError as exc:
            fail(f"cannot reach browserq at {self.url} ({exc}): is it running? (`browserq dev` starts one)")
        if response.status_code == 401:
            fail("the server refused the API key: check --key / BROWSERQ_API_KEY")
        if response.status_code >= 400:
            fail(f"{method} {path}: {response.status_code} {error_detail(response)}")
        return response


# ------------------------------------------------------------------ commands


def run(
    task: Annotated[str, typer.Argument(help="What the agent should do, in plain language")],
    follow: Annotated[bool, typer.Option("--follow", "-f", help="Show the steps as they arrive")] = False,
    model: Annotated[str | None, typer.Option("--model", help="llm_model, e.g. gpt-4.1")] = None,
    max_steps: Annotated[int | None, typer.Option("--max-steps", help="Step limit (1..200)")] = None,
    allowed_domain: Annotated[
        list[str] | None, typer.Option("--allowed-domain", help="Only load these domains (repeatable)")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Submit a task; prints its id (with --follow: its steps, then its output)."""
    body: dict[str, Any] = {"task": task}
    if model:
        body["llm_model"] = model
    if max_steps is not None:
        body["max_agent_steps"] = max_steps
    if allowed_domain:
        body["allowed_domains"] = allowed_domain
    api = Api(url, key)
    task_id = api.call("POST", "/run-task", json=body)["id"]
    if not follow:
        console.print(task_id)
        return
    console.print(f"task [bold]{task_id}[/bold] submitted")
    Follower(api, task_id).run()


def follow(
    task_id: Annotated[str, typer.Argument(help="The task's id")], url: UrlOption = DEFAULT_URL, key: KeyOption = None
) -> None:
    """Show a task's steps as they arrive, then its output (Ctrl-C asks whether to stop it)."""
    Follower(Api(url, key), task_id).run()


def tasks(
    status: Annotated[str | None, typer.Option("--status", help="Only tasks with this status")] = None,
    limit: Annotated[int, typer.Option("--limit", min=1, max=100)] = 20,
    page: Annotated[int, typer.Option("--page", min=1)] = 1,
    as_json: Annotated[bool, typer.Option("--json", help="Print the API's JSON")] = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """List tasks, newest first."""
    params: dict[str, Any] = {"page": page, "limit": limit, **({"status": status} if status else {})}
    listing = Api(url, key).call("GET", "/tasks", params=params)
    if as_json:
        console.print_json(json.dumps(listing))
        return
    table = Table(box=None, pad_edge=False)
    table.add_column("id", no_wrap=True, min_width=36)
    table.add_column("status", no_wrap=True)
    table.add_column("created", no_wrap=True)
    table.add_column("cost", no_wrap=True, justify="right")
    table.add_column("task", overflow="ellipsis", no_wrap=True, max_width=50)
    for item in listing["tasks"]:
        created = (item.get("created_at") or "")[:19].replace("T", " ")
        table.add_row(item["id"], _status_text(item["status"]), created, cost_text(item.get("cost")), item["task"])
    console.print(table, width=max(console.width, 130))
    console.print(f"page {listing['page']} of {listing['total_pages']} ({listing['total_count']} tasks)", style="dim")


def cost_text(cost: dict[str, Any] | None) -> str:
    """`$0.0123`; a model with no price shows its tokens instead (`1,200 tok`), never a guess."""
    if not cost:
        return "-"
    if cost.get("usd") is not None:
        return f"${cost['usd']:.4f}"
    return f"{cost.get('input_tokens', 0) + cost.get('output_tokens', 0):,} tok"


def answer(
    task_id: Annotated[str, typer.Argument(help="The task's id")],
    text: Annotated[str, typer.Argument(help="Your answer to the agent's question")],
    secret: Annotated[
        bool,
        typer.Option(
            "--secret", help="Keep it like a task secret (a 2FA code, a password): the agent types it but never sees it"
        ),
    ] = False,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """Answer the question a task waits on (its human_question)."""
    Api(url, key).call("POST", f"/task/{task_id}/answer", json={"answer": text, "secret": secret})
    console.print(f"task {task_id}: answered{' (as a secret)' if secret else ''}; the agent goes on")


def export(
    task_id: Annotated[str, typer.Argument(help="A finished task's id")],
    output: Annotated[
        Path | None, typer.Option("--output", "-o", help="Write the script to this file (default: print it)")
    ] = None,
    url: UrlOption = DEFAULT_URL,
    key: KeyOption = None,
) -> None:
    """A finished task as a Python script that repeats it with Playwright alone (GET /task/{id}/script)."""
    script = Api(url, key).request("GET", f"/task/{task_id}/script").text
    if output is None:
        print(script, end="")  # the script itself, not rich's rendering of it
        return
    output.write_text(script, encoding="utf-8")
    errors.print(f"wrote {output}: run it with `python {output}` after `pip install playwright` (see its header)")


def _control(verb: str, done: str) -> Any:
    def command(
        task_id: Annotated[str, typer.Argument(help="The task's id")],
        url: UrlOption = DEFAULT_URL,
        key: KeyOption = None,
    ) -> None:
        Api(url, key).call("PUT", f"/{verb}-task/{task_id}")
        console.print(f"task {task_id}: {done}")

    command.__doc__ = f"{verb.capitalize()} a task."
    return command


def register(app: typer.Typer) -> None:
    app.command()(run)
    app.command()(follow)
    app.command()(tasks)
    app.command("stop")(_control("stop", "stopped"))
    app.command("pause")(_control("pause", "pause requested (the browser stays open; `browserq resume` goes on)"))
    app.command("resume")(_control("resume", "resumed"))
    app.command()(answer)
    app.command()(export)


# ------------------------------------------------------------------ following


class Follower:
    """Polls one task, prints each new step once, keeps a live status line under them."""

    def __init__(self, api: Api, task_id: str) -> None:
        self.api, self.task_id = api, task_id
        self.shown = 0
        self.asked: str | None = None  # the question last shown
        self.started = time.monotonic()
        self.spinner = Spinner("dots")

    def run(self) -> NoReturn:
        previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # even if started with SIGINT ignored
        try:
            task = self._watch()
        except KeyboardInterrupt:
            self._interrupted()
        finally:
            signal.signal(signal.SIGINT, previous)
        self._print_result(task)
        raise typer.Exit(EXIT_CODES.get(task["status"], 1))

    def _watch(self) -> dict[str, Any]:
        with Live(self._status_line(None), console=console, transient=True, refresh_per_second=8) as live:
            while True:
                task: dict[str, Any] = self.api.call("GET", f"/task/{self.task_id}")
                for step in task.get("steps") or []:
                    if step["step"] > self.shown:
                        live.console.print(render_step(step))
                        self.shown = step["step"]
                if task["status"] in FINAL:
                    return task
                if task.get("human_question") and task["human_question"] != self.asked:
                    self.asked = task["human_question"]
                    live.console.print(render_question(self.task_id, self.asked))
                live.update(self._status_line(task))
                time.sleep(POLL_SECONDS)

    def _status_line(self, task: dict[str, Any] | None) -> Group:
        status = task["status"] if task else "submitted"
        elapsed = time.monotonic() - self.started
        self.spinner.text = Text.assemble(
            (status, _STATUS_STYLES.get(status, "")), f" · {self.shown} step(s) · {elapsed:.0f}s · Ctrl-C to stop"
        )
        return Group(self.spinner)

    def _interrupted(self) -> NoReturn:
        """Ctrl-C: the task runs on the server, so ask rather than guess."""
        try:
            stop = typer.confirm(f"\nStop task {self.task_id}?", default=False)
        except (typer.Abort, KeyboardInterrupt, EOFError):
            stop = False
        if stop:
            self.api.call("PUT", f"/stop-task/{self.task_id}")
            console.print(f"task {self.task_id}: stopped")
        else:
            console.print(f"task {self.task_id} goes on; follow it again with: browserq follow {self.task_id}")
        raise typer.Exit(130)

    def _print_result(self, task: dict[str, Any]) -> None:
        console.print(
            Text.assemble(
                "task ",
                (task["status"], _STATUS_STYLES.get(task["status"], "")),
                f" after {len(task.get('steps') or [])} step(s)",
            )
        )
        if task.get("output"):
            console.print(task["output"], markup=False)
        for name in task.get("output_files") or []:
            console.print(f"output file: {name}", style="dim")


_STATUS_STYLES = {"finished": "green", "failed": "red", "stopped": "yellow", "paused": "yellow", "running": "cyan"}


def _status_text(status: str) -> Text:
    return Text(status, style=_STATUS_STYLES.get(status, ""))


def render_step(step: dict[str, Any]) -> Text:
    """One step as a few lines: number and page, what happened, what is next, the actions."""
    text = Text.assemble((f"step {step['step']}", "bold"), "  ", (step.get("url") or "", "dim"))
    if step.get("evaluation_previous_goal"):
        text.append("\n  " + _indented(step["evaluation_previous_goal"], "  "))
    if step.get("next_goal"):
        text.append("\n  → " + _indented(step["next_goal"], "    "))
    for action in step.get("actions") or []:
        text.append(f"\n    {_action_text(action)}", style="dim")
    return text


def render_question(task_id: str, question: str) -> Text:
    return Text.assemble(
        ("the agent asks you: ", "bold yellow"),
        question,
        (f"\n  answer with: browserq answer {task_id} 'YOUR ANSWER' [--secret]", "dim"),
    )


def _indented(text: str, pad: str) -> str:
    return text.strip().replace("\n", "\n" + pad)


def _action_text(action: dict[str, Any]) -> str:
    if not isinstance(action, dict) or len(action) != 1:
        return json.dumps(action)[:200]
    ((name, params),) = action.items()
    args = ", ".join(f"{k}={json.dumps(v)}" for k, v in (params or {}).items()) if isinstance(params, dict) else ""
    return f"{name}({args})"[:200]
