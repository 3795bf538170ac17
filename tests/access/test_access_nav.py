"""The navigation bar: staff see the public pages (complaint form, public CCTV) in one
"Publik" menu beside the staff pages; a visitor, who has only those two, sees plain links."""

from __future__ import annotations

import json


def _walk(node):
    if isinstance(node, dict):
        yield node
        for value in node.values():
            yield from _walk(value)
    elif isinstance(node, list):
        for value in node:
            yield from _walk(value)


def _nav(client) -> list[dict]:
    shell = json.loads(client.get("/_dash-layout").data)
    bar = next(n for n in _walk(shell) if n.get("props", {}).get("id") == "pantau-navbar")
    return list(_walk(bar))


def _hrefs(nodes, type_name: str) -> set[str]:
    return {
        n["props"]["href"]
        for n in nodes
        if n.get("type") == type_name and isinstance(n.get("props", {}).get("href"), str)
    }


def test_staff_get_the_public_pages_in_one_menu(env, clients):
    nodes = _nav(clients["operator"])
    menu = next(n for n in nodes if n.get("props", {}).get("id") == "pantau-nav-public")
    inside = _hrefs(list(_walk(menu)), "DropdownMenuItem")
    assert inside == {"/lapor", "/cctv"}
    assert not {"/lapor", "/cctv"} & _hrefs(nodes, "NavLink")  # not twice
    assert {"/", "/dinding", "/bukti"} <= _hrefs(nodes, "NavLink")


def test_visitor_sees_plain_public_links(env, clients):
    nodes = _nav(clients[None])
    assert not [n for n in nodes if n.get("props", {}).get("id") == "pantau-nav-public"]
    assert {"/lapor", "/cctv"} <= _hrefs(nodes, "NavLink")
