"""How much CPU reading a feed costs: the fast XML reader beside feedparser, in one run.

    python -m bench.reading [--feeds M] [--entries K] [--rounds R]

Generates the refresh benchmark's feeds (RSS 2.0 and Atom 1.0 alternating,
2–3 KB of HTML per entry) and times `parse_feed` on every one of them with
`time.process_time`, reading XML with the fast reader (`fast=True`, the
default) and with feedparser alone (`fast=False`), alternating round by
round so both see the same machine. Reports the median CPU per feed of
each and their ratio, split into reading the XML and the rest of
`parse_feed` (sanitising, links, dates), and checks that both readings gave
equal feeds. No network, no store: only the parse a refresh's workers do.
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections.abc import Callable, Sequence

from bench.remote import generate_feeds
from feeds.remote import fastxml, parse
from feeds.remote.guard import GUARD, MAX_ITEMS, Guard
from feeds.remote.parse import parse_feed


def _cpu_per_feed(work: Callable[[], object], count: int) -> float:
    """CPU seconds `work` takes, per feed."""
    start = time.process_time()
    work()
    return (time.process_time() - start) / count


def _read_only(reader: Callable[[bytes, str | None], object], bodies: Sequence[tuple[bytes, str]]) -> None:
    for body, content_type in bodies:
        token = GUARD.set(Guard(MAX_ITEMS))
        try:
            reader(body, content_type)
        finally:
            GUARD.reset(token)


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.reading", description=__doc__.split("\n\n")[0])
    parser.add_argument("--feeds", type=int, default=200, metavar="M", help="feeds (default 200)")
    parser.add_argument("--entries", type=int, default=50, metavar="K",
                        help="entries per feed (default 50)")
    parser.add_argument("--rounds", type=int, default=5, metavar="R",
                        help="rounds, median reported (default 5)")
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args(argv)

    feeds = generate_feeds(args.seed, args.feeds, args.entries, hosts=50)
    bodies = [(f.body, f.content_type) for f in feeds]
    urls = [f"http://127.0.1.{f.host_index + 1}{f.path}" for f in feeds]

    def parse_all(fast: bool) -> list[object]:
        return [parse_feed(body, url, {"content-type": kind}, fast=fast)
                for (body, kind), url in zip(bodies, urls, strict=True)]

    if parse_all(True) != parse_all(False):
        print("the two readers gave different feeds")
        return 1
    whole: dict[bool, list[float]] = {True: [], False: []}
    reading: dict[bool, list[float]] = {True: [], False: []}
    readers = {True: fastxml.read_xml, False: parse._read_with_feedparser}
    for _round in range(args.rounds):
        for fast in (True, False):
            whole[fast].append(_cpu_per_feed(lambda fast=fast: parse_all(fast), len(feeds)))
            reading[fast].append(_cpu_per_feed(
                lambda fast=fast: _read_only(readers[fast], bodies), len(feeds)))

    def ms(values: list[float]) -> float:
        return statistics.median(values) * 1000

    size = sum(len(body) for body, _type in bodies) // len(bodies) // 1024
    print(f"{args.feeds} feeds × {args.entries} entries, {size} KB each; "
          f"median of {args.rounds} rounds, CPU per feed")
    print("| reader | parse_feed | reading the XML | the rest |")
    print("| --- | ---: | ---: | ---: |")
    for fast, name in ((False, "feedparser alone"), (True, "fast reader")):
        print(f"| {name} | {ms(whole[fast]):.1f} ms | {ms(reading[fast]):.1f} ms | "
              f"{ms(whole[fast]) - ms(reading[fast]):.1f} ms |")
    print(f"| feedparser / fast | {ms(whole[False]) / ms(whole[True]):.1f}× | "
          f"{ms(reading[False]) / ms(reading[True]):.1f}× | |")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
