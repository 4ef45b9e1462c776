"""A new project for `feeds init`: a sample article, a commented configuration, a source list.

The files are a pure function of the day they are made for, so they can be
tested as text; `create_project` is the only part that touches the disk. It
never overwrites: a person who runs `feeds init` in the wrong folder must not
lose their own `feeds.toml` or articles.
"""

from __future__ import annotations

from datetime import date
from pathlib import Path

from .config import CONFIG_NAME
from .errors import OutputError, UsageError

ARTICLE_PATH = "sources/articles/{day}-sample-digest.md"
LINKS_PATH = "sources/links.toml"

# Every key load_config accepts, commented out at its default, so the file
# documents itself and loads as the defaults until a line is uncommented.
_CONFIG = """\
# Configuration of this feeds project. Every key is optional: uncomment a line
# to change it. An unknown key or a wrong type stops feeds with a message.

# The site's title, used in feed titles; the subtitle of the feed of everything.
# title = "feeds"
# subtitle = "Daily digest"

# Where output/ is served: feed links and ids derive from it. Set it before
# publishing, and keep it: readers know entries by ids built from it.
# base_url = "http://127.0.0.1:8080/"

# Feed author, and the author of articles that name none.
# author = "feeds"

# Languages to detect among, in order of preference; the first is the index
# page's language.
# languages = ["zh", "en"]

# Which kinds of feeds to write: all, lang/<lang>, tags/<tag>.
# families = ["all", "lang", "tags"]

# The formats each feed is written in, side by side: all.atom, all.rss, all.json.
# formats = ["atom", "rss", "json"]

# Write the readable site too: a front page, a page per feed and per entry.
# pages = true

# WebSub hubs that readers may subscribe to for changes; each feed names
# them, and each build tells them which feeds changed.
# hubs = ["https://hub.example.org/"]

# How long a ping a hub did not take waits before it is sent again; the
# wait doubles at each failure, up to an hour.
# hub_retry = "1m"

# Be a WebSub hub too: `feeds run --serve` takes subscriptions at
# <base_url>hub and sends subscribers each changed feed (see the README).
# hub = "self"

# Whether the own hub may call back private, loopback or link-local
# addresses (only when it and its subscribers share a private network).
# hub_allow_private = false

# The shortest lease the own hub grants (the longest is 30 days).
# hub_lease_min = "1m"

# Subscriptions the own hub keeps for the callbacks of one host.
# hub_max_per_host = 20

# Archive documents (RFC 5005) holding every entry ever published, so a
# new subscriber can read a feed's whole history: archive/<feed>/<year>/<month>.atom.
# archives = false

# Newest entries per feed.
# entries_per_feed = 50

# Entries a tag needs for a feed of its own.
# min_tag_entries = 1

# Tags written differently that mean the same.
# tag_aliases = { "ml" = "machine learning" }

# Zone of dates written without one (an IANA name such as "Asia/Shanghai").
# timezone = "UTC"

# The date in tag: ids of entries; never change it once published.
# id_date = "2024"

# Directories and the store, relative to this file's folder.
# articles = "sources/articles"
# sources = "sources"
# output = "output"
# The store is a SQLite file, or a PostgreSQL database named by its URL
# ("postgresql://user@host/db", with `pip install 'feeds[postgresql]'`); the
# FEEDS_STORE environment variable overrides it and keeps passwords out of here.
# store = ".feeds/state.sqlite3"

# Default poll interval of a remote source (s, m, h, d, w).
# every = "30m"

# Remote sources go through the proxy the environment names (HTTP_PROXY,
# HTTPS_PROXY, ALL_PROXY, NO_PROXY, read as httpx and curl read them); a proxy
# here (http, https or socks5) replaces it, "direct" uses none. A source's own
# `proxy` in sources/links.toml wins over both.
# proxy = "http://proxy.example:3128"

# What a 429/503 Retry-After pauses: "site", every feed of the answering
# domain; or "source", only the feed that got it (many feeds on one host,
# such as an RSSHub of your own). A source's own setting wins.
# retry_after_scope = "site"

# Per source, keep at least the newest N entries and everything newer than D days.
# retention_entries = 200
# retention_days = 90

# A feed of the entries matching all given filters (any of lang, tags, authors).
# [[custom]]
# name = "ai-zh"
# title = "AI news in Chinese"
# lang = "zh"
# tags = ["ai"]
# authors = ["desk"]
"""

