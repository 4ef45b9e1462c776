"""The output writer on real files: atomic, idempotent, tidy, and clear when it cannot write."""

from __future__ import annotations

import errno
import stat
from pathlib import Path

import pytest

from feeds.errors import OutputError
from feeds.publish.write import TMP_PREFIX, WriteReport, _describe, atomic_write, write_outputs

FILES = {"all.atom": b"<feed>all</feed>", "index.html": b"<html></html>",
         "lang/zh.atom": b"<feed>zh</feed>", "tags/ai.atom": b"<feed>ai</feed>"}


def _tree(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def test_a_missing_output_folder_is_made_with_its_parents(tmp_path: Path) -> None:
    out = tmp_path / "site" / "public" / "www"
    report = write_outputs(out, FILES)
    assert report == WriteReport(written=tuple(sorted(FILES)), unchanged=(), removed=())
    assert _tree(out) == FILES


def test_written_files_are_readable_by_everyone(tmp_path: Path) -> None:
    """A web server running as another user must be able to read the feeds."""
    write_outputs(tmp_path, FILES)
    for rel in FILES:
        assert stat.S_IMODE((tmp_path / rel).stat().st_mode) == 0o644, rel


def test_unchanged_files_are_reported_and_not_touched(tmp_path: Path) -> None:
    write_outputs(tmp_path, FILES)
    before = {rel: (tmp_path / rel).stat().st_mtime_ns for rel in FILES}
    changed = dict(FILES, **{"lang/zh.atom": b"<feed>zh 2</feed>"})
    report = write_outputs(tmp_path, changed)
    assert report == WriteReport(written=("lang/zh.atom",),
                                 unchanged=("all.atom", "index.html", "tags/ai.atom"), removed=())
    assert (tmp_path / "all.atom").stat().st_mtime_ns == before["all.atom"]


def test_stale_feeds_are_removed_and_the_users_files_kept(tmp_path: Path) -> None:
    write_outputs(tmp_path, FILES)
    (tmp_path / "notes.txt").write_bytes(b"mine")
    (tmp_path / "tags" / "readme.txt").write_bytes(b"mine too")
    # No language feed this time (so lang/ goes) and no index page.
    report = write_outputs(tmp_path, {"all.atom": FILES["all.atom"],
                                      "tags/ml.atom": b"<feed>ml</feed>"})
    assert report.removed == ("index.html", "lang/zh.atom", "tags/ai.atom")
    assert _tree(tmp_path) == {"all.atom": FILES["all.atom"], "tags/ml.atom": b"<feed>ml</feed>",
                               "notes.txt": b"mine", "tags/readme.txt": b"mine too"}
    assert not (tmp_path / "lang").exists()


def test_stale_tag_feeds_go_even_when_there_is_no_language_folder(tmp_path: Path) -> None:
    write_outputs(tmp_path, {"all.atom": b"a", "tags/ai.atom": b"t", "custom/x.atom": b"c"})
    report = write_outputs(tmp_path, {"all.atom": b"a"})
    assert report.removed == ("tags/ai.atom", "custom/x.atom")


def test_temporary_files_a_killed_writer_left_are_removed(tmp_path: Path) -> None:
    write_outputs(tmp_path, FILES)
    leftovers = [tmp_path / f"{TMP_PREFIX}abc", tmp_path / "lang" / f"{TMP_PREFIX}x1",
                 tmp_path / "tags" / f"{TMP_PREFIX}y2"]
    for path in leftovers:
        path.write_bytes(b"half a feed")
    (tmp_path / "tags" / "tmp-notes").write_bytes(b"not ours")
    write_outputs(tmp_path, FILES)
    assert not any(path.exists() for path in leftovers)
    assert (tmp_path / "tags" / "tmp-notes").exists()


def test_a_file_in_place_of_a_folder_is_a_clear_error_and_nothing_is_replaced(
    tmp_path: Path,
) -> None:
    write_outputs(tmp_path, FILES)
    before = _tree(tmp_path)
    (tmp_path / "custom").write_bytes(b"a file where a folder belongs")
    with pytest.raises(OutputError) as caught:
        write_outputs(tmp_path, dict(FILES, **{"all.atom": b"new", "custom/x.atom": b"x"}))
    message = str(caught.value)
    assert message.startswith(f"{tmp_path / 'custom'}: cannot write the output directory: ")
    assert _tree(tmp_path) == dict(before, custom=b"a file where a folder belongs")
    assert not list(tmp_path.rglob(TMP_PREFIX + "*"))


def test_atomic_write_makes_missing_folders(tmp_path: Path) -> None:
    target = tmp_path / "a" / "b" / "c.txt"
    atomic_write(target, b"data")
    atomic_write(target, b"new data")
    assert target.read_bytes() == b"new data"
    assert list(target.parent.iterdir()) == [target]


@pytest.mark.parametrize(("code", "says"), [
    (errno.EACCES, "permission denied or read-only"),
    (errno.EPERM, "permission denied or read-only"),
    (errno.EROFS, "permission denied or read-only"),
    (errno.ENOSPC, "no space left on device"),
    (errno.EDQUOT, "no space left on device"),
    (errno.EIO, "Input/output error"),
])
def test_write_errors_are_described_for_a_person(code: int, says: str) -> None:
    named = OSError(code, "Input/output error" if code == errno.EIO else "x", "/srv/out/lang")
    assert _describe(named, Path("/srv/out")) == (
        f"/srv/out/lang: cannot write the output directory: {says}")
    unnamed = OSError(code, "Input/output error" if code == errno.EIO else "x")
    assert _describe(unnamed, Path("/srv/out")).startswith("/srv/out: cannot write")


def test_a_write_that_fails_names_the_folder_and_leaves_no_temporary_file(
    tmp_path: Path,
) -> None:
    """A file size limit (like a full disk) stops the write; old feeds stay, no debris."""
    import resource
    import signal

    write_outputs(tmp_path, FILES)
    before = _tree(tmp_path)
    bigger = dict(FILES, **{"lang/zh.atom": b"<feed>" + b"z" * 64_000 + b"</feed>"})
    soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
    old_handler = signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # EFBIG instead of a signal
    resource.setrlimit(resource.RLIMIT_FSIZE, (32_000, hard))
    try:
        with pytest.raises(OutputError) as caught:
            write_outputs(tmp_path, bigger)
    finally:
        resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
        signal.signal(signal.SIGXFSZ, old_handler)
    assert str(caught.value) == (
        f"{tmp_path / 'lang'}: cannot write the output directory: File too large")
    assert _tree(tmp_path) == before
    assert not list(tmp_path.rglob(TMP_PREFIX + "*"))


def test_a_folder_in_place_of_a_feed_is_named_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    """The rename into place fails: the message names the feed in the way, not a vanished temporary file."""
    write_outputs(tmp_path, FILES)
    (tmp_path / "lang" / "zh.atom").unlink()
    (tmp_path / "lang" / "zh.atom").mkdir()
    changed = {rel: data + b" 2" for rel, data in FILES.items()}
    with pytest.raises(OutputError) as caught:
        write_outputs(tmp_path, changed)
    assert str(caught.value) == (
        f"{tmp_path / 'lang' / 'zh.atom'}: cannot write the output directory: Is a directory")
    # Feeds after it in the order of renaming were staged, never renamed, and are cleaned up.
    assert (tmp_path / "tags" / "ai.atom").read_bytes() == FILES["tags/ai.atom"]
    assert not list(tmp_path.rglob(TMP_PREFIX + "*"))


def test_atomic_write_that_cannot_rename_raises_and_leaves_no_temporary_file(tmp_path: Path) -> None:
    target = tmp_path / "links.toml"
    target.mkdir()
    with pytest.raises(IsADirectoryError):
        atomic_write(target, b"data")
    assert list(tmp_path.iterdir()) == [target]
