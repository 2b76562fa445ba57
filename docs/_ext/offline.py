"""The site works with no network: local assets, and a build that fails on a remote one.

* Font Awesome (CSS with its v4 shims, and the web fonts) is copied from the
  ``fontawesomefree`` package into ``_static/fontawesome`` of the built site with
  Sphinx's ``copy_asset``: matplotlib's animation widgets use Font Awesome 4 class
  names for their buttons.
* matplotlib's ``FuncAnimation.to_jshtml`` links that stylesheet from a CDN; the link
  is dropped from the page body (the local copy replaces it).
* Every page body is then scanned: any remaining ``<script src=...>``, ``<link href=...>``,
  ``<img src=...>`` or ``<iframe src=...>`` that points off the site fails the build,
  naming the page and the address. If matplotlib changes its markup, the build fails
  loudly instead of the site silently loading a stylesheet from the internet.

Plain hyperlinks (``<a href="https://...">``, e.g. to the papers) are not resources and
are left alone.
"""

from __future__ import annotations

import re
from pathlib import Path

# matplotlib (all versions since 3.1): <link rel="stylesheet" href="https://.../font-awesome/4.x/css/font-awesome.min.css">
_MPL_FONT_AWESOME = re.compile(r'<link rel="stylesheet"\s+href="https?://[^"]*font-awesome[^"]*"\s*/?>')
_REMOTE_RESOURCE = re.compile(
    r'<(?:script|img|iframe|source|video|audio)\b[^>]*\bsrc\s*=\s*["\'](?:https?:)?//[^"\']*["\']'
    r'|<link\b[^>]*\bhref\s*=\s*["\'](?:https?:)?//[^"\']*["\']',
    re.IGNORECASE,
)
FONT_AWESOME_FILES = ("css/all.min.css", "css/v4-shims.min.css")


def remote_resources(html: str) -> list[str]:
    """The tags of ``html`` that would make a browser fetch something off the site."""
    return _REMOTE_RESOURCE.findall(html)


def _font_awesome_source() -> Path:
    import fontawesomefree

    return Path(fontawesomefree.__file__).parent / "static" / "fontawesomefree"


def offline_body(body: str, pagename: str) -> str:
    """``body`` without matplotlib's Font Awesome link; a ValueError if anything remote is left."""
    body = _MPL_FONT_AWESOME.sub("", body)
    remote = remote_resources(body)
    if remote:
        raise ValueError(f"{pagename}: the page would load {len(remote)} resource(s) from the network, "
                         f"first {remote[0]!r}; serve it from _static instead")
    return body


def _check_page(app, pagename, templatename, context, doctree):
    from sphinx.errors import ExtensionError

    if context.get("body"):
        try:
            context["body"] = offline_body(context["body"], pagename)
        except ValueError as exc:
            raise ExtensionError(str(exc)) from None


def _copy_font_awesome(app, exception):
    from sphinx.util.fileutil import copy_asset

    if exception is not None or app.builder.format != "html":
        return
    src, dst = _font_awesome_source(), Path(app.outdir) / "_static" / "fontawesome"
    for name in FONT_AWESOME_FILES:
        copy_asset(src / name, dst / Path(name).parent)
    copy_asset(src / "webfonts", dst / "webfonts")


def setup(app):
    app.connect("html-page-context", _check_page)
    app.connect("build-finished", _copy_font_awesome)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
