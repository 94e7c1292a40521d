"""The exported script, built from recorded steps without a browser: locators from element
lines, secrets only as environment variables, and source `ruff format` leaves as it is.
(tests/e2e/test_export.py runs real exports with a Python that has only Playwright.)"""

from __future__ import annotations

import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from api.element_locators import locator_for, parse_element_line
from api.script_export import export_script, secret_variable
from shared.models import Step, Task, TaskStatus
from worker.browser.answer_sources import template

LONG = "A very long button label that the page state kept whole because it is under eighty"


def test_element_lines_become_readable_locators() -> None:
    assert locator_for("<button type=submit>Sign in</button>") == (
        'page.get_by_role("button", name="Sign in", exact=True).first'
    )
    assert locator_for("<input type=text name=username placeholder=Username />") == (
        "page.locator('input[name=\"username\"]').first"
    )
    assert locator_for('<input type=email placeholder="Your e-mail" />') == (
        'page.get_by_placeholder("Your e-mail", exact=True).first'
    )
    assert locator_for("<a href=/cart>Cart (2)</a>") == 'page.get_by_role("link", name="Cart (2)", exact=True).first'
    assert locator_for("<a href=/cart></a>") == "page.locator('a[href$=\"/cart\"]').first"
    assert locator_for('<div aria-label="Close dialog" role=button>x</div>') == (
        'page.get_by_label("Close dialog", exact=True).first'
    )
    assert locator_for("<button>Show more results of this long search\u2026</button>") == (
        'page.get_by_role("button", name="Show more results of this long search").first'
    )
    line = parse_element_line('<input type=text value="say &quot;hi&quot;" checked />')
    assert line is not None and line.attrs == {"type": "text", "value": 'say "hi"', "checked": ""}


def test_secret_variables_name_the_key() -> None:
    assert secret_variable("password") == "SECRET_PASSWORD"
    assert secret_variable("bank.pin-2") == "SECRET_BANK_PIN_2"


def test_a_text_answer_keeps_the_words_around_the_values_it_read() -> None:
    source = {"selector": "#code"}
    parts = template("The code is ALPHA-42.", [{"text": "ALPHA-42", "source": source}])
    assert parts == [{"literal": "The code is "}, {"source": source}, {"literal": "."}]


def recorded_run(tmp_path: Path) -> str:
    task = Task(
        id="6f1c0000-0000-4000-8000-000000000001",
        owner_id="k",
        task="Log in to the shop\nand read the balance",
        status=TaskStatus.finished,
        finished_at=datetime(2026, 12, 6, 5, 0, tzinfo=UTC),
        secret_names=["password"],
        structured_output_json=json.dumps({"type": "object"}),
        output=json.dumps({"balance": 12.5, "note": "kept"}),
        answer_sources={
            "kind": "data",
            "url": "http://127.0.0.1:9/account",
            "fields": [
                {
                    "path": ["balance"],
                    "source": {"selector": "#balance", "prefix": "$", "suffix": " available", "type": "number"},
                }
            ],
        },
    )
    steps = [
        Step(task_id=task.id, step=1, url="about:blank", actions=[{"navigate": {"url": "http://127.0.0.1:9/login"}}]),
        Step(
            task_id=task.id,
            step=2,
            url="http://127.0.0.1:9/login",
            next_goal="Log in",
            actions=[
                {"input": {"index": 1, "text": "<secret>password</secret>"}},
                {"input": {"index": 4, "text": "pin <secret>human_answer_1</secret>"}},
                {"upload_file": {"index": 5, "file_name": "Report 2026.pdf"}},
                {"click": {"index": 2}},
                {"click": {"index": 3}},
            ],
            elements=[
                "<input type=password name=password />",
                "<input type=text aria-label=PIN />",
                "<input type=file name=report />",
                f"<button>{LONG}</button>",
                "<a>never ran</a>",
            ],
            results=[
                {"result": "Typed secret 'password' into [1]"},
                {"result": "Typed pin secret 'human_answer_1' into [4]"},
                {"result": "Set [5] to the file Report 2026.pdf"},
                {"result": "Clicked [2]"},
            ],
        ),
        Step(
            task_id=task.id,
            step=3,
            url="http://127.0.0.1:9/account",
            actions=[
                {"scroll": {"down": False, "pages": 0.5}},
                {"scroll": {"index": 6}},
                {"navigate": {"url": "x.org"}},
            ],
            elements=[None, "<div role=listbox aria-label=Results></div>", None],
            results=[{"result": "Scrolled"}, {"result": "Scrolled"}, {"result": "Opened"}],
        ),
        Step(task_id=task.id, step=4, url="https://x.org/", actions=[{"done": {"data": {}}}]),
    ]
    steps[0].results = [{"result": "Opened"}]
    steps[3].results = [{"result": "Done"}]
    return export_script(task, steps, now=datetime(2026, 12, 6, 5, 1, tzinfo=UTC))


