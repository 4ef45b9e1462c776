"""Language detection: the real language, with the script for Chinese."""

from __future__ import annotations

import pytest

from feeds.text.lang import detect, detect_language, known_language, letter_count

ZH_EN = ("zh", "en")


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("这座新建的储能电站今年春天在西北地区正式并网，可以在用电高峰时段提供电力。", "zh"),
        ("The new storage plant joined the grid this spring and supplies power at peak hours.", "en"),
        ("苹果发布新款 iPhone", "zh"),
        # CLD2 ranks Indonesian first for this title; only zh and en are choices.
        ("Kubernetes 1.30 发布", "zh"),
        # Traditional script is Chinese too, and says so.
        ("這座新建的儲能電站今年春天在西北地區正式併網", "zh-Hant"),
        ("中文正文……", "zh"),  # shared characters: the configured (simplified) zh
    ],
)
def test_detects_the_configured_languages(text: str, expected: str) -> None:
    assert detect_language(text, ZH_EN) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Die Bundesregierung hat neue Maßnahmen zur Unterstützung kleiner Unternehmen "
         "beschlossen.", "de"),
        ("В Москве открылась крупнейшая в стране выставка современного искусства.", "ru"),
        ("Le gouvernement a annoncé de nouvelles mesures pour soutenir les petites entreprises.",
         "fr"),
        ("東京都が新しい防災計画を発表し、避難所の数を大幅に増やす方針を示しました。", "ja"),
        ("서울시는 내년부터 대중교통 요금을 인상한다고 발표했습니다.", "ko"),
    ],
)
def test_text_in_a_language_not_configured_keeps_its_language(text: str, expected: str) -> None:
    found = detect(text, ZH_EN)
    assert (found.lang, found.reliable) == (expected, True)
    assert detect_language(text, ("en",)) == expected  # alone, a language is no excuse


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("东京都发布", "zh"),
        ("東京で会議", "ja"),
        ("서울 소식", "ko"),
        ("Привет мир", "ru"),
        ("مرحبا بالعالم", "ar"),
        ("שלום עולם", "he"),
        ("สวัสดีชาวโลก", "th"),
        ("Γειά σου κόσμε", "el"),
    ],
)
def test_short_texts_fall_back_on_their_script(text: str, expected: str) -> None:
    assert detect_language(text, ("en", "fr")) == expected


def test_short_latin_text_takes_a_configured_latin_language() -> None:
    assert detect_language("12345 !!! 2025-01-01", ZH_EN) == "zh"  # no letters: the first
    assert detect_language("Guten Morgen", ZH_EN) == "en"  # not the Chinese default
    assert detect_language("Brief 3", ("fr", "en")) == "en"
    assert detect_language("An English sentence about the weather.", ("en",)) == "en"
    assert detect_language("An English sentence about the weather.", ("fr", "en")) == "en"


@pytest.mark.parametrize(("code", "known"), [
    ("zh", True), ("en", True), ("zh-hant", True), ("zh-tw", True), ("he", True), ("haw", True),
    ("xx", False), ("xx-arab", False), ("", False), ("english", False), ("z1", False),
])
def test_known_language_codes(code: str, known: bool) -> None:
    assert known_language(code) is known


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
