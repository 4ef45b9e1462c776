"""Make root obey file modes, so a read-only directory can be tested as root too.

Switching to 'nobody' is the usual way, but the interpreter may live under a
directory only root may enter; dropping the capabilities that let root ignore
file modes makes root itself respect a 0555 directory, which is the same
test of feeds.
"""

from __future__ import annotations

import ctypes
import os
import subprocess
import sys
from pathlib import Path

PR_CAPBSET_DROP = 24
# The capabilities that let root ignore file modes.
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER = 1, 2, 3


def obey_file_modes() -> None:
    """preexec_fn: drop root's power to ignore file modes for the child (and what it runs).

    A capability dropped from the bounding set is gone from the program the
    child executes, so this works for subprocesses only, not in-process.
    """
    if os.geteuid() != 0:
        return
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH, CAP_FOWNER):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP)")


def read_only_is_enforced(folder: Path) -> bool:
    """Whether a child that called `obey_file_modes` is refused writing into `folder`."""
    probe = folder / "probe"
    result = subprocess.run([sys.executable, "-c", f"open({str(probe)!r}, 'x')"],
                            preexec_fn=obey_file_modes, capture_output=True, check=False)
    probe.unlink(missing_ok=True)
    return result.returncode != 0 and b"PermissionError" in result.stderr
