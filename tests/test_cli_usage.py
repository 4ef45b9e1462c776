"""The command line in the hands of a person who makes mistakes: real subprocesses.

Closed pipes, a wrong --root, options before the command, a port in use, a
terminal 80 columns wide, a page announcing a comment feed first: each must
end in one clear line or the right choice, never a traceback.
"""

from __future__ import annotations

import errno
import fcntl
import os
import pty
import re
import select
import socket
import struct
import subprocess
import sys
import termios
import time
from datetime import date
from pathlib import Path

import pytest
from atomcheck import assert_valid_atom, assert_valid_output
from conftest import CliRunner, add_fixture, child_env, write_links
from feedserver import FeedServer, Response
from remote_feeds import atom, rss

from feeds.config import _CUSTOM_KEYS, _TOP_KEYS, CONFIG_NAME, load_config
from feeds.skeleton import skeleton_files

ITEMS = [("i1", "Quantum sensors leave the lab", "Sensors measure gravity.")]


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in child_env().items() if k not in ("COLUMNS", "LINES")}
    return dict(env, **extra)


def _feeds(*args: str) -> list[str]:
    return [sys.executable, "-m", "feeds", *args]


def _one_line(stderr: str) -> str:
    """The single line of `stderr`; fails if there are more or a traceback."""
    assert "Traceback" not in stderr, stderr
    lines = stderr.splitlines()
    assert len(lines) == 1, stderr
    return lines[0]


# --- Closed pipes ---------------------------------------------------------


@pytest.mark.parametrize(("args", "status"), [(["sources"], 1), (["export"], 1),
                                              (["--help"], 0)])  # argparse ignores the error
def test_output_into_a_closed_pipe_ends_quietly(project: Path, args: list[str],
                                                status: int) -> None:
    """`feeds sources | head -1`: the reader has gone; no traceback, no 'Exception ignored'."""
    write_links(project, *(f"http://127.0.0.1:9/feed{i}" for i in range(50)))
    read_end, write_end = os.pipe()
    os.close(read_end)  # the reader has gone before feeds writes a byte
    try:
        result = subprocess.run(_feeds(*args), cwd=project, env=_env(), stdout=write_end,
                                stderr=subprocess.PIPE, text=True, timeout=60, check=False)
    finally:
        os.close(write_end)
    assert result.stderr == ""
    assert result.returncode == status


# --- --root ---------------------------------------------------------------


@pytest.mark.parametrize("command", ["build", "fetch", "sources", "check"])
@pytest.mark.parametrize("kind", ["missing", "empty"])
def test_root_that_is_no_project_is_refused(run_cli: CliRunner, tmp_path: Path,
                                            command: str, kind: str) -> None:
    root = tmp_path / "typo"
    if kind == "empty":
        root.mkdir()
    result = run_cli(command, "--root", str(root), cwd=tmp_path)
    assert result.returncode == 2
    line = _one_line(result.stderr)
    assert line.startswith(f"feeds: {root}: ")
    assert f"feeds init {root}" in line
    # Nothing made up on the spot: no folder, no store, no output.
    assert (not root.exists()) if kind == "missing" else list(root.iterdir()) == []


def test_a_config_file_or_a_sources_folder_makes_a_project(run_cli: CliRunner,
                                                          tmp_path: Path) -> None:
    with_config = tmp_path / "a"
    with_config.mkdir()
    (with_config / CONFIG_NAME).write_text('title = "A"\n', encoding="utf-8")
    assert run_cli("check", "--root", str(with_config), cwd=tmp_path).returncode == 0
    with_sources = tmp_path / "b"
    (with_sources / "sources").mkdir(parents=True)
    assert run_cli("check", "--root", str(with_sources), cwd=tmp_path).returncode == 0


# --- Options before the command -----------------------------------------------


