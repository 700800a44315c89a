"""Chores in one place. Sessions reuse the one development environment (.venv), so torch is
installed once (`bash scripts/setup_env.sh`); `nox -s tests` runs one session per distribution.

    .venv/bin/nox -l                 # list sessions
    .venv/bin/nox -s lint typecheck  # ruff + mypy (strict on every distribution)
    .venv/bin/nox -s tests           # every distribution, one session each
    .venv/bin/nox -s docs            # build the docs site, warnings as errors
    .venv/bin/nox -s bench           # benchmarks (not part of the default run)
"""

from __future__ import annotations

import glob
import os
from pathlib import Path

import nox

ROOT = Path(__file__).parent
VENV_BIN = ROOT / ".venv" / "bin"
nox.options.sessions = ["lint", "typecheck", "tests", "docs"]
nox.options.default_venv_backend = "none"

DISTRIBUTIONS = {"core": "core"} | {
    Path(p).parent.name: str(Path(p).parent) for p in sorted(glob.glob("plugins/*/pyproject.toml"))
}


def _env(session: nox.Session) -> dict[str, str]:
    session.run("bash", "scripts/setup_env.sh", external=True)
    return {"PATH": f"{VENV_BIN}{os.pathsep}{os.environ.get('PATH', '')}", "VIRTUAL_ENV": str(ROOT / ".venv")}


@nox.session
def lint(session: nox.Session) -> None:
    env = _env(session)
    session.run("ruff", "check", "core", "plugins", "tests", "benchmarks", external=True, env=env)


@nox.session
def typecheck(session: nox.Session) -> None:
    env = _env(session)
    session.run("mypy", external=True, env=env)


@nox.session
@nox.parametrize("dist", list(DISTRIBUTIONS))
def tests(session: nox.Session, dist: str) -> None:
    env = _env(session)
    paths = ["core/tests", "tests"] if dist == "core" else [DISTRIBUTIONS[dist]]
    session.run("python", "-m", "pytest", *paths, *session.posargs, external=True, env=env, success_codes=[0, 5])


@nox.session
def docs(session: nox.Session) -> None:
    env = _env(session)
    session.run("python", "docs/gen_reference.py", "--check", external=True, env=env)
    session.run("mkdocs", "build", "--strict", "--site-dir", "site", external=True, env=env)


@nox.session
def docs_regen(session: nox.Session) -> None:
    """Regenerate the CLI and registry reference pages."""
    env = _env(session)
    session.run("python", "docs/gen_reference.py", external=True, env=env)


@nox.session(default=False)
def bench(session: nox.Session) -> None:
    env = _env(session)
    for script in sorted(glob.glob("benchmarks/*.py")):
        session.run("python", script, *session.posargs, external=True, env=env)
