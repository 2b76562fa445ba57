"""Static checks of the gallery's scripts: each download runs alone and reproduces its page."""

import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
SCRIPTS = sorted((ROOT / "gallery").rglob("plot_*.py"))


_FILE_READERS = {"load", "loadtxt", "genfromtxt", "fromfile", "read_text", "read_bytes", "read_csv", "imread"}


def _file_reads(path):
    """Lines of ``path`` that open or load a file, or use ``__file__``."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Name) and node.id == "__file__":
            found.append(node.lineno)
        elif isinstance(node, ast.Call) and (
            (isinstance(node.func, ast.Name) and node.func.id == "open")
            or (isinstance(node.func, ast.Attribute) and node.func.attr in _FILE_READERS)
        ):
            found.append(node.lineno)
    return sorted(found)


def test_the_file_read_finder_sees_each_kind(tmp_path):
    script = tmp_path / "plot_z.py"
    script.write_text(
        "import numpy as np\nfrom pathlib import Path\nopen('a')\nnp.load('b.npy')\n"
        "Path('c').read_text()\nprint(__file__)\nnp.linspace(0, 1)\n", encoding="utf-8")
    assert _file_reads(script) == [3, 4, 5, 6]


def test_no_gallery_script_reads_a_file_of_the_repository():
    """A download runs alone, from an empty directory: data come from probmods or its
    dependencies (what `nox -s downloads -- one-per-module` in CI runs only in part)."""
    assert len(SCRIPTS) >= 32
    assert {s.name: _file_reads(s) for s in SCRIPTS} == {s.name: [] for s in SCRIPTS}


_TORCH_RANDOM = {"rand", "randn", "randint", "randperm", "rand_like", "randn_like", "normal", "multinomial",
                 "bernoulli"}


def _unseeded_draws(path):
    """Lines of ``path`` that draw from PyTorch's global generator (``torch.<random>(...)`` with
    no ``generator=``): a reader's run would not print the page's numbers, which the docs
    build seeds globally before every example."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
                and isinstance(node.func.value, ast.Name) and node.func.value.id == "torch"
                and node.func.attr in _TORCH_RANDOM
                and not any(k.arg == "generator" for k in node.keywords)):
            found.append(node.lineno)
    return sorted(found)


def test_the_unseeded_draw_finder_sees_each_kind(tmp_path):
    script = tmp_path / "plot_w.py"
    script.write_text(
        "import torch\ng = torch.Generator().manual_seed(0)\ntorch.rand(3)\n"
        "torch.randn(3, generator=g)\nx = torch.randperm(4)\ntorch.zeros(2)\n", encoding="utf-8")
    assert _unseeded_draws(script) == [3, 5]


def test_no_gallery_script_draws_from_the_global_generator():
    assert {s.name: _unseeded_draws(s) for s in SCRIPTS} == {s.name: [] for s in SCRIPTS}