def test_global_options_before_the_command(run_cli: CliRunner, project: Path,
                                           tmp_path: Path) -> None:
    add_fixture(project, "only-required.md")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    result = run_cli("--root", str(project), "--quiet", "build", cwd=elsewhere)
    assert result.returncode == 0, result.stderr
    assert result.stdout == ""
    assert [e.title for e in assert_valid_atom(project / "output" / "all.atom").entries] == [
        "Only the required fields"]
    # After the command it still works, and wins over the one before it.
    listed = run_cli("--root", str(elsewhere), "sources", "--root", str(project), cwd=tmp_path)
    assert listed.returncode == 0, listed.stderr
    assert "no sources configured" in listed.stdout


# --- feeds init -----------------------------------------------------------------


def test_init_makes_a_project_that_builds_and_never_overwrites(run_cli: CliRunner,
                                                               tmp_path: Path) -> None:
    site = tmp_path / "site"
    made = run_cli("init", str(site), cwd=tmp_path)
    assert made.returncode == 0, made.stderr
    assert f"--root {site} build" in made.stdout
    built = run_cli("--root", str(site), "build", "--strict", cwd=tmp_path)
    assert built.returncode == 0, built.stderr
    assert built.stderr == ""
    feeds = assert_valid_output(site / "output")
    assert sorted(feeds) == ["all.atom", "lang/en.atom", "lang/zh.atom",
                             "tags/community.atom", "tags/示例.atom"]
    [zh] = feeds["lang/zh.atom"].entries
    [en] = feeds["lang/en.atom"].entries
    assert zh.title.startswith("示例摘要") and "维修站" in zh.content[0].value
    assert en.title.startswith("Sample digest") and "bicycle" in en.content[0].value
    # Each variant links its page; the original article is linked beside it.
    assert re.fullmatch(r"http://127\.0\.0\.1:8080/entries/[\d-]+-sample-digest\.zh\.html", zh.link)
    assert en.link == zh.link.replace(".zh.html", ".en.html")
    assert [ln.href for ln in zh.links if ln.rel == "related"] == [
        "https://news.example.org/bike-repair"]
    assert zh.author == "desk" and {t.term for t in zh.tags} == {"示例", "community"}

    (site / CONFIG_NAME).write_text('title = "Mine"\n', encoding="utf-8")
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    again = run_cli("init", str(site), cwd=tmp_path)
    assert again.returncode == 2
    assert "never overwrites" in _one_line(again.stderr)
    assert {p: p.read_bytes() for p in site.rglob("*") if p.is_file()} == before


def test_init_refuses_when_one_file_exists_and_writes_none(run_cli: CliRunner,
                                                            tmp_path: Path) -> None:
    (tmp_path / CONFIG_NAME).write_text('title = "Mine"\n', encoding="utf-8")
    result = run_cli("init", cwd=tmp_path)
    assert result.returncode == 2
    assert f"{CONFIG_NAME} already exists" in _one_line(result.stderr)
    assert sorted(p.name for p in tmp_path.iterdir()) == [CONFIG_NAME]


def test_init_configuration_documents_every_key_with_a_valid_value(tmp_path: Path) -> None:
    """Uncommenting every example line of the new feeds.toml gives a valid configuration."""
    text = skeleton_files(date(2026, 1, 2))[CONFIG_NAME]
    example = re.compile(r"^# (\[\[custom\]\]|[a-z_]+ = .*)$")
    uncommented = [m.group(1) for line in text.splitlines() if (m := example.match(line))]
    custom_at = uncommented.index("[[custom]]")
    keys = {line.split(" = ")[0] for line in uncommented[:custom_at]}
    assert keys | {"custom"} == set(_TOP_KEYS)
    assert {line.split(" = ")[0] for line in uncommented[custom_at + 1:]} == set(_CUSTOM_KEYS)
    (tmp_path / CONFIG_NAME).write_text("\n".join(uncommented) + "\n", encoding="utf-8")
    config = load_config(tmp_path)
    assert config.subtitle == "Daily digest" and [c.name for c in config.custom] == ["ai-zh"]
    (tmp_path / "plain").mkdir()
    (tmp_path / "plain" / CONFIG_NAME).write_text(text, encoding="utf-8")
    assert load_config(tmp_path / "plain").title == "feeds"  # all commented: the defaults


