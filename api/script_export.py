"""A finished task as a standalone Playwright script the user owns (GET /task/{id}/script).

The script repeats the recorded run with Playwright alone: each navigation, each
action on a locator built from the recorded element (api/element_locators.py,
the element line kept as a comment), each wait on what the run saw happen (the
URL it reached; Playwright's own wait for an element before acting on it), never
a sleep. Secrets come from `SECRET_<KEY>` environment variables and are never
written; uploaded files are arguments; the browser is `CHROMIUM_PATH` or
Playwright's own. At its end it prints the answer read again from where the run
read it (Task.answer_sources), as text or as JSON for an output schema.

Lines are kept as `ruff format` leaves them (120 columns): a statement too long
for a line gets its longest strings as named values first."""

from __future__ import annotations

import io
import json
import re
import textwrap
import tokenize
from datetime import UTC, datetime
from typing import Any

from api.element_locators import locator_for
from api.python_literals import py_str, py_value
from api.script_runtime import RUNTIME
from shared.models import Step, Task

LINE = 120
SECRET = re.compile(r"<secret>([^<]+)</secret>")
SECRET_CALL = re.compile(r'secret\("(SECRET_[A-Z0-9_]+)"\)')  # a secret the script types (a person's secret answer too)
SCHEME = re.compile(r"^[a-zA-Z][a-zA-Z0-9+.-]*:")  # a URL the agent gave without one opened as https://
LOCAL = ("about:blank", "chrome-error://", "data:")
# Actions on the page that may open a tab (a link, a form's target, a key): the script goes on
# in the tab the action opened, as the run did.
OPENS_TABS = frozenset({"click", "select_dropdown", "send_keys"})


def secret_variable(key: str) -> str:
    """SECRET_<KEY>: the key upper-cased, any other character than a letter or digit as `_`."""
    return "SECRET_" + re.sub(r"[^A-Z0-9]", "_", key.upper())


def upload_option(file_name: str) -> str:
    return "--" + (re.sub(r"[^a-z0-9]+", "-", file_name.lower()).strip("-") or "file")


def export_script(task: Task, steps: list[Step], now: datetime | None = None) -> str:
    body = _Body()
    uploads: list[str] = []
    for n, step in enumerate(steps):
        following = steps[n + 1].url if n + 1 < len(steps) else None
        _step(body, step, following, uploads)
    _answer(body, task)
    return _module(task, body.lines, uploads, now or datetime.now(UTC))


# --- the run ---------------------------------------------------------------------


class _Body:
    """The statements of `run()`, each fitted to the line length."""

    def __init__(self) -> None:
        self.lines: list[str] = []
        self._names = 0

    def comment(self, text: str) -> None:
        for line in text.splitlines() or [""]:
            self.lines.append(f"    # {line}".rstrip())

    def add(self, statement: str) -> None:
        while len(statement) + 4 > LINE and (literal := _longest_string(statement)) is not None:
            self._names += 1
            name = f"text_{self._names}"
            self.lines.extend(_assign(name, literal, 4))
            statement = statement.replace(literal, name, 1)
        self.lines.append(f"    {statement}")


def _step(body: _Body, step: Step, following: str | None, uploads: list[str]) -> None:
    actions = step.actions or []
    results = step.results or []
    elements = step.elements or [None] * len(actions)
    body.comment(f"Step {step.step}: {step.next_goal}" if step.next_goal else f"Step {step.step}")
    ran: list[tuple[str, dict[str, Any], str | None]] = []
    for action, result, element in zip(actions, results, elements, strict=False):
        ((name, params),) = action.items()
        if name == "done":
            continue
        if "error" in result:
            body.comment(f"({name} failed in the run and is left out: {result['error']})")
            continue
        ran.append((name, params or {}, element))
    navigated_to = ran[-1][1].get("url") if ran and ran[-1][0] == "navigate" else None
    elsewhere = bool(following and following != step.url and not following.startswith(LOCAL))
    last_opener = max((n for n, (name, _, _) in enumerate(ran) if name in OPENS_TABS), default=None)
    for n, (name, params, element) in enumerate(ran):
        _action(body, name, params, element, uploads)
        if name in OPENS_TABS:
            # The run went on at `following`: a tab this action opened may open after it returns.
            waits = elsewhere and n == last_opener
            body.add(
                f"page = tabs.follow(page, same_page({py_str(following or '')}))"
                if waits
                else "page = tabs.follow(page)"
            )
    if len(results) < len([a for a in actions if "done" not in a]):
        body.comment("(the rest of this step's actions never ran: the page changed under them)")
    if elsewhere and following != navigated_to:
        body.add(f"page.wait_for_url(same_page({py_str(following or '')}))")


