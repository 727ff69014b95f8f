"""A fork server for the tests' uvicorn and command-line processes: the platform imported once, each a fork of it.

Importing the platform (FastAPI, SQLAlchemy, pandas, scipy, shapely, pyproj, alembic...) is about 3.5 s of CPU,
some two thirds of a server's start; the suite starts dozens of servers. A fork of a process that has done the
imports is the same program a fresh `python -m uvicorn jobs.server:app` would run: it reads its settings from its
own environment when it imports `jobs.server` (nothing the fork server imports reads the environment or creates
an engine), and it is a real process that tests kill -9 and restart like any other.

Run as `python -m tests.server_forks` by `ServerForks`; requests and answers are JSON lines on stdin/stdout.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

# Kept light: a spawned child of a forked server (the batch pool, the report maker) imports the main module of
# its parent by name, and this is that module.


def _exit_with_parent() -> None:
    """Ask the kernel to kill this process when the process that started it dies."""
    import ctypes

    libc = ctypes.CDLL("libc.so.6", use_errno=True)
    libc.prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG


def _redirect(fd: int, path: str | None, flags: int) -> None:
    """Point file descriptor `fd` at `path` (the null device when None)."""
    opened = os.open(path or os.devnull, flags, 0o600)
    os.dup2(opened, fd)
    os.close(opened)


def _serve(request: dict) -> None:
    """In the forked child: become `python -m uvicorn <argv>` (or `python -m jobs.cli <argv>`) with the request's
    environment and standard streams; never returns."""
    code = 1
    try:
        _exit_with_parent()
        _redirect(0, request.get("stdin"), os.O_RDONLY)
        _redirect(1, request.get("stdout"), os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        _redirect(2, request["log"], os.O_WRONLY | os.O_CREAT | os.O_APPEND)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        import numpy as np

        np.random.seed()  # the fork server's global stream would otherwise be every server's
        if request.get("program") == "cli":
            import runpy

            # As `python -m jobs.cli`: the module run afresh as __main__ (its imports are the warm ones).
            sys.argv = ["jobs.cli", *request["argv"]]
            runpy.run_module("jobs.cli", run_name="__main__", alter_sys=True)
            code = 0
        else:
            from uvicorn.main import main

            sys.argv = ["uvicorn", *request["argv"]]
            main.main(args=request["argv"], prog_name="uvicorn", standalone_mode=False)
            code = 0
    except SystemExit as stop:
        if stop.code is None or isinstance(stop.code, int):
            code = stop.code or 0
        else:  # sys.exit("message"): Python prints it and exits 1
            print(stop.code, file=sys.stderr)
            code = 1
    except BaseException:  # noqa: BLE001 - reported in the server's log like an uncaught error would be
        import traceback

        traceback.print_exc()
    finally:
        for stream in (sys.stdout, sys.stderr):
            with contextlib.suppress(OSError, ValueError):
                stream.flush()
        os._exit(code)


def main() -> None:
    """Import the platform, then answer start/poll requests until stdin closes (its test process ended).

    Not tied to its parent with PR_SET_PDEATHSIG as its forks are: that signal follows the parent *thread*, and the
    test thread that happened to start this process may end long before the test process does (taking every
    server forked since with it). The end of stdin is the test process's end, whatever thread started it.
    """
    import uvicorn.main  # noqa: F401

    import api.app  # noqa: F401 - the imports every server needs, done once
    import jobs.cli
    import jobs.scheduler  # noqa: F401

    # What `python -m jobs.cli` imports stays; jobs.cli itself goes: each command child runs it afresh as __main__
    # (runpy warns of a module it is asked to run that is already imported).
    del sys.modules["jobs.cli"]

    out = sys.stdout
    statuses: dict[int, int] = {}
    for line in sys.stdin:
        request = json.loads(line)
        if request["op"] == "start":
            pid = os.fork()
            if pid == 0:
                _serve(request)
            out.write(json.dumps({"pid": pid}) + "\n")
        elif request["op"] == "poll":
            pid = request["pid"]
            if pid not in statuses:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    statuses[pid] = os.waitstatus_to_exitcode(status)
            out.write(json.dumps({"returncode": statuses.get(pid)}) + "\n")
        out.flush()


class ForkedServer:
    """A server process forked by the fork server: the part of `subprocess.Popen` the tests use."""

    def __init__(self, forks: ServerForks, pid: int, log_path: Path) -> None:
        self._forks = forks
        self.pid = pid
        self.log_path = log_path
        self.returncode: int | None = None

    def poll(self) -> int | None:
        """The exit code once the process has ended, else None."""
        if self.returncode is None:
            self.returncode = self._forks.returncode(self.pid)
        return self.returncode

    def send_signal(self, sig: int) -> None:
        """Send a signal, unless the process has ended (its pid may be another's by then)."""
        if self.poll() is None:
            os.kill(self.pid, sig)

    def kill(self) -> None:
        """SIGKILL."""
        self.send_signal(signal.SIGKILL)

    def terminate(self) -> None:
        """SIGTERM."""
        self.send_signal(signal.SIGTERM)

    def wait(self, timeout: float | None = None) -> int:
        """Wait for the exit code; subprocess.TimeoutExpired after `timeout` seconds."""
        from tests.waiting import WaitTimeout, wait_until

        try:
            wait_until(lambda: self.poll() is not None, timeout=1e9 if timeout is None else timeout, interval=0.02)
        except WaitTimeout:
            raise subprocess.TimeoutExpired(f"pid {self.pid}", timeout) from None
        return self.returncode  # type: ignore[return-value]


class ServerForks:
    """The fork server of this test process, started on first use and ended with it."""

    def __init__(self, root: Path) -> None:
        self._root = root
        self._proc: subprocess.Popen | None = None
        self._lock = threading.Lock()

    def _ask(self, request: dict) -> dict:
        with self._lock:
            if self._proc is None or self._proc.poll() is not None:
                env = os.environ.copy()
                env.pop("PYTHONDONTWRITEBYTECODE", None)
                self._proc = subprocess.Popen(
                    [sys.executable, "-m", "tests.server_forks"], cwd=self._root, env=env,
                    stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, bufsize=1,
                )
            assert self._proc.stdin is not None and self._proc.stdout is not None
            self._proc.stdin.write(json.dumps(request) + "\n")
            answer = self._proc.stdout.readline()
        if not answer:
            raise RuntimeError("the test server fork process ended")
        return json.loads(answer)

    def start(self, argv: list[str], *, env: dict[str, str], cwd: Path, log_path: Path, program: str = "uvicorn",
              stdin: Path | None = None, stdout: Path | None = None) -> ForkedServer:
        """A process running `uvicorn <argv>` (program "cli": `python -m jobs.cli <argv>`) in `cwd` with exactly
        `env` as its environment, standard error appended to `log_path`, standard input and output from and to the
        files given (the null device otherwise)."""
        answer = self._ask({"op": "start", "program": program, "argv": argv, "env": env, "cwd": str(cwd),
                            "log": str(log_path), "stdin": stdin and str(stdin), "stdout": stdout and str(stdout)})
        return ForkedServer(self, answer["pid"], log_path)

    def returncode(self, pid: int) -> int | None:
        """The exit code of a forked server, or None while it runs."""
        return self._ask({"op": "poll", "pid": pid})["returncode"]


if __name__ == "__main__":
    main()