# --- fetch --strict -------------------------------------------------------------


def test_fetch_strict_exits_1_when_a_source_failed(run_cli: CliRunner, project: Path,
                                                   feed_server: FeedServer) -> None:
    good = feed_server.route("/good", Response(body=rss(ITEMS)))
    bad = feed_server.route("/bad", Response(status=404, body="gone fishing"))
    write_links(project, good)
    assert run_cli("fetch", "--strict", cwd=project).returncode == 0
    write_links(project, good, bad)
    lenient = run_cli("fetch", cwd=project)
    assert lenient.returncode == 0 and f"{bad}: " in lenient.stderr
    strict = run_cli("fetch", "--strict", "--build", cwd=project)
    assert strict.returncode == 1
    assert f"{bad}: " in strict.stderr and "Traceback" not in strict.stderr
    titles = [e.title for e in assert_valid_atom(project / "output" / "all.atom").entries]
    assert titles == ["Quantum sensors leave the lab"]


# --- feeds add with several announced feeds ------------------------------------


def _blog(feed_server: FeedServer) -> tuple[str, str, str]:
    """A page announcing its comment feed first (Atom), then its main feed (RSS)."""
    main = feed_server.route("/blog/feed/", Response(body=rss(ITEMS, title="Blog")))
    comments = feed_server.route("/blog/comments/feed/", Response(
        body=atom([("c1", "Re: sensors", "Nice.")], title="Comments on Blog")))
    page = feed_server.route("/blog/", Response(
        content_type="text/html; charset=utf-8",
        body='<html><head>'
             '<link rel="alternate" type="application/atom+xml" title="Blog &raquo; Comments '
             'Feed" href="comments/feed/">'
             '<link rel="alternate" type="application/rss+xml" title="Blog &raquo; Feed" '
             'href="feed/"></head><body>hi</body></html>'))
    return page, main, comments


def _links(project: Path) -> str:
    return (project / "sources" / "links.toml").read_text(encoding="utf-8")


