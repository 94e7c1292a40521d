"""The live view's outgoing messages are typed once (shared/live_messages.py) and the
viewer's page reads exactly those types and fields."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from shared.live_messages import ControlReply, ErrorReply, Frame, Hello

PAGE = (Path(__file__).resolve().parents[2] / "api" / "templates" / "live.html").read_text()
OUT = [Hello, Frame, ControlReply, ErrorReply]


def test_the_page_handles_every_outgoing_type_and_no_other() -> None:
    handled = set(re.findall(r'message\.type === "(\w+)"', PAGE))
    assert handled == {m.model_fields["type"].default for m in OUT}


def test_the_page_reads_only_fields_the_messages_have() -> None:
    read = set(re.findall(r"message\.(\w+)", PAGE))
    fields = {name for m in OUT for name in m.model_fields}
    assert read <= fields, read - fields


def test_wire_shapes() -> None:
    assert json.loads(Hello(viewer="v1").wire()) == {"type": "hello", "viewer": "v1"}
    assert json.loads(ErrorReply(detail="no").wire()) == {"type": "error", "detail": "no"}
    assert json.loads(ControlReply(action="take", status="paused").wire()) == {
        "type": "control",
        "action": "take",
        "status": "paused",
    }
    frame = json.loads(Frame(seq=3, data="AAAA", width=1280, url="http://127.0.0.1/").wire())
    assert frame == {
        "type": "frame",
        "seq": 3,
        "data": "AAAA",
        "width": 1280,
        "height": None,
        "url": "http://127.0.0.1/",
        "handled": {},
        "parked": False,
    }


def test_a_frame_field_the_page_does_not_know_is_refused() -> None:
    with pytest.raises(ValueError, match="parkd"):
        Frame.model_validate({"seq": 1, "data": "", "parkd": True})
