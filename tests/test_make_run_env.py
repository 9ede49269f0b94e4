"""`make run` writes a `.env` with DEBUG=true into the checkout; the test settings must not read
it, or `make run` followed by `make test` tested a DEBUG build (the API schema, public under
DEBUG, then failed tests/sandbox/test_sandbox_security.py)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PROBE = """
import environ
def as_if_dot_env_said_debug(*args, **kwargs):
    import os
    os.environ.setdefault("DEBUG", "true")
environ.Env.read_env = staticmethod(as_if_dot_env_said_debug)
import {module} as s
print(s.DEBUG)
"""


def _debug(module: str, testing: bool) -> str:
    env = {k: v for k, v in os.environ.items() if k not in ("DEBUG", "COLOPHON_TESTING")}
    env["SECRET_KEY"] = "probe-secret-key-probe-secret-key-probe-secret-key"
    if testing:
        env["COLOPHON_TESTING"] = "true"
    out = subprocess.run(
        [sys.executable, "-c", PROBE.format(module=module)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    return out.stdout.strip().splitlines()[-1]


def test_the_test_settings_ignore_the_checkouts_dot_env():
    assert _debug("config.settings_test", testing=False) == "False"


def test_manage_py_still_reads_it():
    assert _debug("config.settings", testing=False) == "True"
