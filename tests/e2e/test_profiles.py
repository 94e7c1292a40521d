"""Browser profiles, the ad blocker and proxies, through HTTP only, against
real workers and Chromium: profile CRUD, cookies and local storage carried
from one task to the next on a persisting profile (and never otherwise),
the profile's viewport, blocked tracker requests, and a real forward proxy."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import Iterator
from typing import Any

import httpx
import psycopg
import pytest

from tests.e2e.test_tasks_api import FINAL, login_script, submit
from tests.support.forward_proxy import ForwardProxy
from tests.support.scripted_model import ScriptedModelServer, answer
from tests.support.site import ACCOUNT_CODE, PASSWORD, USERNAME, SiteServer
from tests.support.stack import Stack, wait_for

pytestmark = pytest.mark.e2e

LOCAL_VALUE = "LS-VALUE-93"
SET_STORAGE = f"<p>Saving.</p><script>localStorage.setItem('k', '{LOCAL_VALUE}')</script>"
SHOW_STORAGE = (
    "<p id=out></p><script>document.getElementById('out').textContent = "
    "'stored=' + localStorage.getItem('k') + ' viewport=' + innerWidth + 'x' + innerHeight</script>"
)


def db_value(stack: Stack, sql: str, *params: object) -> Any:
    """One value straight from the stack's database (to check what is stored at rest)."""
    if stack.db_url:
        with psycopg.connect(stack.db_url) as conn:
            row = conn.execute(sql.replace("?", "%s"), params).fetchone()
    else:
        with sqlite3.connect(stack.data_dir / "browserq.db") as conn:
            row = conn.execute(sql, params).fetchone()
    return row[0] if row else None


def create_profile(client: httpx.Client, **fields: object) -> dict:
    response = client.post("/browser-profiles", json={"profile_name": "p", **fields})
    assert response.status_code == 200, response.text
    return response.json()


def run(client: httpx.Client, model: ScriptedModelServer, replies: list[dict], **fields: object) -> dict:
    key = model.script(replies)
    task = wait_for(client, submit(client, key, **fields), FINAL)
    task["_prompts"] = [str(r["messages"]) for r in model.calls(key)["requests"]]
    return task


# -- CRUD ---------------------------------------------------------------------


def test_profile_crud_paging_and_partial_update(stack: Stack) -> None:
    owner = stack.cli("keys", "create", "profiles").strip().splitlines()[-1]
    with stack.client(owner) as client:
        first = create_profile(client, profile_name="shop", proxy_country_code="de")
        assert first == {
            "profile_id": first["profile_id"],
            "profile_name": "shop",
            "description": "",
            "persist": True,
            "ad_blocker": True,
            "proxy": True,
            "proxy_country_code": "DE",
            "browser_viewport_width": 1280,
            "browser_viewport_height": 960,
        }
        second = create_profile(client, profile_name="bank", persist=False, browser_viewport_width=800)
        assert client.get(f"/browser-profiles/{first['profile_id']}").json() == first

        page1 = client.get("/browser-profiles", params={"page": 1, "limit": 1}).json()
        page2 = client.get("/browser-profiles", params={"page": 2, "limit": 1}).json()
        assert [p["profile_id"] for p in page1["profiles"] + page2["profiles"]] == [
            second["profile_id"],
            first["profile_id"],
        ]
        assert (page1["total_count"], page1["total_pages"], page1["page"], page1["limit"]) == (2, 2, 1, 1)

        updated = client.put(f"/browser-profiles/{first['profile_id']}", json={"description": "weekly orders"})
        assert updated.json() == {**first, "description": "weekly orders"}
        updated = client.put(
            f"/browser-profiles/{first['profile_id']}", json={"ad_blocker": False, "proxy_country_code": "jp"}
        )
        assert updated.json() == {
            **first,
            "description": "weekly orders",
            "ad_blocker": False,
            "proxy_country_code": "JP",
        }

        assert client.delete(f"/browser-profiles/{second['profile_id']}").json() == {}
        assert client.get(f"/browser-profiles/{second['profile_id']}").status_code == 404
        assert client.get("/browser-profiles").json()["total_count"] == 1


