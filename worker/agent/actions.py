"""The actions of the protocol, each declared once here: its parameter model and
a short coroutine, registered with its name, description and flags (see
`worker.agent.registry`), that returns what the model will read in its next step.
An error is reported, never raised past here."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from playwright.async_api import ElementHandle, Page
from playwright.async_api import Error as PlaywrightError
from pydantic import Field

from shared.storage.names import FileNameError, check_file_name
from worker.agent.registry import Handler, Params, Registry
from worker.browser.actionable import inner_point, plain_click_point, plainly_clickable, prepare_typing
from worker.browser.choices import ChoiceError
from worker.browser.choices import read_value as read_whole_value
from worker.browser.choices import select_options as choose_options
from worker.browser.click import click_at, watch_navigations
from worker.browser.date_input import fill_date_field
from worker.browser.guard import REFUSED_ERRORS
from worker.browser.human_dates import DateTextError
from worker.browser.page_state import ElementGone, ElementRef, PageState, element_handle
from worker.browser.pointer import Point, PointerError
from worker.browser.pointer import drag as drag_pointer
from worker.browser.pointer import hover as hover_pointer
from worker.browser.session import BrowserSession
from worker.browser.suggestions import wait_for_suggestions, wait_for_suggestions_at

BLOCKED = "ERR_BLOCKED_BY_CLIENT"  # how Chromium reports a request the ad blocker aborted
SECRET = re.compile(r"<secret>([^<]+)</secret>")
ACTION_TIMEOUT_MS = 10_000
NAVIGATION_TIMEOUT_MS = 30_000
ERROR_PAGE_WAIT_MS = 2_000
SAFE_FILE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._ -]{0,127}$")

if TYPE_CHECKING:
    from worker.agent.protocol import Action

registry = Registry()


class ActionError(Exception):
    """A failed action; its message is shown to the model."""


@dataclass
class ActionResult:
    text: str = ""
    error: str | None = None
    done: Done | None = None
    question: str | None = None  # ask_human: the agent loop asks a person and waits
    # How many tabs the page had asked to open when the action ended, when the action read it
    # (the loop then needs no round trip of its own to learn whether a tab is coming).
    tabs_asked: int | None = None

    def as_record(self) -> dict[str, str]:
        return {"error": self.error} if self.error else {"result": self.text}


@dataclass
class ActionContext:
    session: BrowserSession
    state: PageState
    secrets: dict[str, str]
    files_dir: Path
    readable_files: dict[str, Path] = field(default_factory=dict)
    written_files: list[str] = field(default_factory=list)


async def run_action(ctx: ActionContext, action: Action) -> ActionResult:
    handler = HANDLERS[action.name]
    try:
        return await handler(ctx, action.params)
    except ActionError as exc:
        return ActionResult(error=str(exc))
    except PlaywrightError as exc:
        return ActionResult(error=f"{action.name} failed: {_first_line(str(exc))}")
    except TimeoutError:
        return ActionResult(error=f"{action.name} timed out")


def _first_line(text: str) -> str:
    return text.strip().splitlines()[0][:300] if text.strip() else "unknown error"


def _ref(ctx: ActionContext, index: int) -> ElementRef:
    ref = ctx.state.elements.get(index)
    if ref is None:
        raise ActionError(f"there is no element [{index}] on this page; use an index from the current page")
    return ref


async def _element(ctx: ActionContext, index: int) -> ElementHandle:
    ref = _ref(ctx, index)
    handle = await element_handle(ref)
    if handle is None:
        raise ActionError(f"element [{index}] is no longer on the page")
    return handle


def reveal_secrets(text: str, secrets: dict[str, str]) -> str:
    def sub(match: re.Match[str]) -> str:
        name = match.group(1).strip()
        if name not in secrets:
            raise ActionError(f"there is no secret named {name!r}; secrets: {', '.join(sorted(secrets)) or 'none'}")
        return secrets[name]

    return SECRET.sub(sub, text)


# -- navigation ----------------------------------------------------------------


class Navigate(Params):
    url: str
    new_tab: bool = False


@registry.action("navigate", Navigate, "open a URL")
async def navigate(ctx: ActionContext, params: Navigate) -> ActionResult:
    url = params.url.strip()
    if not re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", url):
        url = "https://" + url
    if ctx.session.guard is not None:
        reason = await ctx.session.guard.check_navigation(url)
        if reason is not None:
            raise ActionError(f"cannot open {url}: {reason}")
    if params.new_tab:
        if ctx.session.tabs_full:
            raise ActionError(f"cannot open a new tab: this task may have {ctx.session.max_tabs} open; close one first")
        page = await ctx.session.open_tab()
    else:
        page = await ctx.session.page()
    try:
        await page.goto(url, wait_until="domcontentloaded", timeout=NAVIGATION_TIMEOUT_MS)
    except PlaywrightError as exc:
        if any(code in str(exc) for code in REFUSED_ERRORS):
            await _error_page_shown(page)
            reason = ctx.session.guard.refusal(url) if ctx.session.guard is not None else None
            raise ActionError(
                f"cannot open {url}: {reason or 'the task network rules refused a connection it needed'}"
            ) from None
        if BLOCKED in str(exc):
            raise ActionError(f"cannot open {url}: the browser's network rules blocked it") from None
        raise
    return ActionResult(f"Opened {page.url}")


async def _error_page_shown(page: Page) -> None:
    """Chromium commits its error page just after a refused load; the next navigation,
    started before that, would be interrupted by it."""
    try:
        await page.wait_for_url("chrome-error://**", wait_until="commit", timeout=ERROR_PAGE_WAIT_MS)
    except PlaywrightError:
        pass


class GoBack(Params):
    pass


@registry.action("go_back", GoBack, "browser back")
async def go_back(ctx: ActionContext, _params: GoBack) -> ActionResult:
    page = await ctx.session.page()
    before = page.url
    response = await page.go_back(wait_until="domcontentloaded", timeout=15_000)
    if response is None and page.url == before:
        raise ActionError("there is no previous page in this tab")
    return ActionResult(f"Went back to {page.url}")


# -- elements --------------------------------------------------------------------


class Click(Params):
    index: int


@registry.action("click", Click, "click an element", may_change_page=True)
async def click(ctx: ActionContext, params: Click) -> ActionResult:
    ref = _ref(ctx, params.index)
    # The tab's navigation watch (made once per tab) while the element is checked.
    point, watched = await asyncio.gather(
        plain_click_point(ref), watch_navigations(ref.frame.page), return_exceptions=True
    )
    if isinstance(point, ElementGone):
        raise ActionError(f"element [{params.index}] is no longer on the page") from None
    if isinstance(point, BaseException):
        raise point
    if isinstance(watched, BaseException):
        raise watched
    if point is not None:  # plainly clickable: the mouse at its centre, and the wait for a navigation it starts
        clicked = await click_at(ref.frame.page, *point)
        return ActionResult(f"Clicked [{params.index}]", tabs_asked=clicked.tabs_asked)
    handle = await _element(ctx, params.index)
    plain = await plainly_clickable(handle)
    inside = None if plain else await inner_point(handle)  # an SVG slice: its box's centre is another's
    try:
        await handle.click(timeout=ACTION_TIMEOUT_MS, force=plain or inside is not None, position=inside)
    except PlaywrightError:
        # Covered or moving: a DOM click still reaches the element's handlers.
        await handle.evaluate("el => el.click()")
    return ActionResult(f"Clicked [{params.index}]")


class Input(Params):
    index: int
    text: str
    clear: bool = True


@registry.action(
    "input",
    Input,
    "type into a field; write <secret>name</secret> to type a secret's value; "
    "date and time fields take them as written (12/03/2014, 2:30 PM)",
)
async def input_text(ctx: ActionContext, params: Input) -> ActionResult:
    ref = _ref(ctx, params.index)
    value = reveal_secrets(params.text, ctx.secrets)
    shown = SECRET.sub(lambda m: f"secret {m.group(1).strip()!r}", params.text)
    plain = shown == params.text  # no secret in it: the value may be shown
    typed = f"Typed {shown!r} into [{params.index}]" if plain else f"Typed {shown} into [{params.index}]"
    try:
        # A plain text field takes one round trip to prepare and one to type (Input.insertText);
        # anything else (a date field, appending, an empty value, a covered field) takes a handle.
        target = await prepare_typing(ref, focus=params.clear and bool(value))
    except ElementGone:
        raise ActionError(f"element [{params.index}] is no longer on the page") from None
    if target.focused:
        await ref.frame.page.keyboard.insert_text(value)
        if target.suggests:
            await wait_for_suggestions_at(ref)
        return ActionResult(typed)
    handle = await _element(ctx, params.index)
    if target.date:
        try:
            dated = await fill_date_field(handle, value)
        except DateTextError as exc:
            reason = str(exc) if plain else "the secret's value does not read as a value of this field"
            raise ActionError(f"cannot type into [{params.index}]: {reason}") from None
        if dated is not None:
            return ActionResult(f"{typed}: {dated.note(plain)}")
    if params.clear:  # not plainly focusable (covered, off screen, in a picker): Playwright's checked path
        await handle.fill(value, timeout=ACTION_TIMEOUT_MS)
    else:
        await handle.type(value, timeout=ACTION_TIMEOUT_MS)
    await wait_for_suggestions(handle)
    return ActionResult(typed)


class SelectDropdown(Params):
    index: int
    text: str


@registry.action(
    "select_dropdown", SelectDropdown, "choose the option with this text in a select", may_change_page=True
)
async def select_dropdown(ctx: ActionContext, params: SelectDropdown) -> ActionResult:
    handle = await _element(ctx, params.index)
    try:
        chosen = await handle.select_option(label=params.text, timeout=ACTION_TIMEOUT_MS)
    except PlaywrightError:
        chosen = await handle.select_option(value=params.text, timeout=ACTION_TIMEOUT_MS)
    return ActionResult(f"Selected {params.text!r} in [{params.index}] ({', '.join(chosen)})")


class SelectOptions(Params):
    index: int
    options: list[str]


@registry.action(
    "select_options",
    SelectOptions,
    "make exactly these options chosen in a multiple select or listbox ([] clears it)",
    may_change_page=True,
)
async def select_options(ctx: ActionContext, params: SelectOptions) -> ActionResult:
    try:
        choice = await choose_options(_ref(ctx, params.index), params.options)
    except ElementGone:
        raise ActionError(f"element [{params.index}] is no longer on the page") from None
    except ChoiceError as exc:
        raise ActionError(f"cannot choose in [{params.index}]: {exc}") from None
    chosen = ", ".join(repr(t) for t in choice.chosen) or "nothing"
    return ActionResult(f"Chosen in [{params.index}]: {chosen}")


class ReadValue(Params):
    index: int
    filter: str | None = None


@registry.action(
    "read_value",
    ReadValue,
    "read an element's whole value, or all options of a select (shown in your next step)",
    notes={"filter": "only the options containing this text"},
)
async def read_value(ctx: ActionContext, params: ReadValue) -> ActionResult:
    try:
        text = await read_whole_value(_ref(ctx, params.index), params.filter)
    except ElementGone:
        raise ActionError(f"element [{params.index}] is no longer on the page") from None
    except ChoiceError as exc:
        raise ActionError(f"cannot read [{params.index}]: {exc}") from None
    return ActionResult(f"Value of [{params.index}]: {text}")


class SendKeys(Params):
    keys: str = ""
    text: str | None = None


@registry.action(
    "send_keys",
    SendKeys,
    'press keys, e.g. "Enter", "Control+a"',
    may_change_page=True,
    notes={"text": "type it whole as key presses into the focused element"},
)
async def send_keys(ctx: ActionContext, params: SendKeys) -> ActionResult:
    if not params.keys and params.text is None:
        raise ActionError('send_keys needs "keys" (e.g. "Enter") or "text" to type')
    page = await ctx.session.page()
    said = []
    if params.text is not None:
        shown = SECRET.sub(lambda m: f"secret {m.group(1).strip()!r}", params.text)
        await page.keyboard.type(reveal_secrets(params.text, ctx.secrets))
        said.append(f"Typed {shown!r} as keys" if shown == params.text else f"Typed {shown} as keys")
    if params.keys:
        await page.keyboard.press(params.keys)
        said.append(f"Pressed {params.keys}")
    return ActionResult(", then ".join(said))


class Hover(Params):
    index: int


@registry.action("hover", Hover, "move the pointer onto an element and keep it there (opens hover menus)")
async def hover(ctx: ActionContext, params: Hover) -> ActionResult:
    handle = await _element(ctx, params.index)
    page = await ctx.session.page()
    try:
        await hover_pointer(page, handle)
    except PointerError as exc:
        raise ActionError(f"cannot hover over [{params.index}]: {exc}") from None
    return ActionResult(f"Hovering over [{params.index}]")


class Drag(Params):
    index: int
    to_index: int | None = None
    x: float = 0
    y: float = 0


@registry.action(
    "drag",
    Drag,
    "drag an element onto another (to_index) or by x, y pixels",
    may_change_page=True,
    notes={"x": "right, px", "y": "down, px"},
)
async def drag(ctx: ActionContext, params: Drag) -> ActionResult:
    if params.to_index is None and params.x == 0 and params.y == 0:
        raise ActionError('drag needs "to_index" or an offset "x"/"y"')
    source = await _element(ctx, params.index)
    target = None if params.to_index is None else await _element(ctx, params.to_index)
    page = await ctx.session.page()
    try:
        await drag_pointer(page, source, target, Point(params.x, params.y))
    except PointerError as exc:
        raise ActionError(f"cannot drag [{params.index}]: {exc}") from None
    where = f"onto [{params.to_index}]" if params.to_index is not None else ""
    if params.x or params.y:
        where += f"{' ' if where else ''}by ({params.x:g}, {params.y:g}) px"
    return ActionResult(f"Dragged [{params.index}] {where}")


class Scroll(Params):
    down: bool = True
    pages: float = Field(default=1.0, gt=0, le=20)
    index: int | None = None


@registry.action("scroll", Scroll, "scroll the page", notes={"index": "scroll inside that element"})
async def scroll(ctx: ActionContext, params: Scroll) -> ActionResult:
    page = await ctx.session.page()
    sign = 1 if params.down else -1
    if params.index is not None:
        handle = await _element(ctx, params.index)
        await handle.evaluate("(el, f) => el.scrollBy(0, el.clientHeight * f)", sign * params.pages)
    else:
        await page.evaluate("f => window.scrollBy(0, window.innerHeight * f)", sign * params.pages)
    direction = "down" if params.down else "up"
    return ActionResult(f"Scrolled {direction} {params.pages:g} page(s)")


class Wait(Params):
    seconds: float = Field(default=1.0, ge=0, le=10)


@registry.action("wait", Wait, "wait")
async def wait(ctx: ActionContext, params: Wait) -> ActionResult:
    await asyncio.sleep(params.seconds)
    return ActionResult(f"Waited {params.seconds:g} s")


# -- tabs --------------------------------------------------------------------------


class Switch(Params):
    tab_id: int


@registry.action("switch", Switch, "switch to a tab")
async def switch(ctx: ActionContext, params: Switch) -> ActionResult:
    try:
        page = ctx.session.tab(params.tab_id)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    ctx.session.current = page
    await page.bring_to_front()
    return ActionResult(f"Switched to tab {params.tab_id} ({page.url})")


class Close(Params):
    tab_id: int


@registry.action("close", Close, "close a tab")
async def close(ctx: ActionContext, params: Close) -> ActionResult:
    try:
        page = ctx.session.tab(params.tab_id)
    except ValueError as exc:
        raise ActionError(str(exc)) from None
    await page.close()
    return ActionResult(f"Closed tab {params.tab_id}")


# -- content and files ---------------------------------------------------------------


class Extract(Params):
    query: str


@registry.action("extract", Extract, "read the page's content relevant to the query (shown in your next step)")
async def extract(ctx: ActionContext, params: Extract) -> ActionResult:
    """The page's readable text, the lines that mention the query first."""
    page = await ctx.session.page()
    text: str = await page.evaluate("() => document.body ? document.body.innerText : ''")
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    words = {w for w in re.findall(r"\w+", params.query.lower()) if len(w) > 2}
    hits = [line for line in lines if words & set(re.findall(r"\w+", line.lower()))]
    body = "\n".join(hits + [line for line in lines if line not in hits])[:6000]
    return ActionResult(f"Content of {page.url} for {params.query!r}:\n{body}")


