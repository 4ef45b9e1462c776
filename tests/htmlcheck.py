"""The W3C's HTML checker (the Nu Html Checker, vnu) on every page and stylesheet a test writes.

html5lib tells whether a page parses; vnu is what the W3C's validator runs,
and it also refuses what parses but breaks a rule of HTML: a `<time
datetime>` with six digits of a second, `<pre lang="python">`, a heading
that skips a level. It runs as a local HTTP service (its own server mode,
bound to 127.0.0.1 on a free port), started once a test run on the first
page to check and stopped by its PID at the end: a page then takes a few
milliseconds rather than a Java start.

vnu comes from the npm registry (package `vnu-jar`, which `.ci/run`
installs into `.ci/vnu`) and needs Java; `FEEDS_VNU_JAR` names another
copy of `vnu.jar`.
"""

from __future__ import annotations

import json
import os
import shutil
import socket
import subprocess
import time
from pathlib import Path

import httpx

REPO = Path(__file__).resolve().parent.parent
_JAR = REPO / ".ci" / "vnu" / "node_modules" / "vnu-jar" / "build" / "dist" / "vnu.jar"
_TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8"}


def vnu_jar() -> Path | None:
    """The checker's jar, when it and Java are here."""
    jar = Path(os.environ.get("FEEDS_VNU_JAR") or _JAR)
    return jar if jar.is_file() and shutil.which("java") else None


class HtmlChecker:
    """vnu's server, started on the first check and stopped by `stop`."""

    def __init__(self, jar: Path, log: Path, start_with: list[str]) -> None:
        """`start_with` is put before the Java command line (a wrapper that stops it with the run)."""
        self.jar = jar
        self.log = log
        self.start_with = start_with
        self.process: subprocess.Popen[bytes] | None = None
        self.url = ""
        self.client = httpx.Client(timeout=60, trust_env=False)

    @property
    def pid(self) -> int | None:
        """The server's process, once started."""
        return None if self.process is None else self.process.pid

    def problems(self, path: Path) -> list[str]:
        """What vnu finds wrong with the page or stylesheet at `path`, as `path:line: message`."""
        self._start()
        answer = self.client.post(f"{self.url}?out=json", content=path.read_bytes(),
                                  headers={"Content-Type": _TYPES[path.suffix]})
        answer.raise_for_status()
        found = []
        for message in json.loads(answer.content)["messages"]:
            # All but plain information: errors of the page or of the checking, and
            # warnings (vnu sends those as "info" with a subtype).
            if message["type"] != "info" or message.get("subType") == "warning":
                found.append(f"{path}:{message.get('lastLine', '?')}: {message['type']}: "
                             f"{message.get('message', '')} [{message.get('extract', '')!r}]")
        return found

    def _start(self) -> None:
        if self.process is not None:
            return
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        self.url = f"http://127.0.0.1:{port}/"
        with self.log.open("wb") as log:
            self.process = subprocess.Popen(
                [*self.start_with, shutil.which("java") or "java", "-Xmx512m", "-Xss8m",
                 "-Dnu.validator.servlet.bind-address=127.0.0.1", "-cp", str(self.jar),
                 "nu.validator.servlet.Main", str(port)],
                stdout=log, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + 90
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"vnu stopped at its start: {self.log.read_text(errors='replace')}")
            try:
                if self.client.get(self.url).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"vnu did not answer on {self.url} within 90 s")

    def stop(self) -> None:
        self.client.close()
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
