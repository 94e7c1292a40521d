"""The readers of a prompt the agent e2e tests share (tests/support/agent_runs.py), on a
prompt written as the agent writes one: history, page, and element lines without indices."""

from __future__ import annotations

from tests.support.agent_runs import element_lines, history_of, page_of

PROMPT = """<agent_state>Task: use the page</agent_state>
<history>
Step 1: Opened http://127.0.0.1:9/ [1]
</history>
<browser_state>
Current URL: http://127.0.0.1:9/
[1]<a href=/login>Log in</a>
*[2]<button>New</button>
	[3]<input type=text name=q />
Plain text [4] that is not an element line
</browser_state>"""


def test_a_prompt_reads_as_history_page_and_element_lines() -> None:
    assert history_of(PROMPT) == "\nStep 1: Opened http://127.0.0.1:9/ [1]\n"
    assert page_of(PROMPT).startswith("\nCurrent URL: http://127.0.0.1:9/\n")
    assert "<history>" not in page_of(PROMPT)
    assert element_lines(PROMPT) == ["<a href=/login>Log in</a>", "<button>New</button>", "<input type=text name=q />"]
