"""The one private-address rule (shared/netguard.py): the special-purpose
ranges, IPv4 carried inside IPv6, allow-list entries with ports; and a webhook
delivery that records what happened, never what the other side answered."""

from __future__ import annotations

import pytest

from shared import netguard
from shared.netguard import AllowList, is_private_address, usable
from shared.webhooks import delivery
from tests.support.webhook_receiver import WebhookReceiver


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.2",
        "10.1.2.3",
        "172.31.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "192.0.0.8",
        "192.0.2.1",
        "198.18.0.1",
        "198.51.100.7",
        "203.0.113.9",
        "224.0.0.1",
        "240.0.0.1",
        "255.255.255.255",
        "192.88.99.1",
        "::1",
        "::",
        "fe80::1%eth0",
        "fd00::1",
        "fec0::1",
        "ff02::1",
        "2001:db8::1",
        "100::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
        "::127.0.0.1",  # IPv4-mapped and IPv4-compatible
        "2002:7f00:1::1",
        "2002:a9fe:a9fe::",  # 6to4 of 127.0.0.1 and 169.254.169.254
        "64:ff9b::a00:1",
        "64:ff9b:1::a9fe:a9fe",  # NAT64 of 10.0.0.1 and of 169.254.169.254
        "2001:0:4136:e378:8000:63bf:3fff:fdd2",  # Teredo whose client is 192.0.2.45
    ],
)
def test_special_purpose_addresses_are_private(address: str) -> None:
    assert is_private_address(address)


@pytest.mark.parametrize(
    "address", ["8.8.8.8", "1.1.1.1", "2606:4700::1111", "::ffff:8.8.8.8", "2002:808:808::1", "64:ff9b::808:808"]
)
def test_public_addresses_are_public(address: str) -> None:
    assert not is_private_address(address)


def test_a_bare_host_opens_the_web_ports_only() -> None:
    allow = AllowList.parse(["127.0.0.1", "10.0.0.5:8080", "dev.internal:*", "[::1]:3000"])
    assert usable("127.0.0.1", 80, ["127.0.0.1"], allow) == ["127.0.0.1"]
    assert usable("127.0.0.1", 443, ["127.0.0.1"], allow) == ["127.0.0.1"]
    refused = usable("127.0.0.1", 6379, ["127.0.0.1"], allow)
    assert isinstance(refused, str) and "lists it for port 6379" in refused
    assert isinstance(usable("10.0.0.5", 8081, ["10.0.0.5"], allow), str)
    assert usable("10.0.0.5", 8080, ["10.0.0.5"], allow) == ["10.0.0.5"]
    assert usable("dev.internal", 5432, ["10.9.9.9"], allow) == ["10.9.9.9"]  # a name entry: whatever it resolves to
    assert usable("::1", 3000, ["::1"], allow) == ["::1"] and isinstance(usable("::1", 3001, ["::1"], allow), str)


def test_an_address_entry_covers_names_resolving_to_it_but_not_localhost() -> None:
    allow = AllowList.parse(["127.0.0.1:*"])
    assert usable("app.test", 9000, ["127.0.0.1"], allow) == ["127.0.0.1"]
    assert usable("mixed.test", 9000, ["127.0.0.2", "127.0.0.1"], allow) == ["127.0.0.1"]  # only the allowed one
    assert isinstance(usable("localhost", 9000, ["127.0.0.1"], allow), str)
    assert isinstance(usable("app.localhost", 9000, ["127.0.0.1"], allow), str)
    assert usable("localhost", 9000, ["127.0.0.1"], AllowList.parse(["localhost:*"])) == ["127.0.0.1"]


def test_a_malformed_entry_is_refused() -> None:
    with pytest.raises(ValueError, match="the port must be a number or"):
        AllowList.parse(["127.0.0.1:redis"])


def test_a_webhook_to_redis_beside_an_allowed_host_is_refused() -> None:
    """The issue's case: `browserq dev`'s old default allowed 127.0.0.1 on every port."""
    reason = netguard.blocked_reason("http://127.0.0.1:6379/", ["127.0.0.1"])
    assert reason is not None and "port 6379" in reason
    assert netguard.blocked_reason("http://127.0.0.1/hook", ["127.0.0.1"]) is None
    assert netguard.blocked_reason("http://[::ffff:7f00:1]:8000/", []) is not None


def test_a_failed_delivery_does_not_echo_the_answer() -> None:
    with WebhookReceiver() as receiver:
        receiver.plans["/hook"] = [500]
        url = receiver.url("/hook")
        target = netguard.check_url(url, ["127.0.0.1:*"])
        assert isinstance(target, netguard.Target) and target.address == "127.0.0.1"
        status, error = delivery._post(url, target, "s" * 32, {"type": "test"}, timeout=5)
    assert status == 500 and error == f"HTTP 500 from 127.0.0.1:{receiver.port}"  # the body ("ok") is not kept
    assert receiver.at("/hook")[0].headers["Host"] == f"127.0.0.1:{receiver.port}"
