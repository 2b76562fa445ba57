"""Static checks of the gallery's scripts: each download runs alone and reproduces its page."""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "gallery").rglob("plot_*.py"))

_FILE_READERS = {"load", "loadtxt", "genfromtxt", "fromfile", "read_text", "read_bytes", "read_csv", "imread"}
_TORCH_RANDOM = {"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "normal", "multinomial",
                 "bernoulli"}


def _reads_a_file(node):
    """``open(...)``, ``<x>.load(...)`` and the like, or ``__file__``."""
    if isinstance(node, ast.Name):
        return node.id == "__file__"
    return isinstance(node, ast.Call) and (
        (isinstance(node.func, ast.Name) and node.func.id == "open")
        or (isinstance(node.func, ast.Attribute) and node.func.attr in _FILE_READERS))


def _draws_unseeded(node):
    """``torch.<random>(...)`` with no ``generator=``: it draws from PyTorch's global generator,
    which the docs build reseeds before every example and a reader's run does not."""
    return (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"
            and node.func.attr in _TORCH_RANDOM and not any(k.arg == "generator" for k in node.keywords))


def _lines(path, flagged):
    """Sorted line numbers of the nodes of ``path`` for which ``flagged(node)`` is true."""
    return sorted(n.lineno for n in ast.walk(ast.parse(path.read_text(encoding="utf-8"))) if flagged(n))


@pytest.mark.parametrize(("flagged", "source", "expected"), [
    (_reads_a_file, "import numpy as np\nfrom pathlib import Path\nopen('a')\nnp.load('b.npy')\n"
                    "Path('c').read_text()\nprint(__file__)\nnp.linspace(0, 1)\n", [3, 4, 5, 6]),
    (_draws_unseeded, "import torch\ng = torch.Generator().manual_seed(0)\ntorch.rand(3)\n"
                      "torch.randn(3, generator=g)\nx = torch.randperm(4)\ntorch.zeros(2)\n", [3, 5]),
])
def test_each_finder_sees_what_it_looks_for(tmp_path, flagged, source, expected):
    script = tmp_path / "plot_z.py"
    script.write_text(source, encoding="utf-8")
    assert _lines(script, flagged) == expected


@pytest.mark.parametrize("flagged", [_reads_a_file, _draws_unseeded])
def test_no_gallery_script_reads_a_file_or_draws_unseeded(flagged):
    """A download runs alone, from an empty directory, and prints its page's numbers: data come
    from probmods or its dependencies, and every random draw from a seeded generator (what
    `nox -s downloads -- one-per-module` in CI runs only in part)."""
    assert len(SCRIPTS) >= 32
    assert {s.name: _lines(s, flagged) for s in SCRIPTS} == {s.name: [] for s in SCRIPTS}
