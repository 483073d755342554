"""Templates and per-test databases as SQLite files: a template file per key, a copy per test.

A SQLite template is closed and in rollback-journal mode, so its file alone
is the whole database and a clone is a file copy (a few milliseconds). The
template directory is shared by the session's processes (pytest-xdist
workers), which agree on who builds a template with a file lock beside it.
"""

from __future__ import annotations

import asyncio
import fcntl
import itertools
import json
import os
import re
import shutil
import time
from collections.abc import Collection, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path

from echelon_seed.project import Project
from echelon_seed.templates import Clone, DatabaseURL, Seed, Seeder, Template, key, record_from, record_json

__all__ = ["SQLiteTemplates"]


@contextmanager
def _file_lock(path: Path) -> Iterator[None]:
    with path.open("a+b") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class SQLiteTemplates:
    """Template files in a directory shared by the session's processes; clones in a private one."""

    def __init__(self, shared: Path, private: Path, *, seeder: Seeder, ready_ahead: int = 2) -> None:
        self._seeder = seeder
        self._shared = shared
        self._private = private
        self._counter = itertools.count(1)  # next() is atomic: copies are made in threads
        self._ready_ahead = ready_ahead
        # Copies made in a thread while tests run, and removals done there too: off the test's path.
        self._ready: dict[str, list[asyncio.Task[Clone]]] = {}
        self._removing: set[asyncio.Task[None]] = set()

    @property
    def display(self) -> str:
        return f"SQLite files under {self._private}"

    async def ensure(self, project: Project, seed: Seed) -> Template:
        started = time.perf_counter()
        digest = key(project, seed)
        name = f"tpl-{digest[:12]}"
        path = self._shared / f"{name}.db"
        record_path = self._shared / f"{name}.json"
        built = False
        if not path.is_file():
            self._shared.mkdir(parents=True, exist_ok=True)
            with _file_lock(self._shared / f"{name}.lock"):
                if not path.is_file():
                    staging = self._shared / f"{name}.build-{os.getpid()}.db"
                    _remove(staging)
                    try:
                        record = await self._seeder(f"sqlite:///{staging}", project, seed)
                        record_path.write_text(json.dumps(record_json(record)), encoding="utf-8")
                        staging.replace(path)
                    finally:
                        _remove(staging)
                    built = True
        record = record_from(json.loads(record_path.read_text(encoding="utf-8")))
        return Template(
            key=digest,
            name=name,
            url=DatabaseURL(f"sqlite:///{path}"),
            record=record,
            built=built,
            seconds=time.perf_counter() - started,
        )

    def _copy(self, template: Template) -> Clone:
        self._private.mkdir(parents=True, exist_ok=True)
        path = self._private / f"test-{template.key[:8]}-{next(self._counter)}.db"
        # The template is closed and in rollback-journal mode: its file alone is the whole database.
        shutil.copyfile(str(template.url).removeprefix("sqlite:///"), path)
        return Clone(name=path.name, url=DatabaseURL(f"sqlite:///{path}"), template=template)

    async def clone(self, template: Template) -> Clone:
        """A copy of the template, usually made in a thread while the test before ran."""
        ready = self._ready.setdefault(template.key, [])
        clone = await ready.pop(0) if ready else self._copy(template)
        while len(ready) < self._ready_ahead:
            ready.append(asyncio.get_running_loop().create_task(asyncio.to_thread(self._copy, template)))
        return clone

    async def drop(self, clone: Clone) -> None:
        task = asyncio.get_running_loop().create_task(asyncio.to_thread(_remove, self._private / clone.name))
        self._removing.add(task)
        task.add_done_callback(self._removing.discard)

    async def clean(self, project: str, keep: Collection[str]) -> list[str]:
        kept = {f"tpl-{k[:12]}.db" for k in keep}
        dropped = []
        for path in sorted(self._shared.glob("tpl-*.db")):
            if path.name not in kept and re.fullmatch(r"tpl-[0-9a-f]{12}\.db", path.name):
                _remove(path)
                path.with_suffix(".json").unlink(missing_ok=True)
                dropped.append(path.name)
        return dropped

    async def close(self) -> None:
        """Remove the copies made ahead; wait for the removals under way."""
        for tasks in self._ready.values():
            for task in tasks:
                with suppress(Exception):
                    _remove(self._private / (await task).name)
        self._ready.clear()
        while self._removing:
            await asyncio.gather(*self._removing, return_exceptions=True)


def _remove(path: Path) -> None:
    """A SQLite database file and whatever journal it left."""
    for suffix in ("", "-journal", "-wal", "-shm"):
        Path(f"{path}{suffix}").unlink(missing_ok=True)
