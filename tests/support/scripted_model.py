"""A scripted model server: speaks the OpenAI chat-completions and Anthropic
messages wire formats over real HTTP, and answers from scripts the test
registered. There is no internet here, and the agent runs in other processes
(Celery workers), so tests steer it through this server rather than mocks.

A request belongs to the script whose key appears as `[script:KEY]` anywhere in
its messages (tests put the marker in the task text). Each request consumes the
script's next reply; an exhausted (or unknown) script answers `done`.

A reply is an agent answer object, where a string parameter `"@text:Log in"` is
replaced by the index of the first element line of the user message containing
"Log in", or a directive:

- `{"_status": 500}`: answer that HTTP error (429 also sends `Retry-After: 0`);
- `{"_raw": "not json"}`: answer this text as the content;
- `{"_delay": 5.0, "reply": {...}}`: sleep, then answer the inner reply;
- `{"_repeat": N, "reply": {...}}`: the inner reply N times.

Any reply may carry `"_usage": {"input_tokens": i, "output_tokens": o}`;
otherwise each answer reports `DEFAULT_USAGE`, so cost tests can count.

Run in a thread with `ScriptedModelServer`, or as a process:
`python -m tests.support.scripted_model --port N`.
"""

from __future__ import annotations

import argparse
import copy
import json
import re
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlparse

import httpx

DEFAULT_USAGE = {"input_tokens": 100, "output_tokens": 20}
# Put where an `@text:` reference found no element line, so the agent's click
# fails visibly (and the test can read `unresolved` from `/_calls`).
UNRESOLVED_INDEX = 999999
SCRIPT_MARKER = re.compile(r"\[script:([A-Za-z0-9_.-]+)\]")
ELEMENT_LINE = re.compile(r"^\s*\*?\s*\[(\d+)\](.*)$")
TOOL_NAME_FALLBACK = "agent_output"


def done_reply(text: str) -> dict[str, Any]:
    """The answer for a request no script covers: end the task, saying why."""
    return {
        "evaluation_previous_goal": "",
        "memory": "",
        "next_goal": "finish",
        "action": [{"done": {"text": text, "success": False}}],
    }