def _file_path(ctx: ActionContext, name: str) -> Path:
    if not SAFE_FILE.fullmatch(name) or ".." in name:
        raise ActionError(f"{name!r} is not an allowed file name: letters, digits, '.', '_', '-', spaces")
    try:
        check_file_name(name)  # the rule storage keeps: a name it refuses would be listed but never stored
    except FileNameError as exc:
        raise ActionError(f"{name!r} is not an allowed file name: {exc}") from None
    return ctx.files_dir / name


class UploadFile(Params):
    index: int
    file_name: str


@registry.action("upload_file", UploadFile, "set a file input to one of your files")
async def upload_file(ctx: ActionContext, params: UploadFile) -> ActionResult:
    path = _task_file(ctx, params.file_name)
    if path is None:
        raise ActionError(f"there is no file {params.file_name!r} to upload")
    handle = await _element(ctx, params.index)
    await handle.set_input_files(str(path), timeout=ACTION_TIMEOUT_MS)
    return ActionResult(f"Set [{params.index}] to the file {params.file_name}")


class WriteFile(Params):
    file_name: str
    content: str
    append: bool = False


@registry.action("write_file", WriteFile, "write an output file")
async def write_file(ctx: ActionContext, params: WriteFile) -> ActionResult:
    path = _file_path(ctx, params.file_name)
    content = params.content
    for name, value in ctx.secrets.items():
        content = content.replace(value, f"<secret>{name}</secret>")
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("a" if params.append else "w", encoding="utf-8") as fh:
        fh.write(content)
    if params.file_name not in ctx.written_files:
        ctx.written_files.append(params.file_name)
    ctx.readable_files[params.file_name] = path
    return ActionResult(f"Wrote {len(content)} characters to {params.file_name}")


