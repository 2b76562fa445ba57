"""Refresh the vendored Sphinx inventories (``docs/_inventories/*.inv``) from Debian's doc packages.

The textbook links numpy, scipy, matplotlib, scikit-learn and Python objects with
``sphinx.ext.intersphinx`` and builds with no network, so the ``objects.inv`` files
are kept in the repository. Debian's ``*-doc`` packages carry each project's built
HTML documentation, inventory included; this script downloads the packages named in
``docs/_inventories/SOURCES.toml`` from a Debian mirror, checks each file's SHA-256
against the one recorded there, and extracts ``objects.inv``.

Usage::

    python tools/refresh_inventories.py            # re-extract the recorded packages
    python tools/refresh_inventories.py --update   # record the newest packages of the suite first

``--update`` reads the suite's ``Packages.xz`` index (Debian ``trixie`` by default) and
rewrites ``SOURCES.toml`` with each package's current file name and SHA-256.
PyTorch has no Debian doc package; ``torch.inv`` is written by this script from the
short list of PyTorch objects the textbook refers to (``TORCH_OBJECTS`` below), with
the addresses of PyTorch's published documentation.
"""

from __future__ import annotations

import argparse
import hashlib
import io
import lzma
import posixpath
import tarfile
import tomllib
import urllib.request
import zlib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
INVENTORIES = ROOT / "docs" / "_inventories"
MIRROR = "http://deb.debian.org/debian"

PACKAGES = {  # inventory name -> (Debian package, the documentation's published address)
    "python": ("python3.13-doc", "https://docs.python.org/3/"),
    "numpy": ("python-numpy-doc", "https://numpy.org/doc/stable/"),
    "scipy": ("python-scipy-doc", "https://docs.scipy.org/doc/scipy/"),
    "matplotlib": ("python-matplotlib-doc", "https://matplotlib.org/stable/"),
    "sklearn": ("python-sklearn-doc", "https://scikit-learn.org/stable/"),
}

TORCH_URL = "https://docs.pytorch.org/docs/stable/"
# (name, role, page relative to TORCH_URL): the objects the textbook's docstrings name.
TORCH_OBJECTS = [
    ("torch.Tensor", "py:class", "tensors.html#torch.Tensor"),
    ("torch.Generator", "py:class", "generated/torch.Generator.html#torch.Generator"),
    ("torch.dtype", "py:class", "tensor_attributes.html#torch.dtype"),
    ("torch.device", "py:class", "tensor_attributes.html#torch.device"),
    ("torch.nn.Module", "py:class", "generated/torch.nn.Module.html#torch.nn.Module"),
    ("torch.nn.Parameter", "py:class", "generated/torch.nn.parameter.Parameter.html#torch.nn.parameter.Parameter"),
    ("torch.optim.Optimizer", "py:class", "optim.html#torch.optim.Optimizer"),
    ("torch.load", "py:function", "generated/torch.load.html#torch.load"),
    ("torch.save", "py:function", "generated/torch.save.html#torch.save"),
    ("torch.set_num_threads", "py:function", "generated/torch.set_num_threads.html#torch.set_num_threads"),
    ("torch.manual_seed", "py:function", "generated/torch.manual_seed.html#torch.manual_seed"),
    ("torch.no_grad", "py:class", "generated/torch.no_grad.html#torch.no_grad"),
    ("torch.func", "py:module", "func.html#module-torch.func"),
    ("torch.distributed", "py:module", "distributed.html#module-torch.distributed"),
    ("torch.nn.parallel.DistributedDataParallel", "py:class",
     "generated/torch.nn.parallel.DistributedDataParallel.html#torch.nn.parallel.DistributedDataParallel"),
    ("torch.nn.modules.module.Module", "py:class", "generated/torch.nn.Module.html#torch.nn.Module"),
    ("torch.utils.data.Dataset", "py:class", "data.html#torch.utils.data.Dataset"),
    ("torch.utils.data.dataset.Dataset", "py:class", "data.html#torch.utils.data.Dataset"),
    ("torch.utils.data.random_split", "py:function", "data.html#torch.utils.data.random_split"),
    ("torch.autograd.functional.jacobian", "py:function",
     "generated/torch.autograd.functional.jacobian.html#torch.autograd.functional.jacobian"),
]


def _get(url: str) -> bytes:
    with urllib.request.urlopen(url, timeout=600) as resp:  # noqa: S310 - a fixed https/http mirror
        return resp.read()