@pytest.mark.parametrize(
    ("method", "body", "field", "says"),
    [
        ("POST", {}, "profile_name", "required"),
        ("POST", {"profile_name": ""}, "profile_name", "at least 1"),
        ("POST", {"profile_name": "   "}, "profile_name", "blank"),
        ("POST", {"profile_name": "x", "proxy_country_code": "zz"}, "proxy_country_code", "must be one of"),
        ("POST", {"profile_name": "x", "browser_viewport_width": 10}, "browser_viewport_width", "greater than"),
        ("POST", {"profile_name": "x", "persist": "maybe"}, "persist", "boolean"),
        ("PUT", {"persist": "maybe"}, "persist", "boolean"),
        ("PUT", {"browser_viewport_height": 99999}, "browser_viewport_height", "less than"),
        ("PUT", {"proxy_country_code": "xx"}, "proxy_country_code", "must be one of"),
    ],
)
def test_bad_profile_requests_are_422(pg_stack: Stack, method: str, body: dict, field: str, says: str) -> None:
    with pg_stack.client() as client:
        path = "/browser-profiles"
        if method == "PUT":
            path += "/" + create_profile(client)["profile_id"]
        response = client.request(method, path, json=body)
    assert response.status_code == 422, response.text
    assert any(field in err["loc"] and says in err["msg"] for err in response.json()["detail"]), response.text


def test_another_keys_profile_is_not_found(stack: Stack) -> None:
    other = stack.cli("keys", "create", "other-profiles").strip().splitlines()[-1]
    with stack.client() as client, stack.client(other) as intruder:
        profile_id = create_profile(client, profile_name="mine")["profile_id"]
        for method, body in [("GET", None), ("PUT", {"description": "x"}), ("DELETE", None)]:
            response = intruder.request(method, f"/browser-profiles/{profile_id}", json=body)
            assert response.status_code == 404 and response.json() == {"detail": "Browser profile not found"}
        assert profile_id not in str(intruder.get("/browser-profiles", params={"limit": 100}).json())
        for who in (intruder, client):
            refused = who.post("/run-task", json={"task": "x", "browser_profile_id": "no-such-profile"})
            assert refused.status_code == 422 and "not found" in refused.text
        refused = intruder.post("/run-task", json={"task": "x", "browser_profile_id": profile_id})
        assert refused.status_code == 422 and refused.json()["detail"][0]["loc"] == ["body", "browser_profile_id"]
        assert client.get(f"/browser-profiles/{profile_id}").json()["description"] == ""


# -- what carries over between tasks --------------------------------------------


def login_then_store(site: SiteServer) -> list[dict]:
    return [
        *login_script(site)[:2],
        answer("Save something locally", {"navigate": {"url": site.add_page("set-storage", SET_STORAGE)}}),
        answer("Finish", {"done": {"text": "logged in"}}),
    ]


def open_account_and_storage(site: SiteServer) -> list[dict]:
    return [
        answer("Open the account", {"navigate": {"url": f"{site.url}/account"}}),
        answer("Look at local storage", {"navigate": {"url": site.add_page("show-storage", SHOW_STORAGE)}}),
        answer("Finish", {"done": {"text": "looked"}}),
    ]


