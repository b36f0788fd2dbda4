"""A throwaway PostgreSQL cluster for the tests: Debian's server binaries, a free loopback port, trust auth."""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
from pathlib import Path

from sqlalchemy import create_engine, text

from tests.ports import free_port

USER = "hotline"


def server_binaries() -> Path | None:
    """The newest installed server's bin directory (`make postgres` installs one)."""
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda path: int(Path(path).parts[-3]))
    return Path(found[-1]).parent if found else None


def _as_postgres(command: list[str]) -> list[str]:
    """PostgreSQL refuses to run as root; use its own account when we are root."""
    return ["runuser", "-u", "postgres", "--", *command] if os.geteuid() == 0 else command


class PostgresCluster:
    """initdb + pg_ctl in a temporary directory under /tmp (which the postgres account can reach)."""

    def __init__(self, bin_dir: Path) -> None:
        self.bin_dir = bin_dir
        self.port = free_port()
        self.root = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.root / "data"
        if os.geteuid() == 0:
            shutil.chown(self.root, "postgres")

    def _run(self, *command: str, check: bool = True) -> None:
        result = subprocess.run(_as_postgres([str(self.bin_dir / command[0]), *command[1:]]),
                                capture_output=True, text=True)
        if check and result.returncode:
            raise RuntimeError(f"{command[0]} failed ({result.returncode}): {result.stderr or result.stdout}")

    def start(self) -> None:
        self._run("initdb", "-D", str(self.data), "-U", USER, "--auth=trust")
        # Nothing here needs to survive a crash: no fsync, so copying and seeding databases stays fast.
        self._run("pg_ctl", "-D", str(self.data), "-w", "-l", str(self.root / "log"), "-o",
                  f"-p {self.port} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off"
                  " -c synchronous_commit=off -c full_page_writes=off", "start")

    def stop(self) -> None:
        """Immediately: the data is thrown away, so no shutdown checkpoint is worth waiting for."""
        self._run("pg_ctl", "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql+psycopg://{USER}@127.0.0.1:{self.port}/{database}"

    def create_database(self, name: str, template: str | None = None) -> str:
        """A new database (a cheap copy of `template` when given, which nobody may be connected to)."""
        engine = create_engine(self.url(), isolation_level="AUTOCOMMIT")
        try:
            with engine.connect() as connection:
                connection.execute(text(f'CREATE DATABASE "{name}"' + (f' TEMPLATE "{template}"' if template else "")))
        finally:
            engine.dispose()
        return self.url(name)
