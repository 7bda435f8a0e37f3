"""The repository stands alone: every Markdown link and every ``docs/...`` path cited in the
code resolves inside it (the file exists; an anchor names a heading of that file, as GitHub
makes heading anchors), and nothing points at the spec material outside the clone."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
#: Where code and scripts live; their docstrings and comments cite ``docs/...#anchor``.
CODE_TREES = ("src", "tests", "bench", "scripts")
#: Directories no one writes by hand: caches, virtual environments, benchmark output.
SKIPPED_DIRS = {".venv", "__pycache__", ".mypy_cache", ".pytest_cache", ".ruff_cache", "out"}
TEXT_SUFFIXES = {".py", ".md", ".toml", ".json", ".lua", ".sh", ".txt", ".cfg", ".ini", ".yaml"}
#: Names of the spec material outside the clone, built from parts so this file does not name them.
OUTSIDE = ("../" + "shared", "shared" + "/spec", "BEHAVIOUR" + ".md", "semantics" + ".md")

FENCE = re.compile(r"^\s*(```|~~~)")
HEADING = re.compile(r"^\s{0,3}(#{1,6})\s+(?P<text>.*?)\s*#*\s*$")
INLINE_LINK = re.compile(r"!?\[[^\]]*\]\((?P<target><[^>]*>|[^)\s]+)(?:\s+\"[^\"]*\")?\)")
REFERENCE_LINK = re.compile(r"^\s{0,3}\[[^\]]+\]:\s+(?P<target>\S+)", re.MULTILINE)
#: A path under the docs folder with an optional ``#anchor``, then more anchors of the same
#: file: ``, #other`` or ``and #other``.
CITED_PATH = re.compile(
    r"(?<![\w/.-])(?P<path>docs/[\w./-]*[\w-])(?:#(?P<anchor>[\w-]+))?"
    r"(?P<more>(?:\s*(?:,|\band\b)\s*#[\w-]+)*)"
)
MORE_ANCHOR = re.compile(r"#([\w-]+)")


def slug(heading: str) -> str:
    """GitHub's anchor for a heading: lower case, punctuation dropped, spaces to hyphens."""
    text = re.sub(r"<[^>]+>", "", heading).lower()
    text = re.sub(r"[^\w\- ]", "", text)
    return text.replace(" ", "-")


def without_code_blocks(text: str) -> list[str]:
    """The lines of a Markdown text outside fenced code blocks (links there are examples)."""
    lines, fenced = [], False
    for line in text.splitlines():
        if FENCE.match(line):
            fenced = not fenced
            continue
        if not fenced:
            lines.append(line)
    return lines


def anchors(markdown: Path) -> set[str]:
    """Every heading anchor of a Markdown file; a repeated heading gets ``-1``, ``-2``..."""
    found: set[str] = set()
    seen: dict[str, int] = {}
    for line in without_code_blocks(markdown.read_text(encoding="utf-8")):
        match = HEADING.match(line)
        if match is None:
            continue
        base = slug(match["text"])
        count = seen.get(base, 0)
        seen[base] = count + 1
        found.add(base if count == 0 else f"{base}-{count}")
    return found


def problem(base: Path, target: str, root: Path) -> str | None:
    """Why ``target`` (relative to ``base``, a directory) does not resolve, or None if it does."""
    if re.match(r"^[a-zA-Z][a-zA-Z0-9+.-]*:", target):
        return "points outside the repository"
    path_part, _, anchor = target.partition("#")
    path = (base / path_part).resolve() if path_part else None
    if path is not None:
        if not path.is_relative_to(root.resolve()):
            return "points outside the repository"
        if not path.exists():
            return "no such file"
    if anchor:
        markdown = path
        if markdown is None or markdown.suffix != ".md":
            return None if markdown is None else "an anchor into a file that is not Markdown"
        if anchor not in anchors(markdown):
            return f"no heading with anchor #{anchor} in {markdown.relative_to(root.resolve())}"
    return None


def markdown_files(root: Path) -> Iterator[Path]:
    yield root / "README.md"
    yield from sorted((root / "docs").glob("*.md"))
    for tree in CODE_TREES:
        yield from (p for p in text_files(root / tree) if p.suffix == ".md")


def text_files(tree: Path) -> Iterator[Path]:
    for path in sorted(tree.rglob("*")):
        if SKIPPED_DIRS.intersection(path.relative_to(tree).parts) or not path.is_file():
            continue
        if path.suffix in TEXT_SUFFIXES or (path.suffix == "" and tree.name == "scripts"):
            yield path


def markdown_link_problems(root: Path) -> list[str]:
    problems = []
    for markdown in markdown_files(root):
        text = "\n".join(without_code_blocks(markdown.read_text(encoding="utf-8")))
        targets = [m["target"].strip("<>") for m in INLINE_LINK.finditer(text)]
        targets += [m["target"].strip("<>") for m in REFERENCE_LINK.finditer(text)]
        for target in targets:
            if target.startswith("#"):
                found = problem(markdown.parent, markdown.name + target, root)
            else:
                found = problem(markdown.parent, target, root)
            if found:
                problems.append(f"{markdown.relative_to(root)}: [{target}] {found}")
    return problems


