"""Writing the output directory: atomic, idempotent, and tidy.

Each file is written to a temporary name in its own directory and renamed
over the old one, so a feed reader (or a crash) never sees half a feed. A
file whose bytes have not changed is not touched at all, keeping its mtime
and so the HTTP validators a server derives from it. Feeds that are no
longer planned are removed; nothing outside the managed names is touched.
"""

from __future__ import annotations

import contextlib
import errno
import os
from collections.abc import Mapping, Sequence, Set
from dataclasses import dataclass
from pathlib import Path

from ..errors import OutputError

TMP_PREFIX = ".feeds-tmp-"
# Up to this many files, each is synced as it is written; beyond, one flush
# of the whole system costs less than a sync per file.
_SYNC_EACH = 256
# Syncs waited for at once (see `_sync_each`).
_SYNC_THREADS = 8
# Feeds and pages live at these places; anything else in output/ is the user's.
MANAGED_DIRS = ("lang", "tags", "custom", "entries", "archive")
NESTED_DIRS = ("archive",)
MANAGED_SUFFIXES = (".atom", ".rss", ".json", ".html")
MANAGED_TOP = (*(f"all{suffix}" for suffix in MANAGED_SUFFIXES),
               "index.html", "feeds.opml", "style.css")


@dataclass(frozen=True)
class WriteReport:
    """Which output paths (relative, with `/`) were written, left alone, removed."""

    written: tuple[str, ...]
    unchanged: tuple[str, ...]
    removed: tuple[str, ...]


def write_outputs(output_dir: Path, files: Mapping[str, bytes],
                  keep: Set[str] = frozenset()) -> WriteReport:
    """Make `output_dir` hold exactly `files` among the managed paths, beside those `keep` names.

    The files `keep` names are left as they are (counted unchanged): pages a
    rebuild knows to be current without reading them.

    Every changed file is first written in full to a temporary name, and only
    then are they all renamed into place: a full disk or an unwritable folder
    fails before any feed is replaced. Raises OutputError when the directory
    cannot be written. A rename that fails (a folder standing where a feed
    belongs) leaves the files renamed before it replaced and the rest as they
    were: each file is always whole, old or new.
    """
    try:
        output_dir.mkdir(parents=True, exist_ok=True)
        remove_temporary_files(output_dir)
    except OSError as exc:
        raise OutputError(_describe(exc, output_dir)) from exc
    written, unchanged = write_files(output_dir, files)
    try:
        removed = _remove_stale(output_dir, set(files) | keep)
    except OSError as exc:
        raise OutputError(_describe(exc, output_dir)) from exc
    unchanged += sorted(keep - set(files))
    return WriteReport(tuple(written), tuple(unchanged), tuple(removed))


def write_files(output_dir: Path, files: Mapping[str, bytes]) -> tuple[list[str], list[str]]:
    """Write `files` below `output_dir`, each whole: (the paths written, those already so).

    Every changed file is first written in full to a temporary name, then
    all are renamed into place; nothing else is touched. Raises OutputError
    when the directory cannot be written.
    """
    written: list[str] = []
    unchanged: list[str] = []
    staged: list[tuple[str, Path]] = []
    try:
        for rel, data in sorted(files.items()):
            target = output_dir / rel
            if _same_content(target, data):
                unchanged.append(rel)
                continue
            staged.append((rel, _stage(target, data, sync=False)))
        if len(files) > _SYNC_EACH and staged:
            os.sync()  # one flush of them all: a build of pages writes tens of thousands
        else:
            _sync_each([tmp for _, tmp in staged])
        for rel, tmp in staged:
            os.replace(tmp, output_dir / rel)
            written.append(rel)
    except OSError as exc:
        raise OutputError(_describe(exc, output_dir)) from exc
    finally:
        for _, tmp in staged[len(written):]:  # staged but never renamed
            with contextlib.suppress(OSError):
                os.unlink(tmp)
    return written, unchanged


def _sync_each(paths: Sequence[Path]) -> None:
    """Sync each of `paths` to disk, several at once.

    A sync waits for the disk far longer than it uses the processor, and
    the file system commits syncs that wait together in one journal
    transaction: a build's fifty feeds are on disk in a third of the time
    they take one after the other. The threads end here.
    """
    if len(paths) < 2:
        for path in paths:
            _sync(path)
        return
    from concurrent.futures import ThreadPoolExecutor

    with ThreadPoolExecutor(max_workers=min(_SYNC_THREADS, len(paths))) as pool:
        for _ in pool.map(_sync, paths):  # the first failure is raised
            pass


