"""Remote feeds in the encodings of the world, served on loopback, published as the same text."""

from __future__ import annotations

import json
from html import escape
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from conftest import write_links
from feedserver import FeedServer, Response

from feeds import build
from feeds.config import FetchSettings, load_config

FAST = FetchSettings(domain_spacing=0.0, connect_timeout=2, read_timeout=2, total_timeout=4)

# Two headlines per encoding, as a news site in that language would write them.
TITLES: dict[str, tuple[str, str]] = {
    "shift_jis": ("東京都が新しい防災計画を発表、避難所の数を大幅に増やす方針",
                  "大阪の研究チームが充電時間を半分にする新しい電池技術を開発"),
    "euc_jp": ("名古屋市で記録的な大雨、交通機関に大きな乱れが出ています",
               "政府は来年度の予算案で子育て支援を拡充する方針を固めました"),
    "euc_kr": ("서울시, 내년부터 대중교통 요금 인상 발표… 시민 반응 엇갈려",
               "국내 연구진이 차세대 반도체 소재 개발에 성공했다고 밝혔습니다"),
    "gb2312": ("北京市发布城市交通发展规划，地铁线路明年将继续延长",
               "国家统计局：前三季度国内生产总值同比增长百分之五"),
    "gb18030": ("上海举办国际进口博览会，数千家企业参展签约金额创新高",
                "科学家在青藏高原发现新的冰川融化规律，引发广泛关注"),
    "big5": ("台北市政府宣布擴建捷運路線，完工後每日可服務十萬名乘客",
             "中央銀行維持利率不變，並表示將持續關注物價走勢與房市"),
    "koi8_r": ("Правительство объявило о новых мерах поддержки малого бизнеса",
               "В Москве открылась крупнейшая в стране выставка современного искусства"),
    "tis_620": ("รัฐบาลประกาศมาตรการใหม่เพื่อสนับสนุนธุรกิจขนาดเล็กทั่วประเทศ",
                "กรุงเทพมหานครเตรียมขยายเส้นทางรถไฟฟ้าสายใหม่ในปีหน้า"),
    "cp1255": ("הממשלה הודיעה על צעדים חדשים לתמיכה בעסקים קטנים בפריפריה",
               "חוקרים ישראלים פיתחו שיטה חדשה לזיהוי מוקדם של מחלות לב"),
}


def _undeclared_rss(name: str, titles: tuple[str, str]) -> str:
    """An RSS document with no XML declaration; it is served without a charset either."""
    items = "".join(
        f"<item><guid>{name}-{n}</guid><title>{escape(title)}</title>"
        f"<link>http://example.com/{name}/{n}</link>"
        f"<description>{escape('<p>' + escape(title) + '</p>')}</description>"
        f"<pubDate>Mon, 0{n + 1} Sep 2025 10:00:00 +0000</pubDate></item>"
        for n, title in enumerate(titles))
    return (f'<rss version="2.0"><channel><title>{escape(titles[0][:12])}</title>'
            f"<link>http://example.com/{name}</link>{items}</channel></rss>")


def _c1_free(text: str) -> bool:
    return not any("\x80" <= ch <= "\x9f" for ch in text)


def test_undeclared_encodings_are_detected_and_published_as_their_text(
    project: Path, feed_server: FeedServer
) -> None:
    urls = [feed_server.route(f"/{name}.xml", Response(
        body=_undeclared_rss(name, titles).encode(name), content_type="application/rss+xml"))
        for name, titles in TITLES.items()]
    write_links(project, *urls)
    result = build(load_config(project), settings=FAST)
    assert [o.status for o in result.fetched] == ["ok"] * len(TITLES)
    for outcome in result.fetched:
        # What was declared (nothing) and what was used, never "declared as utf-8".
        assert outcome.message is not None and outcome.message.startswith(
            "declared no encoding and is not UTF-8; read as "), outcome.message
    published = assert_valid_atom(project / "output" / "all.atom")
    titles = {e.title for e in published.entries}
    for name, expected in TITLES.items():
        assert set(expected) <= titles, name
    data = (project / "output" / "all.atom").read_text(encoding="utf-8")
    assert _c1_free(data)