def cited_path_problems(root: Path) -> list[str]:
    problems = []
    for tree in CODE_TREES:
        for path in text_files(root / tree):
            text = path.read_text(encoding="utf-8", errors="replace")
            for match in CITED_PATH.finditer(text):
                cited = [match["anchor"]] if match["anchor"] else []
                cited += MORE_ANCHOR.findall(match["more"])
                for target in [match["path"]] + [f"{match['path']}#{a}" for a in cited]:
                    found = problem(root, target, root)
                    if found:
                        line = text.count("\n", 0, match.start()) + 1
                        problems.append(f"{path.relative_to(root)}:{line}: {target} {found}")
    return problems


def outside_reference_problems(root: Path) -> list[str]:
    files = [root / "README.md", *sorted((root / "docs").glob("*.md"))]
    for tree in CODE_TREES:
        files += list(text_files(root / tree))
    problems = []
    for path in files:
        text = path.read_text(encoding="utf-8", errors="replace")
        for forbidden in OUTSIDE:
            for match in re.finditer(re.escape(forbidden), text):
                line = text.count("\n", 0, match.start()) + 1
                problems.append(f"{path.relative_to(root)}:{line}: names {forbidden}")
    return problems


def test_every_markdown_link_resolves_inside_the_repository() -> None:
    assert markdown_link_problems(ROOT) == []


def test_every_docs_path_cited_in_code_resolves_inside_the_repository() -> None:
    assert cited_path_problems(ROOT) == []


def test_nothing_refers_to_the_spec_material_outside_the_repository() -> None:
    assert outside_reference_problems(ROOT) == []


@pytest.mark.parametrize(
    ("heading", "anchor"),
    [
        ("Order and cursor", "order-and-cursor"),
        (
            "`Data.Discriminator`: `Type` → `OrderItemTypeOld`",
            "datadiscriminator-type--orderitemtypeold",
        ),
        ("orderItems/getAll: request", "orderitemsgetall-request"),
        (
            "Fetching from a Connector API: `orderitems fetch`",
            "fetching-from-a-connector-api-orderitems-fetch",
        ),
    ],
)
def test_headings_get_githubs_anchors(heading: str, anchor: str) -> None:
    assert slug(heading) == anchor


#: Fake citations below are built from this, so the checks of this repository skip them.
DOCS = "docs" + "/"
RULES = DOCS + "rules.md"


def _fake_repository(root: Path) -> None:
    (root / "docs").mkdir()
    (root / "src").mkdir()
    (root / "docs" / "rules.md").write_text(
        "# Rules\n\n## Filters\n## Filters\n```\n## Code\n```\n"
    )
    (root / "README.md").write_text(
        f"See [rules]({DOCS}rules.md#filters) and [here](#top).\n\n# Top\n"
    )


def test_a_missing_file_an_unknown_anchor_or_an_address_outside_are_reported(
    tmp_path: Path,
) -> None:
    _fake_repository(tmp_path)
    readme = tmp_path / "README.md"
    readme.write_text(
        readme.read_text()
        + f"[a]({DOCS}gone.md) [b]({DOCS}rules.md#code) [c]({DOCS}rules.md#filters-1)"
        + " [d](https://example.org/) [e](../elsewhere.md)\n"
    )
    problems = markdown_link_problems(tmp_path)
    assert problems == [
        f"README.md: [{DOCS}gone.md] no such file",
        f"README.md: [{DOCS}rules.md#code] no heading with anchor #code in {DOCS}rules.md",
        "README.md: [https://example.org/] points outside the repository",
        "README.md: [../elsewhere.md] points outside the repository",
    ]


def test_cited_paths_and_their_extra_anchors_are_checked(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    (tmp_path / "src" / "module.py").write_text(
        f'"""A rule ({DOCS}rules.md#filters, #rules and #nothing; {DOCS}rules.md#filters-1)."""\n'
        f"# see {DOCS}rules.md#nowhere.\n"
    )
    assert cited_path_problems(tmp_path) == [
        f"src/module.py:1: {DOCS}rules.md#nothing no heading with anchor #nothing in {RULES}",
        f"src/module.py:2: {DOCS}rules.md#nowhere no heading with anchor #nowhere in {RULES}",
    ]


def test_a_reference_to_the_spec_outside_is_reported(tmp_path: Path) -> None:
    _fake_repository(tmp_path)
    (tmp_path / "src" / "module.py").write_text(f"# read {OUTSIDE[0]}/x\n")
    assert outside_reference_problems(tmp_path) == [f"src/module.py:1: names {OUTSIDE[0]}"]