def expand_replies(replies: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Unroll `_repeat` at registration, so each request simply pops one reply."""
    out: list[dict[str, Any]] = []
    for reply in replies:
        if isinstance(reply, dict) and "_repeat" in reply:
            out.extend(expand_replies([reply["reply"]] * int(reply["_repeat"])))
        else:
            out.append(reply)
    return out


# ---------------------------------------------------------------- request text


def message_texts(body: dict[str, Any], role: str | None = None) -> list[str]:
    """The text of every message (both wire formats), optionally of one role."""
    texts = [body["system"]] if isinstance(body.get("system"), str) and role is None else []
    for message in body.get("messages") or []:
        if role is None or message.get("role") == role:
            texts.extend(_content_texts(message.get("content")))
    return texts


def _content_texts(content: Any) -> list[str]:
    if isinstance(content, str):
        return [content]
    if isinstance(content, list):
        return [part.get("text", "") for part in content if isinstance(part, dict) and part.get("type") == "text"]
    return []


def find_script_key(body: dict[str, Any]) -> str | None:
    """The key of the `[script:KEY]` marker in any message (or the system prompt)."""
    for text in message_texts(body):
        match = SCRIPT_MARKER.search(text)
        if match:
            return match.group(1)
    return None


def find_element_index(user_text: str, needle: str) -> int | None:
    """Index of the first element line whose text (after `[i]`) contains `needle`;
    an exact match wins over a case-insensitive one."""
    lines = [m for m in map(ELEMENT_LINE.match, user_text.splitlines()) if m]
    for matches in (lambda rest: needle in rest, lambda rest: needle.lower() in rest.lower()):
        for m in lines:
            if matches(m.group(2)):
                return int(m.group(1))
    return None


def resolve_text_refs(answer: dict[str, Any], user_text: str, unresolved: list[str]) -> dict[str, Any]:
    """Replace `"@text:..."` action parameters by element indices of this request."""
    answer = copy.deepcopy(answer)
    for action in answer.get("action") or []:
        for params in action.values() if isinstance(action, dict) else []:
            for name, value in (params or {}).items():
                if isinstance(value, str) and value.startswith("@text:"):
                    index = find_element_index(user_text, value[len("@text:") :])
                    if index is None:
                        unresolved.append(value)
                    params[name] = UNRESOLVED_INDEX if index is None else index
    return answer


# ---------------------------------------------------------------- state


@dataclass
class Answer:
    """What one request gets: an HTTP error, or content text (plus usage)."""

    status: int = 200
    text: str = ""
    answer: dict[str, Any] | None = None  # the parsed object, for Anthropic tool_use
    usage: dict[str, int] = field(default_factory=lambda: dict(DEFAULT_USAGE))
    delay: float = 0.0


class ScriptBook:
    """The registered scripts and the requests each received; thread-safe."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._scripts: dict[str, list[dict[str, Any]]] = {}
        self._calls: dict[str, list[dict[str, Any]]] = {}
        self._unresolved: dict[str, list[str]] = {}

    def register(self, key: str, replies: list[dict[str, Any]]) -> None:
        with self._lock:
            self._scripts[key] = expand_replies(replies)
            self._calls[key] = []
            self._unresolved[key] = []

    def reset(self, key: str) -> None:
        with self._lock:
            for table in (self._scripts, self._calls, self._unresolved):
                table.pop(key, None)

    def calls(self, key: str) -> dict[str, Any]:
        with self._lock:
            requests = list(self._calls.get(key, []))
            return {"count": len(requests), "requests": requests, "unresolved": list(self._unresolved.get(key, []))}

    def take(self, body: dict[str, Any]) -> Answer:
        """Record the request and build its answer from the script's next reply."""
        key = find_script_key(body) or ""
        with self._lock:
            self._calls.setdefault(key, []).append(body)
            script = self._scripts.get(key)
            if script is None:
                reply: dict[str, Any] = done_reply(f"no script registered for key {key!r}")
            else:
                reply = script.pop(0) if script else done_reply("script exhausted")
            unresolved = self._unresolved.setdefault(key, [])
        return build_answer(reply, "\n".join(message_texts(body, "user")), unresolved)


def build_answer(reply: dict[str, Any], user_text: str, unresolved: list[str]) -> Answer:
    """Turn one script reply (answer or directive) into an `Answer`."""
    usage = {**DEFAULT_USAGE, **(reply.get("_usage") or {})}
    if "_delay" in reply:
        inner = build_answer(reply.get("reply") or done_reply("delayed"), user_text, unresolved)
        inner.delay += float(reply["_delay"])
        return inner
    if "_status" in reply:
        return Answer(status=int(reply["_status"]), text=str(reply.get("_message", "scripted error")))
    if "_raw" in reply:
        return Answer(text=str(reply["_raw"]), usage=usage)
    answer = resolve_text_refs({k: v for k, v in reply.items() if not k.startswith("_")}, user_text, unresolved)
    return Answer(text=json.dumps(answer), answer=answer, usage=usage)


def answer(goal: str, *actions: dict[str, Any], memory: str = "", evaluation: str = "Success") -> dict[str, Any]:
    """One agent answer for a script: its next goal and actions (`{"navigate": {"url": ...}}`, ...)."""
    return {"evaluation_previous_goal": evaluation, "memory": memory, "next_goal": goal, "action": list(actions)}


# ---------------------------------------------------------------- wire formats


def openai_completion(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """An OpenAI chat.completion object carrying the answer as message content."""
    inp, out = answer.usage["input_tokens"], answer.usage["output_tokens"]
    return {
        "id": f"chatcmpl-{secrets.token_hex(8)}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", "scripted"),
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": answer.text, "refusal": None},
                "finish_reason": "stop",
                "logprobs": None,
            }
        ],
        "usage": {"prompt_tokens": inp, "completion_tokens": out, "total_tokens": inp + out},
    }


def anthropic_message(body: dict[str, Any], answer: Answer) -> dict[str, Any]:
    """An Anthropic Message: a tool_use block when the request offered tools and
    the answer is an object, else a text block."""
    tools = body.get("tools") or []
    if tools and answer.answer is not None:
        tool_name = (body.get("tool_choice") or {}).get("name") or tools[0].get("name", TOOL_NAME_FALLBACK)
        block = {"type": "tool_use", "id": f"toolu_{secrets.token_hex(8)}", "name": tool_name, "input": answer.answer}
        stop_reason = "tool_use"
    else:
        block, stop_reason = {"type": "text", "text": answer.text}, "end_turn"
    return {
        "id": f"msg_{secrets.token_hex(8)}",
        "type": "message",
        "role": "assistant",
        "model": body.get("model", "scripted"),
        "content": [block],
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": {"input_tokens": answer.usage["input_tokens"], "output_tokens": answer.usage["output_tokens"]},
    }


def openai_error(status: int, message: str) -> dict[str, Any]:
    kind = "rate_limit_exceeded" if status == 429 else "server_error" if status >= 500 else "invalid_request_error"
    return {"error": {"message": message, "type": kind, "param": None, "code": None}}


def anthropic_error(status: int, message: str) -> dict[str, Any]:
    kind = "rate_limit_error" if status == 429 else "api_error" if status >= 500 else "invalid_request_error"
    return {"type": "error", "error": {"type": kind, "message": message}}


MODELS_LIST = {
    "object": "list",
    "data": [{"id": "scripted", "object": "model", "created": 0, "owned_by": "browserq-tests"}],
}


# ---------------------------------------------------------------- HTTP


