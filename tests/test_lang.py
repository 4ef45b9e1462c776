"""Language detection among the configured languages."""

from __future__ import annotations

import pytest

from feeds.lang import detect_language, letter_count

ZH_EN = ("zh", "en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("这座新建的储能电站今年春天在西北地区正式并网，可以在用电高峰时段提供电力。", "zh"),
        ("The new storage plant joined the grid this spring and supplies power at peak hours.", "en"),
        ("苹果发布新款 iPhone", "zh"),
        # CLD2 ranks Indonesian first for this title; only zh and en are choices.
        ("Kubernetes 1.30 发布", "zh"),
        ("這座新建的儲能電站今年春天在西北地區正式併網", "zh"),  # Traditional script is zh too
    ],
)
def test_detects_among_the_configured_languages(text: str, expected: str) -> None:
    assert detect_language(text, ZH_EN) == expected


def test_the_first_language_when_unsure_or_alone() -> None:
    assert detect_language("12345 !!! 2025-01-01", ZH_EN) == "zh"  # no letters
    assert detect_language("Das ist ein deutscher Satz über das Wetter.", ZH_EN) == "zh"
    assert detect_language("Das ist ein deutscher Satz über das Wetter.", ("de", "en")) == "de"
    assert detect_language("An English sentence about the weather.", ("en",)) == "en"
    assert detect_language("An English sentence about the weather.", ("fr", "en")) == "en"


def test_regional_codes_match_by_their_language() -> None:
    text = "這座新建的儲能電站今年春天在西北地區正式併網，可以在用電高峰時段提供電力。"
    assert detect_language(text, ("en", "zh-hant")) == "zh-hant"
    assert detect_language(text, ("en", "zh-hans", "zh-hant")) == "zh-hant"  # exact code first
    assert detect_language("这座新建的储能电站今年春天在西北地区正式并网。", ("en", "zh-cn")) == "zh-cn"


@pytest.mark.parametrize("odd", ["\x00", "\x07", "\x7f", "\x85", "\ufffe", "\ud800", "\U0010ffff"])
def test_characters_the_detector_refuses_do_not_break_it(odd: str) -> None:
    text = f"The new storage plant {odd} joined the grid this spring and supplies power."
    assert detect_language(text, ("zh", "en")) == "en"


def test_letter_count_stops_at_enough() -> None:
    assert letter_count("ab 12 cd", enough=3) == 3
    assert letter_count("12 !! --") == 0
    assert letter_count("储能") == 2
