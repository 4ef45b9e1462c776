"""The command line as a user runs it: a real subprocess, real files."""

from __future__ import annotations

from pathlib import Path

import pytest
from atomcheck import assert_valid_atom
from conftest import CliRunner, add_fixture


def test_help_and_version(run_cli: CliRunner, tmp_path: Path) -> None:
    result = run_cli("--help", cwd=tmp_path)
    assert result.returncode == 0
    for command in ("build", "check", "fetch", "sources", "add", "import", "export"):
        assert command in result.stdout
    build_help = run_cli("build", "--help", cwd=tmp_path)
    assert "--strict" in build_help.stdout and "--offline" in build_help.stdout
    version = run_cli("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith("feeds ")


def test_build_prints_a_summary_and_writes_feeds(run_cli: CliRunner, shipped_project: Path) -> None:
    result = run_cli("build", cwd=shipped_project)
    assert result.returncode == 0, result.stderr
    assert "read " in result.stdout and "feeds" in result.stdout and "0 problems" in result.stdout
    assert_valid_atom(shipped_project / "output" / "all.atom")
    again = run_cli("build", cwd=shipped_project)
    assert " 0 files written" in again.stdout


def test_problems_exit_0_but_1_with_strict(run_cli: CliRunner, project: Path) -> None:
    add_fixture(project, "bad-date.md", "only-required.md")
    result = run_cli("build", cwd=project)
    assert result.returncode == 0
    assert "sources/articles/bad-date.md:" in result.stderr
    assert "'yesterday' is not a date" in result.stderr
    assert "Traceback" not in result.stderr
    assert_valid_atom(project / "output" / "all.atom")
    strict = run_cli("build", "--strict", "--quiet", cwd=project)
    assert strict.returncode == 1
    assert strict.stdout == ""


def test_configuration_error_exits_2(run_cli: CliRunner, project: Path) -> None:
    (project / "feeds.toml").write_text("entries_per_feed = -1\n", encoding="utf-8")
    result = run_cli("build", cwd=project)
    assert result.returncode == 2
    assert "feeds.toml: 'entries_per_feed' must be a positive integer" in result.stderr
    assert not (project / "output").exists()


def test_unknown_language_code_is_a_configuration_error(run_cli: CliRunner, project: Path) -> None:
    (project / "feeds.toml").write_text('languages = ["en", "xx"]\n', encoding="utf-8")
    for command in ("build", "check"):
        result = run_cli(command, cwd=project)
        assert result.returncode == 2, command
        assert "feeds.toml: 'languages' holds 'xx', not a known language code" in result.stderr
        assert "Traceback" not in result.stderr
    assert not (project / "output").exists()


def test_root_option_and_check_writes_nothing(run_cli: CliRunner, project: Path,
                                              tmp_path: Path) -> None:
    add_fixture(project, "only-required.md", "no-title.md")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("check", "--root", str(project), cwd=elsewhere)
    assert result.returncode == 1
    assert "no-title.md:1: missing required 'title'" in result.stderr
    assert not (project / "output").exists() and not (project / ".feeds").exists()
    built = run_cli("build", "--root", str(project), cwd=elsewhere)
    assert built.returncode == 0
    assert (project / "output" / "all.atom").is_file()


def test_sources_as_json_hold_every_field_readably(
        backend: str, project: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """`feeds sources --json`: every field of every source, text as written, a field a line."""
    import json
    from dataclasses import asdict

    from conftest import write_links

    from feeds.cli import main
    from feeds.config import load_config
    from feeds.pipeline import open_store

    write_links(project, "http://a.example/", "http://b.example/")
    with open_store(load_config(project)) as store:
        store.ensure_sources(["http://a.example/", "http://b.example/"])
        store.update_source("http://b.example/", {"title": "Café ☕", "error_count": 2})
        states = store.sources()
    assert main(["--root", str(project), "sources", "--json"]) == 0
    text = capsys.readouterr().out
    # How each is fetched follows its state: here, as every source is by default.
    how = {"proxy": "environment", "user_agent": None, "headers": None, "cookies": None,
           "auth": None, "retry_after_scope": "site"}
    assert json.loads(text) == [asdict(s) | how for s in states]
    assert '"title": "Café ☕"' in text  # not \u escapes
    lines = text.splitlines()
    assert lines[:3] == ["[", "  {", '    "key": "http://a.example/",']
    assert len(lines) == 2 + len(states) * (len(asdict(states[0])) + len(how) + 2)