class Handler(BaseHTTPRequestHandler):
    """Routes the two model APIs and the scripting API; `self.server.book` holds state."""

    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle's algorithm on, the body
    # can wait for the client's delayed ACK (40 ms on Linux loopback), as no real
    # model server makes a client wait.
    disable_nagle_algorithm = True

    def log_message(self, format: str, *args: Any) -> None:
        pass  # keep test output quiet

    @property
    def book(self) -> ScriptBook:
        return self.server.book  # type: ignore[attr-defined]

    def do_GET(self) -> None:
        url = urlparse(self.path)
        if url.path == "/v1/models":
            return self._send(200, MODELS_LIST)
        if url.path == "/_calls":
            key = parse_qs(url.query).get("key", [""])[0]
            return self._send(200, self.book.calls(key))
        if url.path in ("/", "/_health"):
            return self._send(200, {"ok": True})
        self._send(404, {"error": {"message": f"no route {url.path}"}})

    def do_DELETE(self) -> None:
        path = urlparse(self.path).path
        if path.startswith("/_scripts/"):
            self.book.reset(path[len("/_scripts/") :])
            return self._send(200, {"ok": True})
        self._send(404, {"error": {"message": f"no route {path}"}})

    def do_POST(self) -> None:
        path = urlparse(self.path).path.rstrip("/")
        try:
            body = self._read_json()
        except ValueError as exc:
            return self._send(400, {"error": {"message": f"body is not JSON: {exc}"}})
        if path == "/_scripts":
            self.book.register(str(body["key"]), list(body.get("replies") or []))
            return self._send(200, {"ok": True, "key": body["key"]})
        if path in ("/v1/chat/completions", "/chat/completions"):
            return self._answer(body, openai_completion, openai_error)
        if path in ("/v1/messages", "/messages"):
            return self._answer(body, anthropic_message, anthropic_error)
        self._send(404, {"error": {"message": f"no route {path}"}})

    def _answer(self, body: dict[str, Any], render: Any, render_error: Any) -> None:
        answer = self.book.take(body)
        if answer.delay:
            time.sleep(answer.delay)
        if answer.status != 200:
            headers = {"Retry-After": "0", "retry-after-ms": "0"} if answer.status == 429 else {}
            return self._send(answer.status, render_error(answer.status, answer.text), headers)
        self._send(200, render(body, answer))

    def _read_json(self) -> dict[str, Any]:
        length = int(self.headers.get("Content-Length") or 0)
        data = json.loads(self.rfile.read(length) or b"{}")
        if not isinstance(data, dict):
            raise ValueError("expected a JSON object")
        return data

    def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
        data = json.dumps(payload).encode()
        try:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the client gave up (a timeout test); nothing to tell it


def make_server(host: str = "127.0.0.1", port: int = 0) -> ThreadingHTTPServer:
    server = ThreadingHTTPServer((host, port), Handler)
    server.daemon_threads = True  # a delayed reply must not hold up shutdown
    server.book = ScriptBook()  # type: ignore[attr-defined]
    return server


# ---------------------------------------------------------------- test helper


class ScriptedModelServer:
    """Runs the server in a background thread (or talks to one already running at
    `url`), and gives tests `script()` and `calls()` over HTTP, so the same calls
    work whether the server lives in this process or another."""

    def __init__(self, url: str | None = None, host: str = "127.0.0.1", port: int = 0) -> None:
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._host, self._port = host, port
        self.url = url.rstrip("/") if url else ""

    def start(self) -> ScriptedModelServer:
        if not self.url:
            self._server = make_server(self._host, self._port)
            self._thread = threading.Thread(target=self._server.serve_forever, name="scripted-model", daemon=True)
            self._thread.start()
            host, port = self._server.server_address[:2]
            self.url = f"http://{host}:{port}"
        return self

    def stop(self) -> None:
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None

    def __enter__(self) -> ScriptedModelServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    @property
    def base_url(self) -> str:
        """For the OpenAI SDK (and OPENAI_BASE_URL)."""
        return f"{self.url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        """For the Anthropic SDK (and ANTHROPIC_BASE_URL); it appends /v1 itself."""
        return self.url

    def script(self, replies: list[dict[str, Any]], key: str | None = None) -> str:
        """Register replies under a new random key; put `[script:KEY]` in the task text."""
        key = key or secrets.token_hex(6)
        httpx.post(f"{self.url}/_scripts", json={"key": key, "replies": replies}, timeout=10).raise_for_status()
        return key

    def calls(self, key: str) -> dict[str, Any]:
        """`{"count": N, "requests": [raw bodies], "unresolved": [@text refs not found]}`."""
        response = httpx.get(f"{self.url}/_calls", params={"key": key}, timeout=10)
        response.raise_for_status()
        return response.json()

    def reset(self, key: str) -> None:
        httpx.delete(f"{self.url}/_scripts/{key}", timeout=10).raise_for_status()


def marker(key: str) -> str:
    """The text to put in a task so its model requests use script `key`."""
    return f"[script:{key}]"


def main() -> None:
    parser = argparse.ArgumentParser(description="Scripted OpenAI/Anthropic-compatible model server for tests")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    args = parser.parse_args()
    server = make_server(args.host, args.port)
    host, port = server.server_address[:2]
    print(f"scripted model server listening on http://{host}:{port}", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()


if __name__ == "__main__":
    main()