def _task_file(ctx: ActionContext, name: str) -> Path | None:
    """One of the task's files: uploaded, written, or downloaded by a page."""
    path = ctx.readable_files.get(name)
    if path is None and name in ctx.session.downloaded:
        path = ctx.session.downloads_dir / name
    return path


def task_file_names(ctx: ActionContext) -> list[str]:
    return list(dict.fromkeys([*ctx.readable_files, *ctx.session.downloaded]))


class ReadFile(Params):
    file_name: str


@registry.action("read_file", ReadFile, "read one of your files")
async def read_file(ctx: ActionContext, params: ReadFile) -> ActionResult:
    path = _task_file(ctx, params.file_name)
    if path is None or not path.exists():
        known = ", ".join(sorted(task_file_names(ctx))) or "none"
        raise ActionError(f"there is no file {params.file_name!r}; files: {known}")
    return ActionResult(f"Content of {params.file_name}:\n{path.read_text(errors='replace')[:10000]}")


# -- a person ---------------------------------------------------------------------------


class AskHuman(Params):
    question: str = Field(min_length=1, max_length=2000)


@registry.action(
    "ask_human",
    AskHuman,
    "ask the person who gave you the task and wait for the answer (shown in your next step): a code sent "
    "to them (2FA), a CAPTCHA they solve in the browser, a choice only they can make",
)
async def ask_human(_ctx: ActionContext, params: AskHuman) -> ActionResult:
    """The loop does the asking: it holds the task's control and its time limits."""
    return ActionResult(question=params.question)


class Done(Params):
    text: str | None = None
    data: Any = None
    success: bool = True


@registry.action(
    "done",
    Done,
    "finish, alone in its step",
    terminates_sequence=True,
    finishes_task=True,
    notes={
        "text": "the answer, when the task has no output schema",
        "data": "an object valid against the task's output schema, when it has one (instead of text)",
    },
)
async def done(_ctx: ActionContext, params: Done) -> ActionResult:
    return ActionResult("Done", done=params)


HANDLERS: dict[str, Handler] = registry.handlers()
