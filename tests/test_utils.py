"""Seeding and the terminal-only progress bar."""

import io
import sys

import numpy as np
import pytest

from probmods.utils import _terminal, progress_bar, seed_everything


class _Tty(io.StringIO):
    def isatty(self):
        return True


def test_progress_bar_draws_only_on_a_terminal(monkeypatch):
    monkeypatch.setattr(sys, "stderr", io.StringIO())
    bar = progress_bar(range(3), progress=True)
    assert bar.disable and list(bar) == [0, 1, 2]
    tty = _Tty()
    monkeypatch.setattr(sys, "stderr", tty)
    bar = progress_bar(range(3), progress=True)
    assert not bar.disable and list(bar) == [0, 1, 2]
    assert "100%" in tty.getvalue()
    assert progress_bar(range(3), progress=False).disable


def test_a_sphinx_gallery_capture_is_no_terminal():
    """Sphinx-Gallery's tee reports the terminal of sphinx-build; what it captures is a page."""
    fake = type("_LoggingTee", (_Tty,), {"__module__": "sphinx_gallery.gen_rst"})()
    assert fake.isatty() and not _terminal(fake)
    assert not _terminal(None) and not _terminal(object())


def test_seed_everything_accepts_numpy_integers_and_refuses_others():
    seed_everything(np.int64(3))
    a = np.random.rand()  # noqa: NPY002 - the legacy global state is what it seeds
    seed_everything(3)
    assert np.random.rand() == a  # noqa: NPY002
    with pytest.raises(TypeError, match="seed"):
        seed_everything(3.0)