@pytest.mark.parametrize(("body", "content_type"), [
    # Undeclared but valid UTF-8: UTF-8, whatever a detector would guess.
    (_undeclared_rss("utf8", ("Grüße aus Köln", "Ça coûte cher")).encode("utf-8"),
     "application/rss+xml"),
    # Declared and decoding cleanly: trusted, though it also decodes as something else.
    (_undeclared_rss("latin", ("Grüße aus Köln", "Ça coûte cher")).encode("latin-1"),
     "application/rss+xml; charset=iso-8859-1"),
    (b'<?xml version="1.0" encoding="iso-8859-1"?>' + _undeclared_rss(
        "latin", ("Grüße aus Köln", "Ça coûte cher")).encode("latin-1"), "application/rss+xml"),
], ids=["utf-8-undeclared", "http-charset", "xml-declaration"])
def test_utf8_and_declared_encodings_are_read_as_they_are(
    project: Path, feed_server: FeedServer, body: bytes, content_type: str
) -> None:
    write_links(project, feed_server.route("/feed.xml", Response(body=body,
                                                                content_type=content_type)))
    result = build(load_config(project), settings=FAST)
    assert [(o.status, o.message) for o in result.fetched] == [("ok", None)]
    titles = {e.title for e in assert_valid_atom(project / "output" / "all.atom").entries}
    assert titles == {"Grüße aus Köln", "Ça coûte cher"}


def test_c1_controls_are_never_published(project: Path, feed_server: FeedServer) -> None:
    """C1 controls in a local article or a UTF-8 feed, as characters or references, are dropped."""
    body = _undeclared_rss("c1", ("Bell\x85ringer\x9b news", "Quiet &#x90;day")).replace(
        "</description>", escape("\x80\x9f") + "</description>", 1)
    write_links(project, feed_server.route("/c1.xml", Response(body=body.encode("utf-8"),
                                                              content_type="application/rss+xml")))
    (project / "sources" / "articles" / "c1.md").write_text(
        "---\ntitle: \"Harbour\\x85 news\\u0090 today\"\ndate: 2025-09-01\n"
        "description: \"Ships\\x9f arrive\"\n---\n\nThe harbour\x85 opened its new\x9c pier this "
        "morning, and the first ships arrived before noon.\n", encoding="utf-8")
    result = build(load_config(project), settings=FAST)
    assert not result.problems
    data = (project / "output" / "all.atom").read_text(encoding="utf-8")
    entries = assert_valid_atom(project / "output" / "all.atom").entries
    local = next(e for e in entries if e.title.startswith("Harbour"))
    assert (local.title, local.summary) == ("Harbour news today", "Ships arrive")
    assert "The harbour opened its new pier" in local.content[0].value
    assert len(entries) == 3
    assert _c1_free(data)


@pytest.mark.parametrize("content_type", ["application/feed+json",
                                          "application/feed+json; charset=shift_jis"])
def test_a_json_feed_not_in_utf8_is_read_as_declared_or_detected(
    project: Path, feed_server: FeedServer, content_type: str
) -> None:
    titles = TITLES["shift_jis"]
    body = json.dumps({
        "version": "https://jsonfeed.org/version/1.1", "title": "ニュース",
        "items": [{"id": f"j{n}", "title": title, "url": f"http://example.com/j/{n}",
                   "content_text": title} for n, title in enumerate(titles)],
    }, ensure_ascii=False).encode("shift_jis")
    write_links(project, feed_server.route("/feed.json", Response(body=body,
                                                                 content_type=content_type)))
    result = build(load_config(project), settings=FAST)
    [outcome] = result.fetched
    assert outcome.status == "ok"
    if "charset" in content_type:
        assert outcome.message is None
    else:
        assert outcome.message is not None and outcome.message.startswith(
            "declared no encoding and is not UTF-8; read as ")
    published = {e.title for e in assert_valid_atom(project / "output" / "all.atom").entries}
    assert published == set(titles)
