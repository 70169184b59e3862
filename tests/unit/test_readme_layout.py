"""The README's layout tour names every module of the lakehouse package, so a newcomer's map of
what runs where stays the tree that is there."""

from __future__ import annotations

import re

from lakehouse import paths

ROOT = paths.project_root()
PACKAGE = ROOT / "plugins" / "lakehouse"


def tour() -> str:
    text = (ROOT / "README.md").read_text()
    start = text.index("`plugins/lakehouse/`, by where it runs")
    return text[start : text.index("\n## ", start)]


def named_modules(text: str) -> set[str]:
    """Module paths as the tour writes them: a folder line (``dag/``, ``platform/``) opens a block
    whose indented entries are relative to it, and an entry may name a subfolder (``aws/x.py``)."""
    names, folder = set(), ""
    for line in text.splitlines():
        match = re.match(r"^    ( *)(\S+)", line)
        if not match:
            continue
        indent, word = match.groups()
        if word.endswith("/"):
            folder = word if not indent else folder + word
        elif word.endswith(".py"):
            names.add((folder if indent else "") + word)
            if not indent:
                folder = ""
    return names


def test_the_tour_names_every_module_and_no_other():
    modules = {
        str(path.relative_to(PACKAGE))
        for path in PACKAGE.rglob("*.py")
        if path.name != "__init__.py" or path.parent.name == "platform" and path.parent.parent == PACKAGE
    }
    assert named_modules(tour()) == modules


def test_the_reading_of_the_tour_sees_a_missing_module():
    text = "    config.py   settings\n    dag/        parse\n      factory.py  builds\n    platform/   steps\n      aws/target.py  ops\n"
    assert named_modules(text) == {"config.py", "dag/factory.py", "platform/aws/target.py"}
