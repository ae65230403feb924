"""Settings come from the environment; an insecure production combination refuses to start."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from statuspage.settings import INSECURE_DEFAULT_SECRET_KEY, production_safety_errors

ROOT = Path(__file__).resolve().parent.parent
GOOD_KEY = "k" * 50


def run_check(**env_vars):
    env = {
        k: v
        for k, v in os.environ.items()
        if k not in {"DATABASE_URL", "DEBUG", "SECRET_KEY", "ALLOWED_HOSTS", "REDIS_URL"}
    }
    env.update(env_vars)
    return subprocess.run(
        [sys.executable, "manage.py", "check"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_a_local_sqlite_run_with_debug_starts(tmp_path):
    result = run_check(
        DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3",
        DEBUG="1",
        SECRET_KEY=GOOD_KEY,
        ALLOWED_HOSTS="127.0.0.1",
    )
    assert result.returncode == 0, result.stderr


def test_no_variables_at_all_is_the_embedded_default():
    assert run_check().returncode == 0


@pytest.mark.parametrize(
    "env, setting",
    [
        ({"DEBUG": "1", "ALLOWED_HOSTS": "status.example.com"}, "DEBUG"),
        ({"DEBUG": "1", "ALLOWED_HOSTS": "*"}, "ALLOWED_HOSTS"),
        ({"DEBUG": "0", "ALLOWED_HOSTS": "status.example.com"}, "SECRET_KEY is not set"),
        (
            {"DEBUG": "0", "SECRET_KEY": "short", "ALLOWED_HOSTS": "status.example.com"},
            "SECRET_KEY",
        ),
    ],
)
def test_production_refuses_insecure_settings_and_names_them(tmp_path, env, setting):
    result = run_check(DATABASE_URL=f"sqlite:///{tmp_path}/db.sqlite3", **env)
    assert result.returncode != 0
    assert "Refusing to start" in result.stderr and setting in result.stderr


def test_the_safety_rules():
    assert (
        production_safety_errors(debug=False, secret_key=GOOD_KEY, allowed_hosts=["a.example"])
        == []
    )
    assert (
        production_safety_errors(debug=True, secret_key="", allowed_hosts=["127.0.0.1", "[::1]"])
        == []
    )
    assert production_safety_errors(
        debug=False, secret_key=INSECURE_DEFAULT_SECRET_KEY, allowed_hosts=["localhost"]
    )