def _sync(path: Path) -> None:
    """Sync the temporary file `path`; a failure names its folder, as `_stage`'s do."""
    try:
        fd = os.open(path, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(path.parent)) from exc


def atomic_write(target: Path, data: bytes) -> None:
    """Replace `target` with `data` so that readers see the old or the new file."""
    tmp = _stage(target, data)
    try:
        os.replace(tmp, target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise


def _stage(target: Path, data: bytes, sync: bool = True) -> Path:
    """`data` written (and with `sync`, synced) to a new temporary file beside `target`; its path.

    A failure to write into the folder names the folder, not the temporary file.
    """
    import tempfile  # only when something is written: a rebuild that changed nothing writes nothing

    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        fd, tmp = tempfile.mkstemp(prefix=TMP_PREFIX, dir=target.parent)
    except OSError as exc:
        raise OSError(exc.errno, exc.strerror, str(target.parent)) from exc
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
            fh.flush()
            if sync:
                os.fsync(fh.fileno())
        os.chmod(tmp, 0o644)
    except BaseException as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        if isinstance(exc, OSError):
            raise OSError(exc.errno, exc.strerror, str(target.parent)) from exc
        raise
    return Path(tmp)


def remove_temporary_files(output_dir: Path) -> None:
    """Delete temporary files a killed writer may have left behind."""
    for folder in (output_dir, *(output_dir / d for d in MANAGED_DIRS)):
        if folder.name in NESTED_DIRS:
            leftovers = list(folder.glob(f"**/{TMP_PREFIX}*"))
        else:
            # A folder of pages holds tens of thousands: names, not Paths.
            try:
                with os.scandir(folder) as found:
                    leftovers = [Path(item.path) for item in found
                                 if item.name.startswith(TMP_PREFIX)]
            except OSError:
                continue  # not there (yet)
        for path in leftovers:
            with contextlib.suppress(OSError):
                path.unlink()


def _same_content(target: Path, data: bytes) -> bool:
    try:
        if target.stat().st_size != len(data):
            return False
        return target.read_bytes() == data
    except OSError:
        return False


def _remove_stale(output_dir: Path, keep: set[str]) -> list[str]:
    removed: list[str] = []
    for name in MANAGED_TOP:
        if name not in keep and (output_dir / name).is_file():
            (output_dir / name).unlink()
            removed.append(name)
    for folder in MANAGED_DIRS:
        directory = output_dir / folder
        if not directory.is_dir():
            continue
        removed += _remove_stale_below(directory, folder, keep, nested=folder in NESTED_DIRS)
    return removed


def _remove_stale_below(directory: Path, rel: str, keep: set[str], nested: bool) -> list[str]:
    """Remove the managed files in `directory` (at `rel`) that `keep` does not name.

    Names, not Paths: a folder of pages holds tens of thousands. Archives
    nest (`archive/lang/zh/2024/06.atom`), so their folders are walked; a
    folder left empty is removed.
    """
    removed: list[str] = []
    with os.scandir(directory) as found:
        # What `keep` names is passed by first: nearly every page of a rebuild.
        items = sorted((item.name, item.is_dir(follow_symlinks=False), item.is_file())
                       for item in found if f"{rel}/{item.name}" not in keep)
    for name, is_dir, is_file in items:
        path = f"{rel}/{name}"
        if is_dir and nested:
            removed += _remove_stale_below(directory / name, path, keep, nested)
        elif is_file and name.endswith(MANAGED_SUFFIXES) and path not in keep:
            os.unlink(directory / name)
            removed.append(path)
    with contextlib.suppress(OSError):
        directory.rmdir()  # only succeeds when empty
    return removed


def _describe(exc: OSError, output_dir: Path) -> str:
    # A failed rename names the temporary file first and the feed in the way
    # second; the temporary file is gone by the time a person reads this.
    where = exc.filename2 or exc.filename or output_dir
    if exc.errno in (errno.EACCES, errno.EPERM, errno.EROFS):
        return f"{where}: cannot write the output directory: permission denied or read-only"
    if exc.errno in (errno.ENOSPC, errno.EDQUOT):
        return f"{where}: cannot write the output directory: no space left on device"
    return f"{where}: cannot write the output directory: {exc.strerror or exc}"
