"""Sphinx configuration of the probmods textbook."""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path

from sphinx_gallery.sorting import ExplicitOrder

HERE = Path(__file__).parent
sys.path.insert(0, str(HERE / "_ext"))
os.environ.setdefault("MPLBACKEND", "Agg")
# Pages that repeat an earlier page's deterministic work (a reader may download either alone)
# load its result instead during the build: probmods._cache. The folder goes with _build, so
# `nox -s docs -- fresh` computes everything again.
os.environ.setdefault("PROBMODS_CACHE_DIR", str(HERE / "_build" / "cache"))

import probmods  # noqa: E402

# The pages' numbers come from one set of numerical kernels (tools/kernels.py): stop here,
# with the reason, rather than at a page whose guard another machine's rounding has moved.
sys.path.insert(0, str(HERE.resolve().parent / "tools"))
from kernels import PINNED, problems  # noqa: E402

if _why := problems():
    raise RuntimeError(
        "the numerical kernels are not the ones the pages' numbers come from: " + "; ".join(_why)
        + ". Build with `nox -s docs`, or set " + " ".join(f"{k}='{v}'" for k, v in PINNED.items())
    )


def _build_versions() -> str:
    """Python and the numerical libraries of this build, as the landing page names them."""
    import platform

    import matplotlib
    import numpy
    import scipy
    import sklearn
    import torch

    libs = (("NumPy", numpy), ("SciPy", scipy), ("scikit-learn", sklearn), ("Matplotlib", matplotlib),
            ("PyTorch", torch))
    return ", ".join([f"Python {platform.python_version()}"] + [f"{n} {m.__version__}" for n, m in libs])


project = "probmods"
author = "The probmods authors"
copyright = "2026, the probmods authors"
release = probmods.__version__
version = release

extensions = [
    "sphinx.ext.autodoc",
    "sphinx.ext.autosummary",
    "sphinx.ext.napoleon",
    "sphinx.ext.intersphinx",
    "sphinx.ext.mathjax",
    "sphinx-mathjax-offline",  # MathJax 3 served from _static: the site renders math offline
    "sphinx_gallery.gen_gallery",
    "myst_parser",
    "sphinxcontrib.bibtex",
    "sphinx_copybutton",  # a copy button on code cells (its JavaScript is served from _static)
    "taskmap",
    "offline",  # Font Awesome served locally; the build fails on any page resource off the site
]
# copy commands without prompts or printed output
copybutton_exclude = ".linenos, .gp, .go"

bibtex_bibfiles = ["references.bib"]
bibtex_default_style = "unsrt"
bibtex_reference_style = "author_year"

source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
# sg_execution_times: pages of an older build (write_computation_times is off, see below)
exclude_patterns = ["_build", "**.ipynb_checkpoints", "auto_examples/**/*.ipynb", "auto_examples/*.zip",
                    "sg_execution_times.rst", "auto_examples/**/sg_execution_times.rst"]
templates_path = ["_templates"]
nitpicky = True  # every cross-reference must resolve (the build runs with -W)

# intersphinx from vendored inventories: the build needs no network. Refresh them with
# `python tools/refresh_inventories.py --update` (Debian's doc packages; see that script).
with open(HERE / "_inventories" / "SOURCES.toml", "rb") as fh:
    _INVENTORY_SOURCES = tomllib.load(fh)
intersphinx_mapping = {
    name: (entry["url"], str(HERE / "_inventories" / f"{name}.inv"))
    for name, entry in _INVENTORY_SOURCES.items() if isinstance(entry, dict)
}
# numpydoc type fields ("array_like, shape (n, 2)", "int, default 5", "{'a', 'b'}") are
# prose, not references: napoleon turns each word into a class reference, so the words
# that cannot name a class are exempt (anything with a space, quote, brace or operator, a
# number, a lower-case dimension name such as n or n_chains, an upper-case one such as N
# or J_x, and numpydoc's vocabulary). Dotted names and class names must still resolve.
nitpick_ignore_regex = [
    ("py:class", r".*[\s\"'{}()\[\]*<>=/+].*"),
    ("py:class", r"[-+]?[0-9][0-9.eE+-]*"),
    ("py:class", r"[a-z][a-z0-9_]*"),
    ("py:class", r"[A-Z](_?[a-z0-9]*)?"),
    ("py:class", r"array_like|path-like|array-like"),
]
autodoc_inherit_docstrings = False  # nn.Module's own docstrings name torch-internal targets
intersphinx_mapping["torch"] = ("https://docs.pytorch.org/docs/stable/", str(HERE / "_inventories" / "torch.inv"))