def _action(body: _Body, name: str, params: dict[str, Any], element: str | None, uploads: list[str]) -> None:
    if params.get("index") is not None:
        if element is None:
            body.add(f"sys.exit({py_str(f'the run did not record the element of this {name}; edit the script here')})")
            return
        body.comment(element)
        target = locator_for(element)
    if name == "navigate":
        if params.get("new_tab"):
            body.add("page = page.context.new_page()")
        url = str(params["url"]).strip()
        body.add(f"page.goto({py_str(url if SCHEME.match(url) else 'https://' + url)})")  # as the agent opened it
    elif name == "go_back":
        body.add("page.go_back()")
    elif name == "click":
        body.add(f"{target}.click()")
    elif name == "input":
        method = "fill" if params.get("clear", True) else "press_sequentially"
        body.add(f"{target}.{method}({_text_expression(params.get('text', ''))})")
    elif name == "select_dropdown":
        body.add(f"{target}.select_option(label={py_str(params['text'])})")
    elif name == "send_keys":
        body.add(f"page.keyboard.press({py_str(params['keys'])})")
    elif name == "scroll":  # as the agent scrolled: by viewports, of the page or inside an element
        pages = float(params.get("pages", 1.0)) * (1 if params.get("down", True) else -1)
        if params.get("index") is not None:
            body.add(f'{target}.evaluate("(el, f) => el.scrollBy(0, el.clientHeight * f)", {pages!r})')
        else:
            body.add(f'page.evaluate("f => window.scrollBy(0, window.innerHeight * f)", {pages!r})')
    elif name == "wait":
        body.comment(f"(the run waited {params.get('seconds', 1)} s here: the script waits for the page to load)")
        body.add('page.wait_for_load_state("load")')
    elif name == "switch":
        body.add(f"page = tabs.opened[{int(params['tab_id'])}]")
        body.add("page.bring_to_front()")
    elif name == "close":
        body.add(f"tabs.opened[{int(params['tab_id'])}].close()")
    elif name == "upload_file":
        file_name = str(params["file_name"])
        uploads.append(file_name)
        attribute = upload_option(file_name)[2:].replace("-", "_")
        body.add(f"{target}.set_input_files(args.{attribute})")
    else:  # extract, read_file, write_file, ask_human: nothing to do in the browser
        body.comment(f"(the agent's {name} here: {json.dumps(params, ensure_ascii=False)[:200]})")


def _text_expression(text: str) -> str:
    """Typed text: literal parts, and each `<secret>key</secret>` read from the environment."""
    parts: list[str] = []
    cursor = 0
    for match in SECRET.finditer(text):
        if match.start() > cursor:
            parts.append(py_str(text[cursor : match.start()]))
        parts.append(f"secret({py_str(secret_variable(match.group(1).strip()))})")
        cursor = match.end()
    if cursor < len(text) or not parts:
        parts.append(py_str(text[cursor:]))
    return " + ".join(parts)


# --- the answer --------------------------------------------------------------------


def _answer(body: _Body, task: Task) -> None:
    """Statements that read the answer again and return it as printed."""
    sources = task.answer_sources or {}
    body.comment("The answer, read again where the run read it")
    if sources.get("kind") == "data":
        _data_answer(body, task, sources)
        return
    if sources.get("kind") == "text":
        parts = sources.get("parts") or []
        values = [py_str(p["literal"]) if "literal" in p else _read_call(body, p["source"]) for p in parts]
        body.add(f"return {' + '.join(values)}")
        return
    body.comment("(the run's answer was not read from the page: it is printed as the run gave it)")
    body.add(f"return {py_str(task.output or '')}")


def _data_answer(body: _Body, task: Task, sources: dict[str, Any]) -> None:
    try:
        data = json.loads(task.output or "null")
    except ValueError:
        data = None
    body.add(f"data = {py_value(data)}")
    for field in sources.get("fields") or []:
        path = "".join(f"[{py_value(key)}]" for key in field["path"])
        body.add(f"data{path} = {_read_call(body, field['source'])}")
    body.add("return json.dumps(data, ensure_ascii=False, indent=2)")


