"""qualitygate/callback_policy.py: the allow-list, and which addresses a callback may reach."""

from __future__ import annotations

import ipaddress

import pytest

from qualitygate.callback_policy import address_refusal, host_allowed, parse_network, url_problem

LOOPBACK_ONLY = [parse_network("127.0.0.1/32")]


@pytest.mark.parametrize(
    ("host", "allowed"),
    [
        ("cms.example.com", True),
        ("CMS.Example.com.", True),
        ("evil.com", False),
        ("cms.example.com.evil.com", False),
        ("a.shop.example.org", True),
        ("shop.example.org", False),  # *.shop.example.org covers subdomains only
        ("xshop.example.org", False),
        ("10.1.2.3", True),
        ("10.1.3.3", False),
        ("[fd00::5]", True),
        ("fd00::5", True),
        ("fd01::5", False),
    ],
)
def test_host_allowed(host: str, allowed: bool) -> None:
    allow = ["cms.example.com", "*.shop.example.org", "10.1.2.0/24", "fd00::/112"]
    assert host_allowed(host, allow) is allowed


@pytest.mark.parametrize(
    ("address", "kind"),
    [
        ("127.0.0.1", "loopback"),
        ("127.8.9.10", "loopback"),
        ("10.0.0.7", "private"),
        ("172.16.0.1", "private"),
        ("192.168.1.1", "private"),
        ("169.254.169.254", "link-local"),  # cloud metadata
        ("100.64.0.1", "not a global address"),  # carrier-grade NAT
        ("0.0.0.0", "unspecified"),
        ("224.0.0.1", "multicast"),
        ("240.0.0.1", "reserved"),
        ("::1", "loopback"),
        ("fd12:3456::1", "private"),  # IPv6 unique local (ULA)
        ("fe80::1", "link-local"),
        ("ff02::1", "multicast"),
        ("::", "unspecified"),
        ("::ffff:127.0.0.1", "loopback"),  # IPv4-mapped IPv6
        ("::ffff:10.0.0.1", "private"),
        ("2002:7f00:1::", "loopback"),  # 6to4 around 127.0.0.1
        ("64:ff9b::a00:1", "private"),  # NAT64 around 10.0.0.1
    ],
)
def test_non_public_addresses_are_refused(address: str, kind: str) -> None:
    refusal = address_refusal(ipaddress.ip_address(address), [])
    assert refusal is not None and kind in refusal and "allow_private" in refusal


@pytest.mark.parametrize("address", ["93.184.216.34", "8.8.8.8", "2606:4700:4700::1111"])
def test_public_addresses_pass(address: str) -> None:
    assert address_refusal(ipaddress.ip_address(address), []) is None


def test_allow_private_lets_a_listed_network_through_and_nothing_else() -> None:
    allow = [parse_network("10.1.2.0/24"), parse_network("::1/128")]
    assert address_refusal(ipaddress.ip_address("10.1.2.9"), allow) is None
    assert address_refusal(ipaddress.ip_address("::1"), allow) is None
    assert address_refusal(ipaddress.ip_address("10.1.3.9"), allow) is not None
    assert address_refusal(ipaddress.ip_address("127.0.0.1"), allow) is not None


def test_a_mapped_address_is_judged_by_the_ipv4_it_carries() -> None:
    refusal = address_refusal(ipaddress.ip_address("::ffff:127.0.0.1"), [])
    assert refusal is not None and "embeds 127.0.0.1" in refusal
    assert address_refusal(ipaddress.ip_address("::ffff:127.0.0.1"), LOOPBACK_ONLY) is None


@pytest.mark.parametrize(
    ("url", "problem"),
    [
        ("https://cms.example.com/hook", ""),
        ("http://cms.example.com/hook", "must be https"),
        ("ftp://cms.example.com/hook", "https:// URL"),
        ("https://user:pw@cms.example.com/hook", "credentials"),
        ("https://other.example.com/hook", "not on delivery.allow_hosts"),
        ("https://cms.example.com:99999/hook", "not a valid URL"),
        ("http://127.0.0.1:8080/hook", ""),
        ("http://127.0.0.2:8080/hook", "loopback"),
        ("https:///hook", "with a host"),
    ],
)
def test_url_problem(url: str, problem: str) -> None:
    found = url_problem(url, ["cms.example.com", "127.0.0.0/8"], LOOPBACK_ONLY)
    assert (problem in found and found) if problem else found == ""
