"""Which local articles a feed could show: the only ones parsed in full."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from feeds.config import Config
from feeds.model import ArticleHead
from feeds.publish.select import ShownChooser, articles_to_show

T0 = datetime(2025, 1, 1, tzinfo=UTC)


def _heads(count: int, **fields: object) -> list[ArticleHead]:
    """`count` heads, a day apart: `a00` is the oldest."""
    return [ArticleHead(f"a{n:02}", T0 + timedelta(days=n), **fields)  # type: ignore[arg-type]
            for n in range(count)]


def test_the_all_feed_wants_its_newest() -> None:
    config = Config(Path("."), pages=False, families=("all",), entries_per_feed=3)
    assert articles_to_show(_heads(10), {}, config) == {"a09", "a08", "a07"}
    assert articles_to_show(_heads(2), {}, config) == {"a00", "a01"}


def test_a_tag_wants_its_newest_and_as_many_as_it_needs_to_count() -> None:
    heads = [*_heads(10, tags=("grid",)),
             ArticleHead("b", T0, ("Wind",)), ArticleHead("c", T0 - timedelta(days=1), ("wind!",))]
    config = Config(Path("."), pages=False, families=("tags",), entries_per_feed=2)
    # Tags sharing a slug share a feed: `Wind` and `wind!` are one.
    assert articles_to_show(heads, {}, config) == {"a09", "a08", "b", "c"}
    config = Config(Path("."), pages=False, families=("tags",), entries_per_feed=2, min_tag_entries=4)
    assert articles_to_show(heads, {}, config) == {"a09", "a08", "a07", "a06", "b", "c"}


def test_language_feeds_read_on_until_they_know_enough() -> None:
    config = Config(Path("."), pages=False, families=("lang",), entries_per_feed=2)
    heads = _heads(10)
    # Nothing parsed yet: the newest two, of unknown language, may serve both.
    assert articles_to_show(heads, {}, config) == {"a09", "a08"}
    # Both turn out Chinese: English reads further back.
    zh: dict[str, tuple[str, ...]] = {"a09": ("zh",), "a08": ("zh",)}
    assert articles_to_show(heads, zh, config) == {"a09", "a08", "a07", "a06"}
    # All Chinese: English has fewer than a feed shows, and reads everything.
    every = {h.id: ("zh",) for h in heads[1:]}
    assert articles_to_show(heads, every, config) == {"a09", "a08", "a00"}
    # A declared language needs no parse: French takes the newest two declared,
    # when it is configured; otherwise it has no feed to be shown in.
    declared = [*heads, ArticleHead("fr1", T0, lang="fr"), ArticleHead("fr2", T0, lang="fr"),
                ArticleHead("fr3", T0 - timedelta(days=1), lang="fr")]
    both = {h.id: ("zh", "en") for h in heads}
    assert articles_to_show(declared, both, config) == {"a09", "a08"}
    french = Config(Path("."), pages=False, families=("lang",), entries_per_feed=2,
                    languages=("zh", "en", "fr"))
    assert articles_to_show(declared, both, french) == {"a09", "a08", "fr1", "fr2"}
    # A feed of a language takes its varieties: traditional Chinese is in zh's.
    hant = {h.id: ("zh-Hant",) for h in heads}
    assert articles_to_show(heads, hant, Config(Path("."), pages=False, families=("lang",),
                                                entries_per_feed=2, languages=("zh",))) == {"a09", "a08"}


def test_custom_feeds_filter_on_what_the_front_matter_says() -> None:
    from feeds.config import CustomFeed
    from feeds.model import EntryFilter

    heads = [*_heads(6, authors=("desk",)), ArticleHead("x", T0, authors=("guest",))]
    custom = CustomFeed("guests", "Guests", EntryFilter(authors=frozenset({"guest"})))
    config = Config(Path("."), pages=False, families=(), entries_per_feed=2, custom=(custom,))
    assert articles_to_show(heads, {}, config) == {"x"}


def test_a_tag_shown_once_still_wants_its_newest() -> None:
    heads = [*_heads(10, tags=("grid",)),
             ArticleHead("b", T0, ("Wind",)), ArticleHead("c", T0 - timedelta(days=1), ("wind!",))]
    config = Config(Path("."), pages=False, families=("tags",), entries_per_feed=1)
    assert articles_to_show(heads, {}, config) == {"a09", "b"}


def test_a_declared_language_keeps_an_article_out_of_other_languages_feeds() -> None:
    """Known to be German by its front matter, it need not be parsed for zh or en."""
    heads = [*_heads(3), ArticleHead("de1", T0 + timedelta(days=30), lang="de")]
    zh = {h.id: ("zh",) for h in heads[:3]}
    config = Config(Path("."), pages=False, families=("lang",), entries_per_feed=2)
    assert articles_to_show(heads, zh, config) == {"a02", "a01"}


def test_a_language_feed_takes_every_variety_of_its_language() -> None:
    from feeds.publish.select import lang_matches

    assert lang_matches("zh", "zh-Hant-TW") and lang_matches("zh", "ZH-hant")
    assert lang_matches("zh-hant", "zh-Hant") and not lang_matches("zh-hant", "zh-Hans")
    assert not lang_matches("en", "eng") and not lang_matches("zh", "en")


def test_with_pages_every_article_is_parsed_for_a_page_of_its_own() -> None:
    """A page is permanent: an article no feed shows any more still has one."""
    config = Config(Path("."), families=("all",), entries_per_feed=3)
    assert config.pages
    assert articles_to_show(_heads(10), {}, config) == {f"a{n:02d}" for n in range(10)}


def test_the_rounds_of_one_read_choose_as_each_would_alone() -> None:
    """A chooser orders the heads once for the rounds of a read, and anew for other heads."""
    config = Config(Path("."), pages=False, families=("all", "lang", "tags"), entries_per_feed=2)
    heads = [*_heads(6, tags=("grid",)), *_heads(4, tags=("wind",))[::-1]]
    chooser = ShownChooser(config)
    rounds: list[dict[str, tuple[str, ...]]] = [
        {}, {"a05": ("zh",), "a04": ("zh",)}, {h.id: ("zh",) for h in heads[1:]}]
    for languages in rounds:
        assert chooser(heads, languages) == articles_to_show(heads, languages, config)
    # Other heads (a later read): not the order of the first ones.
    later = [ArticleHead("new", T0 + timedelta(days=30)), *_heads(3)]
    assert chooser(later, {}) == articles_to_show(later, {}, config) == {"new", "a02"}
    newer = [*later[1:], ArticleHead("newest", T0 + timedelta(days=40))]
    assert chooser(newer, {}) == {"newest", "a02"}