def _read_call(body: _Body, source: dict[str, Any]) -> str:
    if source.get("element"):
        body.comment(str(source["element"]))
    args = [py_str(source["selector"])]
    if source.get("prefix"):
        args.append(f"prefix={py_str(source['prefix'])}")
    if source.get("suffix"):
        args.append(f"suffix={py_str(source['suffix'])}")
    if source.get("attribute"):
        args.append(f"attribute={py_str(source['attribute'])}")
    if source.get("type") == "number":
        args.append("number=True")
    if source.get("frame"):
        args.append(f"frame={py_str(source['frame'])}")
    return f"read_value(page, {', '.join(args)})"


# --- the module ---------------------------------------------------------------------


def _module(task: Task, run: list[str], uploads: list[str], now: datetime) -> str:
    finished = task.finished_at.strftime("%Y-%m-%d %H:%M UTC") if task.finished_at else "?"
    header = [
        f"# Exported from browserq task {task.id} on {now:%Y-%m-%d %H:%M} UTC (the run finished {finished}).",
        "# The task as it was given:",
        *[f"#   {line}".rstrip() for line in _wrapped(task.task)],
        "#",
        "# Run it with only Playwright installed (pip install playwright; python -m playwright install chromium,",
        "# or set CHROMIUM_PATH to a Chromium of your own):",
        f"#   python {_file_name(task)}" + "".join(f" {upload_option(f)} PATH" for f in uploads),
    ]
    secrets = sorted({secret_variable(k) for k in task.secret_names or []} | set(SECRET_CALL.findall("\n".join(run))))
    if secrets:
        header.append(f"# The run's secrets are read from the environment: {', '.join(secrets)}.")
    header.append("# It prints the answer read again from the page, where the run read it.")
    options = [
        f"    parser.add_argument({py_str(upload_option(f))}, default={py_str(f)}, "
        f"help={py_str(f'the file the run uploaded as {f!r}')})"
        for f in uploads
    ]
    options = [line if len(line) <= LINE else _split_call(line) for line in options]
    description = py_str(f"Repeat browserq task {task.id[:8]} with Playwright.")
    viewport = f'{{"width": {task.browser_viewport_width}, "height": {task.browser_viewport_height}}}'
    return RUNTIME.format(
        header="\n".join(header),
        run="\n".join(run),
        description=description,
        options="".join(line + "\n" for line in options),
        viewport=viewport,
    )


def _file_name(task: Task) -> str:
    return f"browserq_{task.id[:8]}.py"


def _wrapped(text: str) -> list[str]:
    lines: list[str] = []
    for paragraph in text.splitlines() or [""]:
        lines.extend(textwrap.wrap(paragraph, 100) or [""])
    return lines


def _longest_string(statement: str) -> str | None:
    """The longest string literal of a statement worth naming (more than a short word)."""
    try:
        tokens = list(tokenize.generate_tokens(io.StringIO(statement).readline))
    except (tokenize.TokenError, SyntaxError):
        return None
    strings = [t.string for t in tokens if t.type == tokenize.STRING and len(t.string) > 12]
    return max(strings, key=len) if strings else None


def _assign(name: str, literal: str, indent: int) -> list[str]:
    """`name = literal` as ruff formats it: wrapped in parentheses when that makes it fit."""
    pad = " " * indent
    line = f"{pad}{name} = {literal}"
    if len(line) <= LINE or indent + 4 + len(literal) > LINE:
        return [line]
    return [f"{pad}{name} = (", f"{pad}    {literal}", f"{pad})"]


def _split_call(line: str) -> str:
    """A call too long for one line, its arguments one to a line (ruff's magic trailing comma)."""
    indent = line[: len(line) - len(line.lstrip())]
    head, _, rest = line.strip().partition("(")
    args = [a.strip() for a in _split_args(rest[:-1])]
    inner = "".join(f"{indent}    {a},\n" for a in args)
    return f"{indent}{head}(\n{inner}{indent})"


def _split_args(text: str) -> list[str]:
    """The top-level arguments of a call's argument text."""
    depth, cuts = 0, [0]
    for token in tokenize.generate_tokens(io.StringIO(text).readline):
        if token.type == tokenize.OP and token.string in "([{":
            depth += 1
        elif token.type == tokenize.OP and token.string in ")]}":
            depth -= 1
        elif token.type == tokenize.OP and token.string == "," and depth == 0:
            cuts.append(token.start[1] + 1)
    cuts.append(len(text) + 1)
    return [text[a : b - 1] for a, b in zip(cuts, cuts[1:], strict=False)]
