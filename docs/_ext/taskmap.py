"""Sphinx extension: homework task markers and the generated task map.

* ``.. task:: HW1-I-T3`` (one or more IDs) marks the section of an example that
  answers a task. It renders as a small badge and becomes a link target.
* ``.. taskmap::`` renders the table of every task in ``taskmap_file`` with links
  to every section that answers it, then the table of the pages that go beyond the
  handout (the ``[beyond]`` table of ``taskmap_file``).
* ``.. beyond:: text`` marks an example that answers no task but extends one with
  what the best teaching material on the method shows; it renders as a badge.

The build warns (an error under ``-W``) when a marker names an ID that the task
file does not list, or when a chapter that exists (a folder of the gallery)
leaves one of its tasks unanswered. Tasks of chapters not yet written are listed
as planned.
"""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from docutils import nodes
from sphinx.util import logging
from sphinx.util.docutils import SphinxDirective

logger = logging.getLogger(__name__)

ID_RE = re.compile(r"^HW[1-4]-(?:I-|II-)?T[0-9]+$")


class taskmap_placeholder(nodes.General, nodes.Element):
    """Replaced by the task table once every document has been read."""


def _load(app):
    cache = getattr(app, "_probmods_tasks", None)
    if cache is None:
        path = Path(app.confdir) / app.config.taskmap_file
        with path.open("rb") as fh:
            data = tomllib.load(fh)
        for tid in data["tasks"]:
            if not ID_RE.match(tid):
                raise ValueError(f"{path}: malformed task ID {tid!r}")
            if data["tasks"][tid]["chapter"] not in data["chapters"]:
                raise ValueError(f"{path}: task {tid} names an unknown chapter")
        cache = app._probmods_tasks = data
    return cache


def _env_tasks(env):
    if not hasattr(env, "probmods_tasks"):
        env.probmods_tasks = {}
    return env.probmods_tasks