def test_add_prefers_the_main_feed_and_lists_every_candidate(
    project: Path, feed_server: FeedServer
) -> None:
    page, main, comments = _blog(feed_server)
    result = subprocess.run(_feeds("add", page), cwd=project, env=_env(), stdin=subprocess.DEVNULL,
                            capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert f"1. Blog » Feed  {main}  <- chosen" in result.stdout
    assert f"2. Blog » Comments Feed  {comments}" in result.stdout
    assert "--pick N" in result.stdout
    assert f'url = "{main}"' in _links(project) and comments not in _links(project)


def test_add_pick_chooses_and_a_wrong_pick_lists_the_choices(
    run_cli: CliRunner, project: Path, feed_server: FeedServer
) -> None:
    page, main, comments = _blog(feed_server)
    wrong = run_cli("add", page, "--pick", "3", cwd=project)
    assert wrong.returncode == 2
    line = _one_line(wrong.stderr)
    assert f"1. Blog » Feed {main}" in line and f"2. Blog » Comments Feed {comments}" in line
    assert not (project / "sources" / "links.toml").exists()
    picked = run_cli("add", page, "--pick", "2", cwd=project)
    assert picked.returncode == 0, picked.stderr
    assert f'url = "{comments}"' in _links(project) and main not in _links(project)


def test_add_asks_at_a_terminal(project: Path, feed_server: FeedServer) -> None:
    page, main, comments = _blog(feed_server)
    master, slave = pty.openpty()
    try:
        proc = subprocess.Popen(_feeds("add", page), cwd=project, env=_env(), stdin=slave,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        os.write(master, b"2\n")
        out, err = proc.communicate(timeout=60)
    finally:
        os.close(slave)
        os.close(master)
    assert proc.returncode == 0, err
    assert "add which one?" in out
    assert f'url = "{comments}"' in _links(project) and main not in _links(project)


# --- The progress line ----------------------------------------------------------


def _read_pty(master: int, proc: subprocess.Popen[bytes], timeout: float) -> bytes:
    """All a child wrote to the pty until it exited (EIO once the slave is closed)."""
    data = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        ready, _, _ = select.select([master], [], [], 0.2)
        if ready:
            try:
                chunk = os.read(master, 65536)
            except OSError as exc:
                if exc.errno == errno.EIO:
                    break
                raise
            if not chunk:
                break
            data += chunk
        elif proc.poll() is not None:
            break
    proc.wait(timeout=max(deadline - time.monotonic(), 1))
    return data


def test_progress_line_fits_an_80_column_terminal(project: Path,
                                                   feed_server: FeedServer) -> None:
    urls = [feed_server.route(f"/{'long-path-' * 12}{i}", Response(body=rss(ITEMS)))
            for i in range(3)]
    write_links(project, *urls)
    master, slave = pty.openpty()
    fcntl.ioctl(slave, termios.TIOCSWINSZ, struct.pack("HHHH", 24, 80, 0, 0))
    try:
        proc = subprocess.Popen(_feeds("fetch"), cwd=project, env=_env(), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=slave)
        os.close(slave)
        written = _read_pty(master, proc, 60).decode()
    finally:
        os.close(master)
    assert proc.returncode == 0
    pieces = re.split(r"[\r\n]+", written)
    assert any(p.startswith("fetching 3/3: ok http://127.0.0.1:") for p in pieces), written
    assert max(len(p) for p in pieces) < 80, [p for p in pieces if len(p) >= 80]


# --- Serving on a port that cannot be had -----------------------------------------


SERVING = pytest.mark.parametrize("command", [["serve"], ["run", "--serve"]])


@SERVING
def test_serve_on_a_port_in_use_is_one_line(run_cli: CliRunner, project: Path,
                                            command: list[str]) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        port = holder.getsockname()[1]
        result = run_cli(*command, "--port", str(port), cwd=project, timeout=30)
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert f"127.0.0.1:{port}" in line and "in use" in line and "--port" in line


@SERVING
@pytest.mark.parametrize("port", ["70000", "-1", "0"])
def test_serve_on_a_port_out_of_range_is_one_line(run_cli: CliRunner, project: Path,
                                                  command: list[str], port: str) -> None:
    result = run_cli(*command, "--port", port, cwd=project, timeout=30)
    assert result.returncode == 2
    assert f"--port {port} is out of range" in _one_line(result.stderr)


# --- Unexpected OSError -----------------------------------------------------------


def test_an_unexpected_os_error_is_one_line_and_debug_shows_it(run_cli: CliRunner,
                                                                project: Path) -> None:
    add_fixture(project, "only-required.md")
    (project / ".feeds").write_text("a file where the store's folder belongs\n", encoding="utf-8")
    result = run_cli("build", cwd=project)
    assert result.returncode == 1
    line = _one_line(result.stderr)
    assert f"{project / '.feeds'}: File exists" in line and "--debug" in line
    debug = run_cli("build", "--debug", cwd=project)
    assert debug.returncode == 1
    assert "Traceback" in debug.stderr and "FileExistsError" in debug.stderr


# --- The index page ----------------------------------------------------------------


def test_index_counts_entries_in_words_and_speaks_the_first_language(
    run_cli: CliRunner, project: Path
) -> None:
    # The plain list of feeds written without pages (the front page has its own tests).
    (project / CONFIG_NAME).write_text('languages = ["en", "zh"]\npages = false\n',
                                       encoding="utf-8")
    add_fixture(project, "only-required.md")
    assert run_cli("build", cwd=project).returncode == 0
    assert_valid_output(project / "output")
    page = (project / "output" / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in page
    assert "(1 entry)" in page and "1 entries" not in page
    add_fixture(project, "bilingual.md")
    assert run_cli("build", cwd=project).returncode == 0
    page = (project / "output" / "index.html").read_text(encoding="utf-8")
    assert re.search(r"all\.json\">[^<]*</a> <small>\(2 entries\)", page), page
