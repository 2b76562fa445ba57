"""Resolve every import of the given scripts, in the environment that runs this file.

Usage: ``python -I tools/check_imports.py PATH ...`` from a directory outside the
repository, each PATH a script or a directory whose ``plot_*.py`` files (at any depth) are
checked (``nox -s downloads`` passes the built site's ``_downloads`` in the reader's fresh
environment).

Each ``import m`` must import, and each ``from m import a, b`` must find ``a`` and ``b``
in ``m`` (as an attribute or a submodule). ``probmods`` itself must be the installed
package, not a source tree. Prints one line per script and exits 1 if anything is missing,
naming the script, the line and the import. A script that imports what the reader's
environment lacks fails here in seconds, where running it would take minutes.
"""

from __future__ import annotations

import ast
import importlib
import sys
from pathlib import Path


def missing_imports(path: Path) -> list[str]:
    """``'line N: <what>'`` for every import of ``path`` that does not resolve."""
    tree = ast.parse(path.read_text(encoding="utf-8"), str(path))
    problems = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            wanted = [(alias.name, None) for alias in node.names]
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module != "__future__":
            wanted = [(node.module, alias.name) for alias in node.names]
        else:
            continue
        for module_name, attr in wanted:
            try:
                module = importlib.import_module(module_name)
            except ImportError as exc:
                problems.append(f"line {node.lineno}: import {module_name} ({exc})")
                continue
            if attr is None or attr == "*" or hasattr(module, attr):
                continue
            try:
                importlib.import_module(f"{module_name}.{attr}")
            except ImportError:
                problems.append(f"line {node.lineno}: {module_name} has no {attr}")
    return problems


def main(argv: list[str]) -> int:
    import probmods

    installed = Path(probmods.__file__).resolve()
    if Path(sys.prefix).resolve() not in installed.parents:
        print(f"probmods comes from {installed}, not from this environment ({sys.prefix})")
        return 1
    scripts = []
    for name in map(Path, argv):
        if not name.exists():
            print(f"{name}: no such file or directory")
            return 1
        scripts += sorted(name.rglob("plot_*.py"), key=lambda p: p.name) if name.is_dir() else [name]
    if not scripts:
        print(f"no scripts in {argv}")
        return 1
    failed = 0
    for path in scripts:
        problems = missing_imports(path)
        failed += bool(problems)
        print(f"{path.name}: " + ("imports resolve" if not problems else "; ".join(problems)))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
