"""The docs build's disk memo: results loaded equal results computed, and only when they must."""

import threading
import time

import numpy as np
import pytest
import torch

from probmods import _cache
from probmods._cache import ENV, cache_key, memoize
from probmods.flows import fit_toy_flow
from probmods.kde import cv_bandwidth
from probmods.score import fit_score_net


def _counted(**options):
    calls = []

    @memoize(lambda r: {"x": torch.from_numpy(r)}, lambda p: p["x"].numpy(), **options)
    def f(a, b=1.0, progress=False):
        calls.append((a, b))
        return np.arange(3.0) * b + np.sum(a)

    return f, calls


def test_without_the_variable_nothing_is_cached(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    f, calls = _counted()
    f(np.ones(2)), f(np.ones(2))
    assert len(calls) == 2 and not any(tmp_path.iterdir())


def test_a_second_call_loads_what_the_first_computed(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path / "cache"))
    f, calls = _counted(ignore=("progress",))
    first = f(np.ones(2), b=2.0)
    again = f(np.ones(2), 2.0, progress=True)  # positional or keyword, an ignored argument
    assert len(calls) == 1
    np.testing.assert_array_equal(first, again)
    f(np.ones(2), b=3.0)  # another value
    f(np.ones(2, dtype=np.float32), b=2.0)  # the same numbers in another dtype are other data
    f(np.ones((1, 2)), b=2.0)  # ... or in another shape
    assert len(calls) == 4
    assert len(list((tmp_path / "cache").glob("*.pt"))) == 4


def test_a_damaged_file_is_recomputed(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))
    f, calls = _counted()
    f(np.ones(2))
    (path,) = tmp_path.glob("*.pt")
    path.write_bytes(b"not a torch file")
    np.testing.assert_array_equal(f(np.ones(2)), np.arange(3.0) + 2)
    assert len(calls) == 2


def test_the_key_follows_the_package_source(monkeypatch):
    def f(a):
        return a

    key = cache_key(f, {"a": 1})
    assert key == cache_key(f, {"a": 1}) != cache_key(f, {"a": 2})
    monkeypatch.setattr(_cache, "_environment_digest", lambda: "edited source")
    assert cache_key(f, {"a": 1}) != key


def test_an_argument_that_cannot_be_keyed_is_named(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))
    f, _ = _counted()
    with pytest.raises(TypeError, match="argument 'b' of type object"):
        f(np.ones(2), b=object())


def test_concurrent_callers_compute_once(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))
    calls = []

    @memoize(lambda r: r, lambda p: p)
    def slow(a):
        calls.append(a)
        time.sleep(0.3)
        return {"a": a}

    out = []
    threads = [threading.Thread(target=lambda: out.append(slow(5))) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert calls == [5] and out == [{"a": 5}] * 3


def test_the_generator_state_after_a_seeding_function_is_restored(monkeypatch, tmp_path):
    monkeypatch.setenv(ENV, str(tmp_path))

    @memoize(lambda r: r, lambda p: p, torch_rng=True)
    def seeded(seed):
        torch.manual_seed(seed)
        return torch.rand(2)

    a = seeded(3)
    after_compute = torch.rand(4)
    torch.manual_seed(123)  # the caller's state before the call must not matter
    b = seeded(3)
    torch.testing.assert_close(a, b, rtol=0, atol=0)
    torch.testing.assert_close(torch.rand(4), after_compute, rtol=0, atol=0)


def test_a_loaded_flow_fit_is_the_computed_one(monkeypatch, tmp_path):
    kwargs = dict(num_samples=300, num_layers=2, epochs=2, num_test=200, progress=False)
    monkeypatch.delenv(ENV, raising=False)
    ref = fit_toy_flow("Moons", **kwargs)
    draws_ref = torch.rand(3)
    monkeypatch.setenv(ENV, str(tmp_path))
    fit_toy_flow("Moons", **kwargs)  # computed and stored
    torch.manual_seed(99)
    got = fit_toy_flow("Moons", **kwargs)  # loaded
    torch.testing.assert_close(torch.rand(3), draws_ref, rtol=0, atol=0)
    assert len(list(tmp_path.glob("fit_toy_flow-*.pt"))) == 1
    for name in ("train_losses", "valid_losses", "test_nll", "entropy", "kl", "kl_se", "kl_median",
                 "tail_fraction", "dist_type"):
        assert getattr(got, name) == getattr(ref, name), name
    np.testing.assert_array_equal(got.data, ref.data)
    np.testing.assert_array_equal(got.log_ratio, ref.log_ratio)
    assert got.model.training == ref.model.training
    x = torch.randn(50, 2)
    with torch.no_grad():
        torch.testing.assert_close(got.model.log_probability(x), ref.model.log_probability(x), rtol=0, atol=0)


def test_a_loaded_cv_bandwidth_is_the_computed_one(monkeypatch, tmp_path):
    x = np.random.default_rng(0).normal(size=(200, 2))
    monkeypatch.delenv(ENV, raising=False)
    ref = cv_bandwidth(x)
    monkeypatch.setenv(ENV, str(tmp_path))
    cv_bandwidth(x)
    got = cv_bandwidth(x)
    assert (got.h, got.score) == (ref.h, ref.score)
    np.testing.assert_array_equal(got.hs, ref.hs)
    np.testing.assert_array_equal(got.scores, ref.scores)


def test_a_loaded_score_fit_is_the_computed_one(monkeypatch, tmp_path):
    monkeypatch.delenv(ENV, raising=False)
    ref = fit_score_net(seed=3, nsteps=20, progress=False)
    draws_ref = torch.rand(3)
    monkeypatch.setenv(ENV, str(tmp_path))
    fit_score_net(seed=3, nsteps=20)
    got = fit_score_net(seed=3, nsteps=20, progress=False)
    torch.testing.assert_close(torch.rand(3), draws_ref, rtol=0, atol=0)
    np.testing.assert_array_equal(got.losses, ref.losses)
    assert got.score_net.training == ref.score_net.training
    x = torch.randn(50, 2)
    with torch.no_grad():
        torch.testing.assert_close(got.score_net(x), ref.score_net(x), rtol=0, atol=0)