myst_enable_extensions = ["dollarmath", "amsmath", "colon_fence", "deflist", "substitution"]
# The landing page names the library versions that computed the pages' numbers.
myst_substitutions = {"build_versions": _build_versions()}
myst_heading_anchors = 3

autosummary_generate = True
autodoc_default_options = {"members": True, "show-inheritance": False}
autodoc_typehints = "none"
napoleon_numpy_docstring = True
napoleon_google_docstring = False
napoleon_use_rtype = False
napoleon_use_ivar = True

# --- the gallery -----------------------------------------------------------
with open(HERE / "tasks.toml", "rb") as fh:
    _CHAPTERS = list(tomllib.load(fh)["chapters"])

sphinx_gallery_conf = {
    "examples_dirs": ["../gallery"],
    "gallery_dirs": ["auto_examples"],
    "subsection_order": ExplicitOrder([f"../gallery/{c}" for c in _CHAPTERS]),
    "within_subsection_order": "FileNameSortKey",
    "filename_pattern": r"/plot_",
    # PROBMODS_DOCS_KEEP_GOING=1 runs every example and reports all failures at the end.
    "abort_on_example_error": os.environ.get("PROBMODS_DOCS_KEEP_GOING") != "1",
    "only_warn_on_example_error": False,
    "doc_module": ("probmods",),
    "backreferences_dir": "gen_modules/backreferences",
    "reset_modules": ("matplotlib", "probmods.utils._gallery_reset"),
    "reset_modules_order": "before",
    "matplotlib_animations": (True, "jshtml"),
    "download_all_examples": True,
    "remove_config_comments": True,
    "show_memory": False,
    "min_reported_time": 0,
    # Each page states its own running time. The summary tables are off (as in a reproducible
    # build): they load jQuery and DataTables from CDNs.
    "write_computation_times": False,
    "capture_repr": ("_repr_html_",),
    "image_srcset": [],
    # Examples run in worker processes, one thread each (the reset hook), so the numbers do
    # not depend on the number of workers. PROBMODS_DOCS_JOBS=1 runs them one by one.
    "parallel": int(os.environ.get("PROBMODS_DOCS_JOBS", min(os.cpu_count() or 1, 4))),
    # Every build executes every example (the library may have changed even when an
    # example did not). PROBMODS_DOCS_INCREMENTAL=1 re-runs only changed examples.
    "run_stale_examples": os.environ.get("PROBMODS_DOCS_INCREMENTAL") != "1",
    "first_notebook_cell": (
        "# This notebook needs the probmods package and its dependencies (numpy, scipy,\n"
        f"# matplotlib, scikit-learn, torch, tqdm, mlxtend): download probmods-{release}-py3-none-any.whl\n"
        "# from the landing page of the probmods textbook, then run\n"
        f"# %pip install probmods-{release}-py3-none-any.whl\n"
        "%matplotlib inline"
    ),
}

# --- HTML --------------------------------------------------------------------
html_theme = "pydata_sphinx_theme"
html_title = "probmods"
html_favicon = "_static/favicon.svg"
html_context = {"default_mode": "light"}


html_static_path = ["_static"]  # + _static/fontawesome, copied by the offline extension
# The wheel that `nox -s docs` builds from this checkout, published at the site's root.
html_extra_path = [str(p) for p in [HERE / "_build" / "wheel"] if p.is_dir()]
html_css_files = ["probmods.css", "fontawesome/css/all.min.css", "fontawesome/css/v4-shims.min.css"]
html_theme_options = {
    "navigation_with_keys": False,
    "show_toc_level": 2,
    "secondary_sidebar_items": ["page-toc", "sg_download_links", "sg_launcher_links"],
    "footer_start": ["copyright"],
    "footer_end": ["sphinx-version"],
}
html_sidebars = {"index": [], "task_map": []}
html_show_sourcelink = False
html_last_updated_fmt = None
