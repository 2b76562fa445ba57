"""Maintainer commands. ``nox -s docs`` builds the textbook, ``nox -s tests`` runs the tests.

Every session installs what it needs into its own virtual environment, so a
fresh machine needs only Python and nox. PyTorch is pinned to the CPU build
that lies on this project's machines (override with ``PROBMODS_TORCH``).
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"

ROOT = Path(__file__).parent
TORCH = os.environ.get("PROBMODS_TORCH", "torch==2.13.0")
# Keep builds reproducible and bounded on small machines.
ENV = {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg"}


def _install(session, extras: str) -> None:
    session.install(TORCH)
    session.install("-e", f".[{extras}]")


@nox.session
def tests(session):
    """Run the test suite (pytest, hypothesis)."""
    _install(session, "test")
    session.run("pytest", *session.posargs, env=ENV)


@nox.session
def docs(session):
    """Execute every example and build the HTML textbook into docs/_build/html.

    ``nox -s docs -- fresh`` deletes previous outputs first, so every example runs again.
    """
    _install(session, "docs")
    build = ROOT / "docs" / "_build" / "html"
    if "fresh" in session.posargs:
        for path in ("docs/_build", "docs/auto_examples", "docs/gen_modules", "docs/api/generated"):
            shutil.rmtree(ROOT / path, ignore_errors=True)
    session.run(
        "sphinx-build",
        "-W",
        "--keep-going",
        "-b",
        "html",
        "docs",
        str(build),
        env=ENV,
    )
    session.log(f"The textbook is in {build}. Open {build / 'index.html'} in a browser,")
    session.log(f"or serve it: python -m http.server -d {build} 8000  (then http://localhost:8000)")


@nox.session
def bench(session):
    """Speed benchmarks, each measured side by side with its reference in one run."""
    _install(session, "test")
    session.run("python", "benchmarks/run.py", *session.posargs, env=ENV)


@nox.session
def lint(session):
    """Static checks with ruff."""
    session.install("ruff>=0.6")
    session.run("ruff", "check", ".")