def update_sources(suite: str) -> None:
    """Record the suite's current file name and SHA-256 of each doc package."""
    index = lzma.decompress(_get(f"{MIRROR}/dists/{suite}/main/binary-all/Packages.xz")).decode()
    stanzas = {}
    for stanza in index.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in stanza.splitlines() if ": " in line and line[0] != " ")
        if "Package" in fields:
            stanzas[fields["Package"]] = fields
    lines = [f"# Written by tools/refresh_inventories.py --update from Debian {suite}.", f'suite = "{suite}"', ""]
    for name, (package, url) in PACKAGES.items():
        fields = stanzas[package]
        lines += [f"[{name}]", f'package = "{package}"', f'version = "{fields["Version"]}"',
                  f'filename = "{fields["Filename"]}"', f'sha256 = "{fields["SHA256"]}"', f'url = "{url}"', ""]
    (INVENTORIES / "SOURCES.toml").write_text("\n".join(lines))


def _data_tar(deb: bytes) -> tarfile.TarFile:
    """The ``data.tar.*`` member of a Debian package (an ``ar`` archive)."""
    if deb[:8] != b"!<arch>\n":
        raise ValueError("not a Debian package")
    pos = 8
    while pos < len(deb):
        name, size = deb[pos:pos + 16].decode().strip().rstrip("/"), int(deb[pos + 48:pos + 58])
        body = deb[pos + 60:pos + 60 + size]
        if name.startswith("data.tar"):
            return tarfile.open(fileobj=io.BytesIO(body), mode="r:*")
        pos += 60 + size + (size % 2)
    raise ValueError("no data.tar in the package")


def extract_inventory(deb: bytes) -> bytes:
    """The main ``objects.inv`` of a doc package (the shortest path that has one)."""
    with _data_tar(deb) as tar:
        members = {m.name: m for m in tar.getmembers()}
        found = [m for m in members.values() if m.name.endswith("/objects.inv") and (m.isfile() or m.issym())]
        if not found:
            raise ValueError("no objects.inv in the package")
        member = min(found, key=lambda m: (m.name.count("/"), m.name))
        for _ in range(8):  # Debian links some documentation trees into /usr/share/doc
            if not member.issym():
                return tar.extractfile(member).read()
            if member.linkname.startswith("/"):
                target = "./" + member.linkname.lstrip("/")
            else:
                target = "./" + posixpath.normpath(posixpath.join(posixpath.dirname(member.name), member.linkname))
            member = members.get(target) or members[target[2:]]
        raise ValueError("a cycle of links")


def torch_inventory() -> bytes:
    """A Sphinx version-2 inventory of ``TORCH_OBJECTS``."""
    header = b"# Sphinx inventory version 2\n# Project: PyTorch\n# Version: stable\n"
    header += b"# The remainder of this file is compressed using zlib.\n"
    body = "".join(f"{name} {role} 1 {page} -\n" for name, role, page in TORCH_OBJECTS)
    return header + zlib.compress(body.encode())


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--update", action="store_true", help="record the suite's newest packages first")
    parser.add_argument("--suite", default="trixie")
    parser.add_argument("--torch-only", action="store_true", help="rewrite torch.inv only (no download)")
    args = parser.parse_args(argv)
    INVENTORIES.mkdir(parents=True, exist_ok=True)
    if args.torch_only:
        (INVENTORIES / "torch.inv").write_bytes(torch_inventory())
        print(f"torch.inv: {len(TORCH_OBJECTS)} objects")
        return
    if args.update:
        update_sources(args.suite)
    with open(INVENTORIES / "SOURCES.toml", "rb") as fh:
        sources = tomllib.load(fh)
    for name in PACKAGES:
        entry = sources[name]
        deb = _get(f"{MIRROR}/{entry['filename']}")
        digest = hashlib.sha256(deb).hexdigest()
        if digest != entry["sha256"]:
            raise SystemExit(f"{entry['filename']}: SHA-256 {digest} is not the recorded {entry['sha256']}")
        inv = extract_inventory(deb)
        (INVENTORIES / f"{name}.inv").write_bytes(inv)
        print(f"{name}.inv: {len(inv):,} bytes from {entry['package']} {entry['version']}")
    (INVENTORIES / "torch.inv").write_bytes(torch_inventory())
    print(f"torch.inv: {len(TORCH_OBJECTS)} objects")


if __name__ == "__main__":
    main()