class TaskDirective(SphinxDirective):
    """``.. task:: ID [ID ...]``: this section answers the given tasks."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self):
        data = _load(self.env.app)
        ids = [t for t in re.split(r"[,\s]+", self.arguments[0].strip()) if t]
        serial = self.env.new_serialno("probmods-task")
        target_id = "task-" + ids[0].lower() + f"-{serial}"
        target = nodes.target("", "", ids=[target_id])
        badge = nodes.container(classes=["probmods-task"])
        para = nodes.paragraph()
        para += nodes.strong(text="Answers " + ", ".join(ids))
        texts = [data["tasks"][t]["text"] for t in ids if t in data["tasks"]]
        if texts:
            para += nodes.Text(" — " + " ".join(texts))
        badge += para
        store = _env_tasks(self.env)
        for tid in ids:
            if tid not in data["tasks"]:
                logger.warning(
                    "unknown homework task ID %r (not in %s)",
                    tid,
                    self.config.taskmap_file,
                    location=self.get_location(),
                )
                continue
            store.setdefault(tid, []).append(
                {"docname": self.env.docname, "target": target_id, "section": None}
            )
        target["probmods_target"] = target_id
        return [target, badge]


class BeyondDirective(SphinxDirective):
    """``.. beyond:: text``: this page goes beyond the handout (listed in ``[beyond]``)."""

    required_arguments = 1
    final_argument_whitespace = True
    has_content = False

    def run(self):
        data = _load(self.env.app)
        rel = _gallery_rel(self.env.docname)
        if rel not in data.get("beyond", {}):
            logger.warning("page %s has a beyond marker but is not in the [beyond] table of %s", rel,
                           self.config.taskmap_file, location=self.get_location())
        badge = nodes.container(classes=["probmods-task", "probmods-beyond"])
        para = nodes.paragraph()
        para += nodes.strong(text="Beyond the handout")
        para += nodes.Text(" — " + self.arguments[0].strip())
        badge += para
        return [badge]


def _gallery_rel(docname: str) -> str:
    """``auto_examples/kde/plot_04_x`` -> ``kde/plot_04_x.py`` (the key of the [beyond] table)."""
    parts = docname.split("/")
    return "/".join(parts[1:]) + ".py" if parts and parts[0] == "auto_examples" else docname


class TaskMapDirective(SphinxDirective):
    """``.. taskmap::``: the table of all tasks and where they are answered."""

    has_content = False

    def run(self):
        return [taskmap_placeholder()]


def _record_sections(app, doctree):
    """After reading a document, remember the section title of each marker."""
    store = _env_tasks(app.env)
    titles = {}
    for node in doctree.findall(nodes.target):
        tid = node.get("probmods_target")
        if not tid:
            continue
        parent = node.parent
        while parent is not None and not isinstance(parent, nodes.section):
            parent = parent.parent
        if parent is not None and len(parent) and isinstance(parent[0], nodes.title):
            titles[tid] = (parent[0].astext(), [child.deepcopy() for child in parent[0].children])
    for entries in store.values():
        for entry in entries:
            if entry["docname"] == app.env.docname and entry["target"] in titles:
                entry["section"], entry["section_nodes"] = titles[entry["target"]]


def _purge(app, env, docname):
    store = _env_tasks(env)
    for tid in list(store):
        store[tid] = [e for e in store[tid] if e["docname"] != docname]
        if not store[tid]:
            del store[tid]


def _merge(app, env, docnames, other):
    store = _env_tasks(env)
    for tid, entries in _env_tasks(other).items():
        store.setdefault(tid, []).extend(e for e in entries if e["docname"] in docnames)


def _present_chapters(app):
    root = Path(app.confdir) / app.config.taskmap_gallery
    return {p.name for p in root.iterdir() if p.is_dir() and any(p.glob("plot_*.py"))}


def _check(app, env):
    data = _load(app)
    store = _env_tasks(env)
    present = _present_chapters(app)
    for folder in sorted(present - set(data["chapters"])):
        logger.warning("gallery chapter %r is not listed in %s", folder, app.config.taskmap_file)
    for tid, info in data["tasks"].items():
        if info["chapter"] in present and not store.get(tid):
            logger.warning(
                "task %s of chapter %r is not answered by any example (add '.. task:: %s')",
                tid,
                info["chapter"],
                tid,
            )


def _resolve(app, doctree, fromdocname):
    data = _load(app)
    store = _env_tasks(app.env)
    present = _present_chapters(app)
    for node in list(doctree.findall(taskmap_placeholder)):
        table = nodes.table(classes=["probmods-taskmap"])
        tgroup = nodes.tgroup(cols=4)
        table += tgroup
        for width in (12, 38, 20, 30):
            tgroup += nodes.colspec(colwidth=width)
        thead = nodes.thead()
        tgroup += thead
        head = nodes.row()
        for label in ("Task", "What it asks", "Chapter", "Answered in"):
            head += nodes.entry("", nodes.paragraph(text=label))
        thead += head
        tbody = nodes.tbody()
        tgroup += tbody
        for tid, info in data["tasks"].items():
            row = nodes.row(ids=["map-" + tid.lower()])
            row += nodes.entry("", nodes.paragraph("", "", nodes.literal(text=tid)))
            row += nodes.entry("", nodes.paragraph(text=info["text"]))
            row += nodes.entry("", nodes.paragraph(text=data["chapters"][info["chapter"]]))
            cell = nodes.entry()
            entries = store.get(tid, [])
            if entries:
                for entry in entries:
                    uri = app.builder.get_relative_uri(fromdocname, entry["docname"]) + "#" + entry["target"]
                    doc_title = app.env.titles[entry["docname"]]
                    ref = nodes.reference("", "", refuri=uri, internal=True)
                    ref += [child.deepcopy() for child in doc_title.children]
                    if entry["section"] and entry["section"] != doc_title.astext():
                        ref += nodes.Text(" › ")
                        ref += [child.deepcopy() for child in entry.get("section_nodes", [])]
                    para = nodes.paragraph()
                    para += ref
                    cell += para
            else:
                status = "chapter in preparation" if info["chapter"] not in present else "missing"
                cell += nodes.paragraph("", "", nodes.emphasis(text=status))
            row += cell
            tbody += row
        beyond = data.get("beyond", {})
        if not beyond:
            node.replace_self(table)
            continue
        section = nodes.container(classes=["probmods-beyond-map"])
        section += nodes.rubric(text="Beyond the handout")
        section += nodes.paragraph(text="Pages that answer no task but extend one with what the best teaching "
                                        "material on the method shows.")
        blist = nodes.bullet_list()
        for rel, text in beyond.items():
            docname = "auto_examples/" + rel[: -len(".py")]
            item = nodes.list_item()
            para = nodes.paragraph()
            if docname in app.env.titles:
                uri = app.builder.get_relative_uri(fromdocname, docname)
                ref = nodes.reference("", "", refuri=uri, internal=True)
                ref += [child.deepcopy() for child in app.env.titles[docname].children]
                para += ref
            else:
                logger.warning("[beyond] names %s, which is not a gallery page", rel)
                para += nodes.literal(text=rel)
            para += nodes.Text(" — " + text)
            item += para
            blist += item
        section += blist
        node.replace_self([table, section])


def setup(app):
    app.add_config_value("taskmap_file", "tasks.toml", "env")
    app.add_config_value("taskmap_gallery", "../gallery", "env")
    app.add_node(taskmap_placeholder)
    app.add_directive("task", TaskDirective)
    app.add_directive("taskmap", TaskMapDirective)
    app.add_directive("beyond", BeyondDirective)
    app.connect("doctree-read", _record_sections)
    app.connect("env-purge-doc", _purge)
    app.connect("env-merge-info", _merge)
    app.connect("env-check-consistency", _check)
    app.connect("doctree-resolved", _resolve)
    return {"version": "1.0", "parallel_read_safe": True, "parallel_write_safe": True, "env_version": 1}