def test_cookies_and_local_storage_carry_over_on_a_persisting_profile(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    with stack.client() as client:
        profile = create_profile(client, browser_viewport_width=1000, browser_viewport_height=700)
        first = run(
            client,
            model,
            login_then_store(site),
            browser_profile_id=profile["profile_id"],
            secrets={"password": PASSWORD},
            save_browser_data=True,
        )
        assert first["status"] == "finished", first
        assert first["steps"][2]["url"] == f"{site.url}/account"  # logged in
        second = run(client, model, open_account_and_storage(site), browser_profile_id=profile["profile_id"])
        assert second["status"] == "finished", second
        # The second task was never logged in: it opened /account directly and saw the code.
        assert second["steps"][1]["url"] == f"{site.url}/account"
        assert ACCOUNT_CODE in second["_prompts"][1]
        # Local storage came along too, and the browser had the profile's viewport.
        assert f"stored={LOCAL_VALUE} viewport=1000x700" in second["_prompts"][2]

        # At rest, the cookies (the task's browser_data and the profile's state) are encrypted.
        cookies = first["browser_data"]["cookies"]
        assert any(c["name"] == "session" and c["value"] == f"ok-{USERNAME}" for c in cookies)
        stored = db_value(stack, "SELECT browser_data_encrypted FROM tasks WHERE id = ?", first["id"])
        state = db_value(
            stack, "SELECT storage_state_encrypted FROM browser_profiles WHERE id = ?", profile["profile_id"]
        )
        for blob in (stored, state):
            assert blob and f"ok-{USERNAME}" not in blob and LOCAL_VALUE not in blob and "session" not in blob

        # Turning persist off forgets the saved state.
        client.put(f"/browser-profiles/{profile['profile_id']}", json={"persist": False})
        assert (
            db_value(stack, "SELECT storage_state_encrypted FROM browser_profiles WHERE id = ?", profile["profile_id"])
            is None
        )


def test_two_tasks_at_once_on_a_profile_the_later_save_wins(
    pg_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    """Documented behaviour: a task starts from the state saved before it began
    and saves its whole state when it ends, so of two overlapping tasks the one
    that ends last decides what the next task starts from (nothing is merged).
    The overlap is made certain by pausing the first task while the second runs."""
    set_cookie = "<p>Cookie set.</p><script>document.cookie = 'who={}; path=/'</script>"
    show_cookie = (
        "<p id=c></p><script>document.getElementById('c').textContent = 'cookies: ' + document.cookie</script>"
    )
    pages = {who: site.add_page(f"cookie-{who}", set_cookie.format(who)) for who in ("early", "late")}
    saved_by = "SELECT storage_saved_by FROM browser_profiles WHERE id = ?"
    with pg_stack.client() as client:
        profile_id = create_profile(client)["profile_id"]
        slow = model.script(
            [
                answer("Set", {"navigate": {"url": pages["late"]}}),
                {"_delay": 3.0, "reply": answer("Finish", {"done": {"text": "late"}})},
            ]
        )
        late_id = submit(client, slow, browser_profile_id=profile_id)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not client.get(f"/task/{late_id}").json()["steps"]:
            time.sleep(0.05)
        assert client.put(f"/pause-task/{late_id}").status_code == 200
        wait_for(client, late_id, {"paused"})

        early = run(
            client,
            model,
            [answer("Set", {"navigate": {"url": pages["early"]}}), answer("Finish", {"done": {"text": "early"}})],
            browser_profile_id=profile_id,
        )
        assert early["status"] == "finished" and db_value(pg_stack, saved_by, profile_id) == early["id"]
        assert client.put(f"/resume-task/{late_id}").status_code == 200
        assert wait_for(client, late_id, FINAL)["status"] == "finished"
        assert db_value(pg_stack, saved_by, profile_id) == late_id

        after = run(
            client,
            model,
            [
                answer("Look", {"navigate": {"url": site.add_page("show-cookie", show_cookie)}}),
                answer("Finish", {"done": {"text": "seen"}}),
            ],
            browser_profile_id=profile_id,
        )
    assert "cookies: who=late" in after["_prompts"][1] and "early" not in after["_prompts"][1]


def test_nothing_carries_over_without_a_persisting_profile(
    stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    with stack.client() as client:
        no_persist = create_profile(client, persist=False)["profile_id"]
        for profile_id in (None, no_persist):
            extra = {"browser_profile_id": profile_id} if profile_id else {}
            first = run(client, model, login_then_store(site), secrets={"password": PASSWORD}, **extra)
            assert first["status"] == "finished" and first["steps"][2]["url"] == f"{site.url}/account", first
            second = run(client, model, open_account_and_storage(site), **extra)
            # Sent back to the login page, and no local storage: a fresh browser.
            assert second["steps"][1]["url"] == f"{site.url}/login", (profile_id, second["steps"])
            assert ACCOUNT_CODE not in second["_prompts"][1]
            assert "stored=null viewport=1280x960" in second["_prompts"][2]
        assert db_value(stack, "SELECT storage_state_encrypted FROM browser_profiles WHERE id = ?", no_persist) is None


# -- ad blocker and proxies (a stack with its own settings) --------------------------


@pytest.fixture(scope="module")
def proxy() -> Iterator[ForwardProxy]:
    with ForwardProxy(username="bq-user", password="pa:ss@word") as server:
        yield server


@pytest.fixture(scope="module")
def net_stack(
    model: ScriptedModelServer, proxy: ForwardProxy, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    """Embedded browserq with a US proxy and a block list that holds `localhost`
    (the test site answers on both 127.0.0.1 and localhost)."""
    hosts = tmp_path_factory.mktemp("adblock") / "hosts.txt"
    hosts.write_text("# test list\ndoubleclick.net\n0.0.0.0 localhost\n")
    stack = Stack(
        kind="embedded",
        model_base_url=model.base_url,
        concurrency=1,
        env_extra={"BROWSERQ_PROXIES": json.dumps({"US": proxy.url}), "BROWSERQ_ADBLOCK_HOSTS_FILE": str(hosts)},
    )
    try:
        yield stack.start()
    finally:
        stack.stop()


def test_adblock_blocks_requests_to_listed_hosts(
    net_stack: Stack, model: ScriptedModelServer, site: SiteServer
) -> None:
    tracker = f"http://localhost:{site.port}/p/tracker"
    page = site.add_page(
        "with-tracker",
        f'<h1>Article</h1><img src="{tracker}?img"><script src="{tracker}?js"></script><p>Body text.</p>',
    )
    replies = [answer("Open the article", {"navigate": {"url": page}}), answer("Finish", {"done": {"text": "read"}})]
    with net_stack.client() as client:
        blocked = run(client, model, replies)
        assert blocked["status"] == "finished" and blocked["steps"][1]["url"] == page
        assert "Body text." in blocked["_prompts"][1]
        assert site.hits.get("tracker", 0) == 0  # never reached the site
        assert site.hits["with-tracker"] >= 1

        # The same page on a profile without the ad blocker loads the tracker.
        profile = create_profile(client, ad_blocker=False, proxy=False)
        allowed = run(client, model, replies, browser_profile_id=profile["profile_id"])
        assert allowed["status"] == "finished"
        assert site.hits.get("tracker", 0) >= 1


def test_proxy_for_the_country_is_used_and_its_absence_is_said(
    net_stack: Stack, model: ScriptedModelServer, site: SiteServer, proxy: ForwardProxy
) -> None:
    via_us = site.add_page("via-proxy", "<p>Served through the US proxy: PROXY-OK-5</p>")
    direct = site.add_page("direct-de", "<p>Served directly: DIRECT-OK-6</p>")
    with net_stack.client() as client:
        task = run(
            client, model, [answer("Open", {"navigate": {"url": via_us}}), answer("Finish", {"done": {"text": "ok"}})]
        )
        assert task["status"] == "finished" and "PROXY-OK-5" in task["_prompts"][1]
        # The worker's egress proxy tunnels each connection through it, with the credentials
        # (it forwards nothing without them).
        assert proxy.wait_for(f"CONNECT 127.0.0.1:{site.port}")
        assert "No proxy" not in task["steps"][0]["evaluation_previous_goal"]
        tunnels = len(proxy.forwarded)

        task = run(
            client,
            model,
            [answer("Open", {"navigate": {"url": direct}}), answer("Finish", {"done": {"text": "ok"}})],
            proxy_country_code="de",
        )
        assert task["status"] == "finished" and "DIRECT-OK-6" in task["_prompts"][1]
        note = task["steps"][0]["evaluation_previous_goal"]
        assert "No proxy is configured for proxy_country_code 'DE'" in note and "directly" in note
        assert "No proxy is configured" in task["_prompts"][0]  # the model was told too
        assert len(proxy.forwarded) == tunnels  # nothing of the DE task went through the US proxy


def test_a_server_without_proxies_says_nothing_of_them(stack: Stack, model: ScriptedModelServer) -> None:
    """use_proxy is on by default: on a server with no proxies configured the task runs
    directly, and neither the person polling nor the model is told so on every task."""
    with stack.client() as client:
        task = run(client, model, [answer("Finish", {"done": {"text": "ok"}})], proxy_country_code="de")
    assert task["status"] == "finished", task
    assert task["steps"][0]["evaluation_previous_goal"] == "Success"
    assert "proxy" not in task["_prompts"][0].lower()