_LINKS = """\
# Remote feeds to follow: one [[source]] table each. Every *.opml file in this
# folder is read as subscriptions too. `feeds add URL` appends here.
#
# [[source]]
# url = "https://news.example.org/feed.xml"   # required: RSS, Atom or JSON Feed
# title = "Example News"                     # shown in `feeds sources`
# tags = ["news"]                            # added to every entry
# lang = "en"                                # overrides the feed's language
# every = "30m"                              # poll interval (s, m, h, d, w)
# include = ["(?i)battery"]                  # keep only entries matching one
# exclude = ["sponsored"]                    # drop entries matching one
# enabled = true
# full_text = true                           # fetch the article of summary-only entries
# How it is fetched (each optional; secrets never go in this file):
# proxy = "socks5://127.0.0.1:1080"          # or "direct"; else feeds.toml's, else the environment's
# user_agent = "Mozilla/5.0 (compatible)"    # instead of feeds' own
# headers = { "Accept-Language" = "en" }     # sent to this source's own site only
# cookies = { consent = "yes" }              # likewise
# auth = { user_env = "NEWS_USER", password_env = "NEWS_PASS" }   # basic auth from the
#                                            # environment; bearer: { token_env = "NEWS_TOKEN" }
# retry_after_scope = "source"               # a 429/503 pauses this feed, not its site
#
# Rewrite rules of the source above, applied in order before sanitising:
# [[source.rewrite]]
# remove = "div.ad, .share-buttons"          # remove elements (CSS selector)
# [[source.rewrite]]
# replace = "^Sponsored: "                   # a regular expression (Python's re)
# with = ""                                  # its replacement (\\1 names a group)
# in = "title"                               # "title" or "content" (the default)
"""

_ARTICLE = """\
---
title: 示例摘要：街道自行车维修站周末开放
date: {day}T08:00:00Z
description: Sample digest - a neighbourhood bicycle repair station opens at weekends
tags: [示例, community]
author: desk
---

[原文链接](https://news.example.org/bike-repair)

这是 feeds init 写下的示例文章，展示双语摘要的写法：先写中文正文，再用分隔线隔开英文摘要。

街道自行车维修站从本周起每逢周六和周日开放，志愿者免费帮助居民检查刹车、给轮胎打气。

维修站还教大家更换链条，说这个安排来自居民在社区会议上的建议。

请把这篇文章改写成你自己的内容，或者直接删除。

---

**Summary**

This sample article was written by `feeds init` to show the shape of a
bilingual digest: front matter, the Chinese text, a thematic break, then an
English summary. A neighbourhood bicycle repair station now opens every
Saturday and Sunday; volunteers check brakes, pump tyres and show residents
how to change a chain, an arrangement suggested at a community meeting.
Rewrite this file with your own text, or delete it.

[Source Link](https://news.example.org/bike-repair)
"""


def skeleton_files(today: date) -> dict[str, str]:
    """The files of a new project, by path relative to its folder."""
    day = today.isoformat()
    return {
        CONFIG_NAME: _CONFIG,
        LINKS_PATH: _LINKS,
        ARTICLE_PATH.format(day=day): _ARTICLE.format(day=day),
    }


def create_project(root: Path, today: date) -> list[Path]:
    """Write a new project into `root` (made if missing); returns the files written.

    Raises UsageError, writing nothing, if any of the files already exists,
    and OutputError if the folder cannot be written.
    """
    files = {root / rel: text for rel, text in skeleton_files(today).items()}
    existing = [p for p in files if p.exists()]
    if existing:
        raise UsageError(f"{existing[0]} already exists; feeds init never overwrites a file "
                         f"(choose an empty folder: feeds init DIR)")
    written: list[Path] = []
    try:
        for path, text in files.items():
            path.parent.mkdir(parents=True, exist_ok=True)
            # "x": fail rather than overwrite a file that appeared meanwhile.
            with path.open("x", encoding="utf-8") as f:
                f.write(text)
            written.append(path)
    except OSError as exc:
        raise OutputError(f"{exc.filename or root}: cannot write: {exc.strerror or exc}") from exc
    return written
