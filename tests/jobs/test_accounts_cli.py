"""`sigap user add` and the demo accounts, on both backends."""

from __future__ import annotations

import io
import uuid

import pytest

from jobs.cli import main
from store.accounts import DEMO_ACCOUNTS, User, authenticate, ensure_demo_accounts


def test_user_add_from_stdin_never_prints_password(configured, monkeypatch, capsys) -> None:
    name = f"op-{uuid.uuid4().hex[:6]}"
    monkeypatch.setattr("sys.stdin", io.StringIO("Rahasia-Sekali-99\n"))
    assert main(["user", "add", name, "--role", "dispatcher", "--password-stdin"]) == 0
    out = capsys.readouterr()
    assert "Rahasia-Sekali-99" not in out.out + out.err and name in out.out
    user = authenticate(configured.sessions, username=name, password="Rahasia-Sekali-99")
    assert user is not None and user.role == "dispatcher"


def test_user_add_refuses_weak_password_and_bad_role(configured, monkeypatch, capsys) -> None:
    monkeypatch.setattr("sys.stdin", io.StringIO("pendek\n"))
    assert main(["user", "add", "lemah", "--role", "planner", "--password-stdin"]) == 2
    assert "10" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["user", "add", "x", "--role", "raja", "--password-stdin"])


def test_user_add_prompts_twice(configured, monkeypatch) -> None:
    answers = iter(["Sandi-Pertama-11", "Sandi-Kedua-22"])
    monkeypatch.setattr("getpass.getpass", lambda prompt="": next(answers))
    assert main(["user", "add", "ragu", "--role", "leader"]) == 2


def test_demo_accounts_log_in(database) -> None:
    with database.sessions() as s:
        first = ensure_demo_accounts(s)
        s.commit()
        again = ensure_demo_accounts(s)
        s.commit()
        assert first == again and {r for _, r, _ in first} == {"dispatcher", "planner", "leader", "admin"}
        for username, _role, password, *_ in [(u, r, p) for u, r, _f, p in DEMO_ACCOUNTS]:
            user = authenticate(database.sessions, username=username, password=password)
            assert isinstance(user, User) and user.demo
