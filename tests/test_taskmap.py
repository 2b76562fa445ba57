"""The task map: every course task listed once, every example marker known."""

import re
import tomllib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
ID = r"HW[1-4]-(?:I-|II-)?T[0-9]+"


def load_tasks():
    with open(ROOT / "docs" / "tasks.toml", "rb") as fh:
        return tomllib.load(fh)


def test_task_file_lists_all_55_tasks_once():
    data = load_tasks()
    ids = list(data["tasks"])
    assert len(ids) == 55 == len(set(ids))
    assert all(re.fullmatch(ID, t) for t in ids)
    assert {t["chapter"] for t in data["tasks"].values()} <= set(data["chapters"])


def test_task_file_matches_the_course_list():
    course = ROOT.parent / "shared" / "tasks.md"
    if not course.exists():
        pytest.skip("the course task list (../shared/tasks.md) is not beside this checkout")
    listed = re.findall(rf"^- `({ID})`", course.read_text(), flags=re.M)
    assert listed == list(load_tasks()["tasks"])


def markers():
    found = {}
    for path in sorted((ROOT / "gallery").rglob("plot_*.py")):
        for line in path.read_text().splitlines():
            m = re.match(r"#\s*\.\. task::\s*(.+)$", line)
            if m:
                for tid in re.split(r"[,\s]+", m.group(1).strip()):
                    found.setdefault(tid, []).append(path.relative_to(ROOT))
    return found


def test_every_marker_names_a_known_task_of_its_chapter():
    tasks = load_tasks()["tasks"]
    for tid, paths in markers().items():
        assert tid in tasks, f"{paths} name unknown task {tid}"
        for p in paths:
            assert p.parts[1] == tasks[tid]["chapter"], f"{p} answers {tid} of chapter {tasks[tid]['chapter']}"


def test_written_chapters_answer_all_their_tasks():
    data = load_tasks()
    found = markers()
    chapters = {p.name for p in (ROOT / "gallery").iterdir() if p.is_dir() and any(p.glob("plot_*.py"))}
    assert chapters, "the gallery has no chapter"
    assert chapters <= set(data["chapters"])
    for tid, info in data["tasks"].items():
        if info["chapter"] in chapters:
            assert tid in found, f"chapter {info['chapter']} does not answer {tid}"


def test_every_example_names_its_tasks_and_has_a_title():
    supporting = load_tasks().get("supporting", {})
    beyond = load_tasks().get("beyond", {})
    for name in [*supporting, *beyond]:
        assert (ROOT / "gallery" / name).exists(), name
    assert not set(supporting) & set(beyond)
    for path in (ROOT / "gallery").rglob("plot_*.py"):
        text = path.read_text()
        rel = path.relative_to(ROOT / "gallery").as_posix()
        assert re.search(ID, text), path  # every page says which tasks it answers, supports or extends
        has_marker = bool(re.search(r"^#\s*\.\. task::", text, flags=re.M))
        has_beyond = bool(re.search(r"^(#\s*)?\.\. beyond:: \S", text, flags=re.M))
        assert has_beyond == (rel in beyond), path  # a beyond page is marked and listed
        assert has_marker != (rel in supporting or rel in beyond), path
        assert text.startswith('r"""') or text.startswith('"""'), path
    for chapter in (ROOT / "gallery").iterdir():
        if chapter.is_dir() and not chapter.name.startswith((".", "_")):
            assert (chapter / "GALLERY_HEADER.rst").exists(), chapter


def test_landing_page_names_this_versions_wheel():
    """The landing page links the wheel that `nox -s docs` publishes; its name carries the version."""
    import probmods

    index = (ROOT / "docs" / "index.md").read_text(encoding="utf-8")
    wheel = f"probmods-{probmods.__version__}-py3-none-any.whl"
    assert f'href="{wheel}"' in index and f"pip install {wheel}" in index
