"""Maintainer commands. ``nox -s docs`` builds the textbook, ``nox -s tests`` runs the tests.

Every session installs what it needs into its own virtual environment, so a
fresh machine needs only Python and nox. PyTorch is pinned to the CPU build
that lies on this project's machines (override with ``PROBMODS_TORCH``).
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import nox

nox.options.sessions = ["lint", "tests", "docs"]
nox.options.reuse_venv = "yes"
nox.options.default_venv_backend = "venv"

ROOT = Path(__file__).parent
sys.path.insert(0, str(ROOT / "tools"))
from kernels import pinned_env  # noqa: E402  (tools/kernels.py)

TORCH = os.environ.get("PROBMODS_TORCH", "torch==2.13.0")
# Keep builds reproducible and bounded on small machines.
# PYTHONDONTWRITEBYTECODE empty: Python writes the bytecode of what it imports (see _pip).
ENV = {"PYTHONHASHSEED": "0", "MPLBACKEND": "Agg", "PYTHONDONTWRITEBYTECODE": ""}
# Sessions that compute the pages' numbers also pin the numerical libraries to their AVX2
# kernels, so that every x86-64 machine with AVX2 prints the same numbers (tools/kernels.py).
NUMERIC = {**ENV, **pinned_env()}


def _pip(session, *args) -> None:
    """``pip install`` without byte-compiling every installed file (PyTorch alone is about
    5,000; 30 s of a 40 s install on this project's machines): the first import writes the
    bytecode of the modules actually used (ENV lets it), about 1,200 for PyTorch and NumPy."""
    session.install("--no-compile", *args)


def _install(session, extras: str) -> None:
    _pip(session, TORCH)
    _pip(session, "-e", f".[{extras}]")


@nox.session
def tests(session):
    """Run the test suite (pytest, hypothesis)."""
    _install(session, "test")
    # pytest-xdist: PROBMODS_DOCS_JOBS workers (else the cores, at most 4), one thread each
    # (1.4x on 2 cores: 58 s vs 83 s); options after ``--`` go to pytest (``-n 0``: one process)
    session.run("pytest", "-n", str(_jobs()), *session.posargs, env={**NUMERIC, **ONE_THREAD})


@nox.session
def docs(session):
    """Execute every example and build the HTML textbook into docs/_build/html.

    Options after ``--``: ``fresh`` deletes previous outputs first; ``offline``
    builds inside a network namespace with no interfaces (``unshare -n``, needs
    root), proving that the build makes no network request.
    """
    _install(session, "docs")
    build = ROOT / "docs" / "_build" / "html"
    if "fresh" in session.posargs:
        for path in ("docs/_build", "docs/auto_examples", "docs/gen_modules", "docs/api/generated"):
            shutil.rmtree(ROOT / path, ignore_errors=True)
    # The site publishes the package itself, so that a reader can install it from the
    # landing page; built offline from this checkout (docs/conf.py copies it into the site).
    wheels = ROOT / "docs" / "_build" / "wheel"
    shutil.rmtree(wheels, ignore_errors=True)
    # setuptools reuses build/lib: a module deleted or moved since (estimation.py became a package)
    # would otherwise still ship in the wheel
    shutil.rmtree(ROOT / "build", ignore_errors=True)
    _pip(session, "setuptools>=69", "wheel")
    session.run("python", "-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir",
                str(wheels), str(ROOT))
    cmd = ["sphinx-build", "-W", "--keep-going", "-b", "html", "docs", str(build)]
    if "offline" in session.posargs:
        if shutil.which("unshare") is None:
            session.error("the offline build needs unshare (util-linux)")
        cmd = ["unshare", "--net", "--", *cmd]
        session.log("building with no network: unshare --net")
    session.run(*cmd, env=NUMERIC, external=True)
    session.log(f"The textbook is in {build}. Open {build / 'index.html'} in a browser,")
    session.log(f"or serve it: python -m http.server -d {build} 8000  (then http://localhost:8000)")


@nox.session
def bench(session):
    """Speed benchmarks, each measured side by side with its reference in one run."""
    _install(session, "test")
    session.run("python", "benchmarks/run.py", *session.posargs, env=ENV)


@nox.session(name="train-ebm")
def train_ebm(session):
    """Train the MNIST energy model and export the shipped weights (hours; checkpoints and resumes).

    Runs ``python -m probmods.ebm.train`` into ``ebm-training/`` (resuming from its
    checkpoint), then averages the EMA snapshots named in ``ebm-training/SHIPPED``
    into ``probmods/ebm/weights/energy.pt`` and copies the training log.
    Options after ``--`` go to the training script (e.g. ``--hours 1``).
    """
    _install(session, "test")
    shipped = (ROOT / "ebm-training" / "SHIPPED").read_text().split()
    iterations = max(int(Path(name).stem.split("-")[1]) for name in shipped)
    session.run("python", "-m", "probmods.ebm.train", "--iterations", str(iterations), "--out", "ebm-training",
                "--threads", "1", *session.posargs, env=NUMERIC)
    session.run("python", "-m", "probmods.ebm.pretrained", "--energy",
                *[f"ebm-training/{name}" for name in shipped], "--log", "ebm-training/checkpoint.pt", env=NUMERIC)


@nox.session
def browser(session):
    """Serve the built site on localhost and check it in headless Chromium (needs /usr/bin/chromium).

    Console errors, failed requests, images, typeset math and search, with screenshots
    in docs/_build/screenshots. Run ``nox -s docs`` first.
    """
    _pip(session, "playwright>=1.40")
    session.run("python", "tools/browser_check.py", *session.posargs, env=ENV)


@nox.session
def downloads(session):
    """Run the examples as a reader would: the landing page's three lines, in a fresh environment.

    The wheel is the file that the built landing page links (``index.html``), installed
    (not editable) into a fresh environment; the scripts are the site's download files
    (``_downloads/*/plot_*.py``, what the buttons at the bottom of each page serve), each
    run as ``python plot_x.py`` from an empty temporary directory with the repository out
    of reach, so an example that depends on a file of the repository or on the working
    directory fails here. Scripts run in parallel (``PROBMODS_DOCS_JOBS`` workers, one
    thread each).

    First, every script's imports are resolved in that environment
    (``tools/check_imports.py``, seconds). Then ``nox -s downloads`` runs every script, and
    ``nox -s downloads -- one-per-module`` only the examples of ``MINIMUM_EXAMPLES`` (one per
    library module, the pretrained weights' loader among them). ``.ci/run`` takes the second:
    its docs build has just run every one of these files (the session checks that the
    downloads are the gallery's scripts, byte for byte), so what is left to check is what
    that build cannot see: the installed wheel, the runtime dependencies alone and an empty
    directory.
    """
    import re

    site = ROOT / "docs" / "_build" / "html"
    index = site / "index.html"
    if not index.exists():
        session.error("no built site: run `nox -s docs` first")
    links = sorted(set(re.findall(r'href="([^"]+\.whl)"', index.read_text(encoding="utf-8"))))
    if len(links) != 1:
        session.error(f"expected one wheel link on the landing page, found {links}")
    wheel = (site / links[0]).resolve()
    if not wheel.is_file() or site.resolve() not in wheel.parents:
        session.error(f"the landing page links {links[0]}, which is not a file of the built site")
    scripts = sorted((site / "_downloads").glob("*/plot_*.py"), key=lambda p: p.name)
    sources = {p.name: p for p in (ROOT / "gallery").rglob("plot_*.py")}
    if [p.name for p in scripts] != sorted(sources) or any(
        p.read_bytes() != sources[p.name].read_bytes() for p in scripts
    ):
        session.error("the site's downloadable scripts are not the gallery's: rebuild with `nox -s docs`")
    _pip(session, TORCH)
    _pip(session, str(wheel))
    # the version does not change between builds: without this, pip keeps a reused venv's older copy
    _pip(session, "--force-reinstall", "--no-deps", str(wheel))
    with tempfile.TemporaryDirectory() as tmp, session.chdir(tmp):  # -I: the repository out of reach
        session.run("python", "-I", str(ROOT / "tools" / "check_imports.py"), str(site / "_downloads"), env=NUMERIC)
    modes = set(session.posargs)
    if not modes <= {"one-per-module"}:
        session.error(f"unknown arguments {sorted(modes)}: give none (every script) or one-per-module")
    if "one-per-module" in modes:
        chosen = {Path(rel).name for rel in MINIMUM_EXAMPLES}
        scripts = [p for p in scripts if p.name in chosen]
        session.log(f"running the {len(scripts)} examples of MINIMUM_EXAMPLES, one per library module")
    _run_standalone(session, scripts)


ONE_THREAD = {k: "1" for k in ("OMP_NUM_THREADS", "MKL_NUM_THREADS", "OPENBLAS_NUM_THREADS")}


def _jobs() -> int:
    """Worker processes for examples: ``PROBMODS_DOCS_JOBS``, else the cores (at most 4)."""
    return max(1, int(os.environ.get("PROBMODS_DOCS_JOBS", min(os.cpu_count() or 1, 4))))


def _run_standalone(session, scripts) -> None:
    """Run each script as ``python plot_x.py`` in its own empty temporary directory, in
    parallel worker processes with one thread each (as the docs build runs them)."""
    import subprocess
    import time
    from concurrent.futures import ThreadPoolExecutor

    python = str(Path(session.bin) / "python")
    env = {**os.environ, **NUMERIC, **ONE_THREAD, "TQDM_DISABLE": "1"}
    env.pop("PROBMODS_CACHE_DIR", None)  # as a reader runs them: every result computed by the script

    def run(script):
        t0 = time.perf_counter()
        with tempfile.TemporaryDirectory() as tmp:
            dst = Path(tmp) / script.name
            shutil.copy(script, dst)
            proc = subprocess.run([python, dst.name], cwd=tmp, env=env, capture_output=True, text=True)
        return script, proc, time.perf_counter() - t0

    failed = []
    with ThreadPoolExecutor(_jobs()) as pool:
        for script, proc, seconds in pool.map(run, scripts):
            name = script.name
            if proc.returncode:
                failed.append(str(name))
                session.log(f"FAILED {name} standalone ({seconds:.0f} s):\n{proc.stderr[-3000:]}")
            else:
                session.log(f"ran {name} standalone ({seconds:.0f} s)")
    if failed:
        session.error(f"{len(failed)} example(s) failed standalone: {', '.join(failed)}")


def _lowest_pins(extra: str | None = None) -> list[str]:
    """``name==version`` for every ``name>=version`` runtime dependency (and of ``extra``)."""
    import re
    import tomllib

    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    deps = list(project["dependencies"]) + list(project["optional-dependencies"].get(extra, []) if extra else [])
    pins = []
    for dep in deps:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)>=([0-9][0-9.]*)", dep.replace(" ", ""))
        if m is None:
            raise ValueError(f"pyproject.toml: {dep!r} is not of the form name>=version")
        if m.group(1) != "torch" and m.group(1) not in REFERENCE_ONLY:
            pins.append(f"{m.group(1)}=={m.group(2)}")
    return pins


# Reference implementations the tests cross-check against when installed (pytest.importorskip):
# they need newer NumPy than the package does (arviz-stats 0.8 needs numpy>=2), so the minimum
# session leaves them out and those cross-checks skip there.
REFERENCE_ONLY = {"arviz-stats", "KDEpy"}


# One example per library module, run as a reader runs a download (the fast page of each chapter
# that imports the module): kde, datasets, grids, flows, gmm, mcmc, metrics, plotting, estimation,
# score and the ebm package (whose model page draws the boxplot that needs matplotlib >= 3.10).
MINIMUM_EXAMPLES = [
    "kde/plot_01_three_densities.py",
    "flows/plot_03_coupling_flow.py",
    "langevin/plot_02_step_size.py",
    "ebm/plot_01_model.py",
    "estimation/plot_02_nce.py",
    "score/plot_01_gmm_and_its_score.py",
]


@nox.session
def minimum(session):
    """The lowest declared version of every runtime dependency: the tests and one example per module.

    Installs ``name==version`` for each ``name>=version`` of ``pyproject.toml`` (the test
    extra at its lowest too), then runs the test suite and the examples of
    ``MINIMUM_EXAMPLES`` from a temporary directory, as scikit-learn tests its minimum
    dependencies. PyTorch is the exception: only the pinned CPU build lies on this project's
    machines (PyPI's older wheels are the CUDA builds), so it stays at ``PROBMODS_TORCH``.
    """
    _pip(session, TORCH)
    _pip(session, *_lowest_pins("test"))
    _pip(session, "--no-deps", "-e", ".")
    session.run("python", "-c", "import numpy, scipy, matplotlib, sklearn, torch; "
                "print('numpy', numpy.__version__, 'scipy', scipy.__version__, 'matplotlib', "
                "matplotlib.__version__, 'scikit-learn', sklearn.__version__, 'torch', torch.__version__)")
    session.run("pytest", "-q", "-p", "no:cacheprovider", *session.posargs, env=NUMERIC)
    _run_standalone(session, [ROOT / "gallery" / rel for rel in MINIMUM_EXAMPLES])


@nox.session
def lint(session):
    """Static checks with ruff."""
    _pip(session, "ruff>=0.6")
    session.run("ruff", "check", ".")
