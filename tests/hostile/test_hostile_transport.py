"""Hostile servers: bodies too big to hold, answers too slow to wait for, redirects going nowhere.

All the attacks run in one round beside a well-behaved source (see
harness.py), against the real loopback feed server and a tarpit that
accepts connections and never answers. Each must end within the limits of
`SETTINGS` with an error naming the cause, while the bystander is still
fetched and published and nothing stored before is lost.
"""

from __future__ import annotations

import gzip
from collections.abc import Iterator
from dataclasses import replace

import pytest
from feedserver import FeedServer, Response
from harness import SETTINGS, Case, Round, attack, new_project
from remote_feeds import rss
from tarpit import Tarpit

CAP = "body larger than 256 KiB"  # SETTINGS.max_bytes, as messages give it
FEED = rss([("x", "Never seen", "This feed is never delivered in full.")])
# 100 MiB of zeros in 100 KB: the compressed body alone is well within the cap.
BOMB = gzip.compress(bytes(100 * 2**20), compresslevel=9)

CASES = [
    Case("gzip-bomb", Response(body=BOMB, headers={"Content-Encoding": "gzip"}), CAP, "oversize"),
    Case("endless-chunked", Response(body=FEED, chunked=True, endless=True), CAP, "oversize"),
    Case("endless-unframed", Response(body=FEED, endless=True), CAP, "oversize"),
    Case("over-the-cap", Response(body=FEED + " " * 300_000),
         f"{CAP} (Content-Length {len(FEED) + 300_000})", "oversize"),
    Case("drip", Response(body=FEED, drip=1.0), "timed out after 3 s in total", "timeout"),
    Case("slow-answer", Response(body=FEED, delay=60),
         "timed out after 2 s waiting for the response", "timeout"),
    Case("redirect-loop", Response(status=302, headers={"Location": "/redirect-loop/next"}),
         "redirect loop back to", "redirect"),
    Case("redirect-chain", Response(status=307, headers={"Location": "/hop/1"}),
         "too many redirects (4)", "redirect"),
    # Sent on to the tarpit by the fixture.
    Case("never-answers", Response(status=307), "timed out after 2 s waiting for the response",
         "timeout"),
]


@pytest.fixture(scope="module")
def pit() -> Iterator[Tarpit]:
    with Tarpit() as started:
        yield started


@pytest.fixture(scope="module")
def round_(tmp_path_factory: pytest.TempPathFactory, pit: Tarpit) -> Iterator[Round]:
    project = new_project(tmp_path_factory, "transport")
    to_pit = Response(status=307, headers={"Location": pit.url("/feed")})
    cases = [replace(c, attack=to_pit) if c.name == "never-answers" else c for c in CASES]
    with FeedServer() as server:
        server.route("/redirect-loop/next", Response(status=302, headers={"Location": "/redirect-loop"}))
        for hop in range(1, 10):
            server.route(f"/hop/{hop}", Response(status=307, headers={"Location": f"/hop/{hop + 1}"}))
        yield attack(project, server, cases)


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.name)
def test_each_attack_ends_in_a_clear_error_and_loses_nothing(round_: Round, case: Case) -> None:
    state = round_.check(case)
    assert state.error_count == 1 and state.next_due is not None  # retried later, not dropped


def test_attacks_end_within_their_limits_and_never_hold_up_the_bystander(
    round_: Round, pit: Tarpit
) -> None:
    # Fetched side by side, the slowest attack ends at the total time-out.
    assert round_.seconds < SETTINGS.total_timeout + 3, round_.seconds
    assert pit.accepted >= 1, "the never-answering server was really asked"
    assert round_.states[round_.bystander].status == "ok"
