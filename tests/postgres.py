"""A throwaway PostgreSQL server for the tests: ``initdb`` into a temporary folder, ``pg_ctl start`` on a Unix
socket in that folder (no TCP port), torn down with the folder. As root, the server runs as the ``postgres``
user (PostgreSQL refuses to run as root); otherwise as the current user.

The binaries are found on PATH or in Debian's ``/usr/lib/postgresql/VERSION/bin``; ``.ci/run`` installs
Debian's ``postgresql`` when they are missing.
"""
from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path
from typing import Any


def bindir() -> Path | None:
    """The folder of ``initdb`` and ``pg_ctl`` (None when PostgreSQL is not installed)."""
    found = shutil.which("initdb")  # (often a link into Debian's folder, which has the other tools)
    candidates = [Path(found).resolve().parent] if found else []
    candidates += [Path(p).parent for p in sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"),
                                                  key=lambda p: int(p.split("/")[4]), reverse=True)]
    tools = ("initdb", "pg_ctl", "createdb")
    return next((d for d in candidates if all((d / t).is_file() for t in tools)), None)


class Server:
    """A running PostgreSQL server; ``url(name)`` is the SQLAlchemy URL of a database made by ``create(name)``."""

    def __init__(self) -> None:
        found = bindir()
        if found is None:
            raise RuntimeError("PostgreSQL is not installed (on Debian: apt-get install postgresql)")
        self.bin = found
        self.folder = Path(tempfile.mkdtemp(prefix="pg", dir="/tmp"))  # short: socket paths are limited
        self.run_as: dict[str, Any] = {}
        if os.geteuid() == 0:
            import pwd

            user = pwd.getpwnam("postgres")
            os.chown(self.folder, user.pw_uid, user.pw_gid)
            self.run_as = {"user": user.pw_uid, "group": user.pw_gid, "extra_groups": []}
        self.folder.chmod(0o755)
        data = self.folder / "data"
        self._run("initdb", "-D", str(data), "-A", "trust", "-U", "postgres", "-E", "UTF8", "--no-sync")
        self._run("pg_ctl", "-D", str(data), "-l", str(self.folder / "log"), "-w", "-t", "60", "-o",
                  f"-k {self.folder} -c listen_addresses='' -c fsync=off", "start")
        self.started = True

    def _run(self, tool: str, *args: str) -> None:
        proc = subprocess.run([str(self.bin / tool), *args], capture_output=True, text=True, cwd=self.folder,
                              timeout=120, **self.run_as)
        if proc.returncode != 0:
            log = self.folder / "log"
            raise RuntimeError(f"{tool} failed ({proc.returncode}): {proc.stdout[-2000:]}{proc.stderr[-2000:]}"
                               + (log.read_text()[-2000:] if log.exists() else ""))

    def create(self, name: str) -> str:
        """Create the database ``name``; returns its SQLAlchemy URL (psycopg 3, over the Unix socket)."""
        self._run("createdb", "-h", str(self.folder), "-U", "postgres", name)
        return self.url(name)

    def url(self, name: str) -> str:
        return f"postgresql+psycopg://postgres@/{name}?host={self.folder}"

    def stop(self) -> None:
        """Stop the server and remove its folder."""
        if getattr(self, "started", False):
            self._run("pg_ctl", "-D", str(self.folder / "data"), "-m", "immediate", "-w", "stop")
            self.started = False
        shutil.rmtree(self.folder, ignore_errors=True)