def test_the_script_is_formatted_python_without_secrets(tmp_path: Path) -> None:
    script = recorded_run(tmp_path)
    path = tmp_path / "run.py"
    path.write_text(script)
    compile(script, "run.py", "exec")
    check = [sys.executable, "-m", "ruff", "format", "--check", "--diff", "--isolated", "--line-length", "120"]
    formatted = subprocess.run([*check, str(path)], capture_output=True, text=True)
    assert formatted.returncode == 0, formatted.stdout
    assert 'fill(secret("SECRET_PASSWORD"))' in script
    assert 'page.get_by_label("PIN", exact=True).first.fill("pin " + secret("SECRET_HUMAN_ANSWER_1"))' in script
    assert "environment: SECRET_HUMAN_ANSWER_1, SECRET_PASSWORD." in script
    # A file the run uploaded is an option of the script, defaulting to its name.
    assert (
        "set_input_files(args.report_2026_pdf)" in script
        and "python browserq_6f1c0000.py --report-2026-pdf PATH" in script
    )
    assert 'parser.add_argument(\n        "--report-2026-pdf",' in script or '"--report-2026-pdf", default=' in script
    assert "#   Log in to the shop\n#   and read the balance" in script
    assert 'page.wait_for_url(same_page("http://127.0.0.1:9/account"))' in script
    assert "never ran" not in script.split("def run(")[1].split("# (the rest")[0]
    assert 'data["balance"] = read_value(page, "#balance", prefix="$", suffix=" available", number=True)' in script
    assert "from playwright.sync_api import" in script and "browserq import" not in script
    assert 'page.evaluate("f => window.scrollBy(0, window.innerHeight * f)", -0.5)' in script
    assert (
        'get_by_label("Results", exact=True).first.evaluate("(el, f) => el.scrollBy(0, el.clientHeight * f)", 1.0)'
        in script
    )
    assert 'page.goto("https://x.org")' in script
    usage = subprocess.run([sys.executable, str(path), "--help"], capture_output=True, text=True)
    assert usage.returncode == 0 and "--report-2026-pdf" in usage.stdout and "--headed" in usage.stdout


def test_each_action_becomes_its_playwright_statements_and_tabs_are_followed_after_a_page_action() -> None:
    """One step of every action the export writes for the browser, line by line: the script
    follows a tab the action may have opened after a click, a choice and keys, not after others."""
    task = Task(id="6f1c0000-0000-4000-8000-000000000002", owner_id="k", task="t", status=TaskStatus.finished)
    button, select, field = "<button>Go</button>", "<select name=size></select>", "<input type=text name=q />"
    actions: list[tuple[dict[str, Any], str | None]] = [
        ({"navigate": {"url": "http://127.0.0.1:9/", "new_tab": True}}, None),
        ({"click": {"index": 1}}, button),
        ({"input": {"index": 2, "text": "hi", "clear": False}}, field),
        ({"select_dropdown": {"index": 3, "text": "Large"}}, select),
        ({"send_keys": {"keys": "Enter"}}, None),
        ({"scroll": {"down": True}}, None),
        ({"wait": {"seconds": 2}}, None),
        ({"switch": {"tab_id": 1}}, None),
        ({"close": {"tab_id": 0}}, None),
        ({"go_back": {}}, None),
        ({"extract": {"query": "price"}}, None),
    ]
    step = Step(
        task_id=task.id,
        step=1,
        url="http://127.0.0.1:9/",
        actions=[action for action, _ in actions],
        elements=[element for _, element in actions],
        results=[{"result": "ok"} for _ in actions],
    )
    run = export_script(task, [step]).split("def run(")[1].split("# The answer")[0]
    statements = [line.strip() for line in run.splitlines()[1:] if line.strip()]
    assert statements == [
        "# Step 1",
        "page = page.context.new_page()",
        'page.goto("http://127.0.0.1:9/")',
        f"# {button}",
        'page.get_by_role("button", name="Go", exact=True).first.click()',
        "page = tabs.follow(page)",
        f"# {field}",
        'page.locator(\'input[name="q"]\').first.press_sequentially("hi")',
        f"# {select}",
        'page.locator(\'select[name="size"]\').first.select_option(label="Large")',
        "page = tabs.follow(page)",
        'page.keyboard.press("Enter")',
        "page = tabs.follow(page)",
        'page.evaluate("f => window.scrollBy(0, window.innerHeight * f)", 1.0)',
        "# (the run waited 2 s here: the script waits for the page to load)",
        'page.wait_for_load_state("load")',
        "page = tabs.opened[1]",
        "page.bring_to_front()",
        "tabs.opened[0].close()",
        "page.go_back()",
        '# (the agent\'s extract here: {"query": "price"})',
    ]


def test_the_last_action_that_may_open_a_tab_waits_for_the_tab_or_the_page_the_run_reached_next() -> None:
    """A tab a page's script opens late comes after the click returns: when the run's next page is
    elsewhere, the last action that may have opened it waits for that tab or that URL, then the URL."""
    task = Task(id="6f1c0000-0000-4000-8000-000000000003", owner_id="k", task="t", status=TaskStatus.finished)
    link, later = "<a>Open list</a>", "http://127.0.0.1:9/list"
    first = Step(
        task_id=task.id,
        step=1,
        url="http://127.0.0.1:9/",
        actions=[{"click": {"index": 1}}, {"click": {"index": 1}}, {"wait": {"seconds": 1}}],
        elements=[link, link, None],
        results=[{"result": "ok"}, {"result": "ok"}, {"result": "ok"}],
    )
    second = Step(task_id=task.id, step=2, url=later, actions=[{"done": {"text": "x"}}], results=[{"result": "x"}])
    run = export_script(task, [first, second]).split("def run(")[1].split("# Step 2")[0]
    follows = [line.strip() for line in run.splitlines() if "tabs.follow" in line or "wait_for_url" in line]
    assert follows == [
        "page = tabs.follow(page)",
        f'page = tabs.follow(page, same_page("{later}"))',
        f'page.wait_for_url(same_page("{later}"))',
    ]
    stays = Step(task_id=task.id, step=2, url=first.url, actions=[{"done": {"text": "x"}}], results=[{"result": "x"}])
    run = export_script(task, [first, stays]).split("def run(")[1].split("# Step 2")[0]
    assert "same_page" not in run and run.count("page = tabs.follow(page)") == 2
