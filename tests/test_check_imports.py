"""``tools/check_imports.py``: the downloads session's import check of every script."""

import importlib.util
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
_spec = importlib.util.spec_from_file_location("check_imports", ROOT / "tools" / "check_imports.py")
check_imports = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(check_imports)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("import numpy as np", None),
        ("from probmods.gmm import GMMDist, mode_weights", None),
        ("from probmods import ebm", None),  # a submodule
        ("from sklearn.datasets import make_blobs", None),
        ("from __future__ import annotations", None),
        ("import no_such_module_probmods", "import no_such_module_probmods"),
        ("from probmods.gmm import NoSuchName", "probmods.gmm has no NoSuchName"),
        ("from probmods.no_such_module import x", "import probmods.no_such_module"),
    ],
)
def test_each_kind_of_import_is_resolved_or_reported_with_its_line(tmp_path, line, expected):
    script = tmp_path / "plot_x.py"
    script.write_text(f'"""Doc."""\n\n{line}\n\nprint(1)\n', encoding="utf-8")
    problems = check_imports.missing_imports(script)
    if expected is None:
        assert problems == []
    else:
        assert len(problems) == 1 and problems[0].startswith("line 3: ") and expected in problems[0]


def test_imports_inside_functions_are_checked_too(tmp_path):
    script = tmp_path / "plot_y.py"
    script.write_text("def f():\n    import no_such_module_probmods\n", encoding="utf-8")
    assert check_imports.missing_imports(script) == [
        "line 2: import no_such_module_probmods (No module named 'no_such_module_probmods')"]


def test_main_rejects_a_probmods_from_outside_the_environment(monkeypatch, tmp_path, capsys):
    """In the test environment probmods is the editable source tree, which the reader's
    environment must not be: the check says where it came from and fails."""
    import probmods

    monkeypatch.setattr(check_imports.sys, "prefix", str(tmp_path))
    assert check_imports.main([]) == 1
    assert str(Path(probmods.__file__).resolve()) in capsys.readouterr().out


def test_every_gallery_script_resolves_here():
    scripts = sorted((ROOT / "gallery").rglob("plot_*.py"))
    assert len(scripts) >= 32
    assert {s.name: check_imports.missing_imports(s) for s in scripts} == {s.name: [] for s in scripts}


def test_main_checks_the_scripts_of_a_directory_and_fails_on_an_empty_one(monkeypatch, tmp_path, capsys):
    import probmods

    monkeypatch.setattr(check_imports.sys, "prefix", str(Path(probmods.__file__).resolve().parents[1]))
    (tmp_path / "a").mkdir()
    (tmp_path / "a" / "plot_a.py").write_text("import numpy\n", encoding="utf-8")
    (tmp_path / "a" / "helper.py").write_text("import no_such_module_probmods\n", encoding="utf-8")
    assert check_imports.main([str(tmp_path)]) == 0  # only plot_*.py files count
    assert capsys.readouterr().out == "plot_a.py: imports resolve\n"
    (tmp_path / "plot_b.py").write_text("import no_such_module_probmods\n", encoding="utf-8")
    assert check_imports.main([str(tmp_path)]) == 1
    assert "plot_b.py: line 1: import no_such_module_probmods" in capsys.readouterr().out
    (tmp_path / "empty").mkdir()
    assert check_imports.main([str(tmp_path / "empty")]) == 1
    assert check_imports.main([str(tmp_path / "missing")]) == 1

