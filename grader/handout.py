"""``raftlab handout``: build the student distribution, without the reference solution.

    raftlab handout dist/raftlab-lab2          # a folder
    raftlab handout raftlab-lab2.zip           # or a zip

It holds what students need - the harness, the grader and the lab suite,
the skeleton ``labs/raft/raft.py``, HANDOUT.md, a README written for students
(README.students.md, shipped as README.md) and the project file - and nothing
instructors keep: no ``reference/``, no mutant zoo (its mutants quote the
reference), no rule table (``grader/rules.py``: its gaps name the bugs the
tests miss; HANDOUT.md holds what students need of it, rendered as an
appendix), no raftlab tests (they run against the reference), no CI, and
not the instructors' README. In it, ``--impl reference`` and ``raftlab zoo``
say they are not part of the installation.

Before it writes anything it checks that no shipped file refers to a file or
a document the distribution does not contain, and names each one it finds
(file, line, missing target): a repository path (a path under harness, grader,
labs, reference, tests or .ci, with at least one part after the folder), a
Markdown document named anywhere, and a relative link (with its anchor) in a
shipped Markdown file.
"""

from __future__ import annotations

import fnmatch
import posixpath
import re
import shutil
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGES = ("harness", "grader", "labs")
FILES = ("pyproject.toml", "HANDOUT.md", ".gitignore")
STUDENTS_README = "README.students.md"  # shipped as README.md, in place of the instructors'
# The mutants quote the reference; the rule table's gaps list the bugs the tests miss.
INSTRUCTORS_ONLY = ("grader/mutants.py", "grader/zoo.py", "grader/rules.py")
RULES_SOURCE = "grader/rules.py"  # HANDOUT.md's rule table appendix says it is made from it

# The repository's top folders, shipped or not: a path under one of them is a
# repository path. (A bare top folder, as in "no reference/ here", names no file.)
REPO_FOLDERS = ("harness", "grader", "labs", "reference", "tests", ".ci")
# What a file may name although it is not shipped: the builder lists what it leaves out.
ALLOWED_MISSING = {"grader/handout.py": frozenset((*INSTRUCTORS_ONLY, STUDENTS_README)),
                   "HANDOUT.md": frozenset((RULES_SOURCE,))}


class HandoutError(ValueError):
    """The output location cannot be used, or the distribution would be inconsistent."""


@dataclass(frozen=True)
class BrokenReference:
    """A shipped file that refers to something the distribution does not contain."""

    file: str     # the shipped name, e.g. "harness/_sandbox/api.py"
    line: int     # 1-based
    target: str   # as written: a path, a document's name, or a link's target
    why: str      # what is missing

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.target} ({self.why})"


# ------------------------------------------------------------------ the check

_URL = re.compile(r"<?\b[a-zA-Z][a-zA-Z0-9+.-]*://[^\s<>)\]'\"`]*>?")
# A repository path: a top folder, a slash, and path characters (globs and
# balanced [abc] classes allowed), not glued to a longer word or path before it.
_REPO_PATH = re.compile(
    r"(?<![\w./-])(?:" + "|".join(re.escape(f) for f in REPO_FOLDERS) + r")/"
    r"(?:[\w.*?/-]|\[[\w-]+\])*")
# A Markdown document: a name (perhaps with folders) ending in .md, whole.
_DOCUMENT = re.compile(r"(?<![\w./*-])((?:[\w-][\w.-]*/)*[\w-][\w.-]*\.md)(?![\w/-])")
_FENCE = re.compile(r"^\s*(```|~~~)")
_CODE_SPAN = re.compile(r"(`+)(?:(?!\1).)+?\1")
_INLINE_LINK = re.compile(r"!?\[(?:[^\[\]]|\[[^\]]*\])*\]\(\s*<?([^)\s>]+)>?(?:\s+[\"'(][^)]*)?\)")
_LINK_DEFINITION = re.compile(r"^\s{0,3}\[[^\]]+\]:\s*<?(\S+?)>?(?:\s.*)?$")
_HEADING = re.compile(r"^\s{0,3}#{1,6}\s+(.*?)\s*#*\s*$")


def heading_anchors(markdown: str) -> set[str]:
    """The anchors GitHub makes for a Markdown file's headings (and explicit ``id``s)."""
    anchors: set[str] = set()
    seen: dict[str, int] = {}
    for line in _prose_lines(markdown):
        anchors.update(re.findall(r"""<a\s+(?:name|id)=["']([^"']+)["']""", line))
        m = _HEADING.match(line)
        if m is None:
            continue
        text = re.sub(r"<[^>]+>", "", m.group(1))
        text = re.sub(r"!?\[([^\]]*)\]\([^)]*\)", r"\1", text)  # a link: its text
        slug = re.sub(r"[^\w\- ]", "", text.strip().lower()).replace(" ", "-")
        n = seen.get(slug, 0)
        seen[slug] = n + 1
        anchors.add(slug if n == 0 else f"{slug}-{n}")
    return anchors


def _prose_lines(markdown: str) -> list[str]:
    """The lines of a Markdown text, with fenced code blocks blanked (numbering kept)."""
    lines = markdown.split("\n")
    fence: str | None = None
    for i, line in enumerate(lines):
        m = _FENCE.match(line)
        if fence is None and m:
            fence, lines[i] = m.group(1), ""
        elif fence is not None:
            if m and m.group(1) == fence:
                fence = None
            lines[i] = ""
    return lines


def _checked_text(name: str, text: str) -> str:
    """The text to check: pyproject.toml without its [tool.*] tables (the developers'
    ruff, mypy and pytest settings, whose patterns name instructor folders and which
    the tools skip when absent); any other file whole."""
    if name != "pyproject.toml":
        return text
    lines = text.split("\n")
    inside = False
    for i, line in enumerate(lines):
        if line.startswith("["):
            inside = line.startswith(("[tool.", "[[tool."))
        if inside:
            lines[i] = ""
    return "\n".join(lines)


def find_broken_references(texts: dict[str, str]) -> list[BrokenReference]:
    """Every reference in ``texts`` (shipped name -> text) to something not shipped.

    Checked: repository paths (``grader/suite/test_2a.py``, ``harness/_trusted``,
    globs such as ``grader/suite/test_2[abcd].py``), Markdown document names
    anywhere (bare ones must name a shipped file of that name, ones with folders
    a shipped path), and relative links in shipped Markdown files, anchors
    included. Ignored: URLs, dotted module names, bare file names other than
    Markdown documents (``raft.py``, ``config.go``), a bare top folder, and
    ordinary prose (``2A/2B``, ``and/or``)."""
    files = set(texts)
    folders = {posixpath.dirname(n) for n in files}
    folders |= {f.rsplit("/", k)[0] for f in set(folders) for k in range(f.count("/") + 1)}
    folders.discard("")
    basenames = {posixpath.basename(n) for n in files}
    anchors: dict[str, set[str]] = {}

    def exists(path: str) -> bool:
        path = path.rstrip("/")
        if any(c in path for c in "*?["):
            return any(fnmatch.fnmatchcase(n, path) for n in files | folders)
        return path in files or path in folders

    def anchors_of(name: str) -> set[str]:
        if name not in anchors:
            anchors[name] = heading_anchors(texts[name])
        return anchors[name]

    broken: list[BrokenReference] = []
    for name in sorted(texts):
        allowed = ALLOWED_MISSING.get(name, frozenset())
        text = _checked_text(name, texts[name])
        markdown = name.endswith(".md")
        prose = _prose_lines(text) if markdown else []
        for number, line in enumerate(text.split("\n"), start=1):
            plain = _URL.sub(" ", line)
            found: list[tuple[str, str]] = []
            for m in _REPO_PATH.finditer(plain):
                path = m.group(0).rstrip(".")
                if "/" not in path.rstrip("/") or path in allowed:
                    continue  # a bare top folder, or one the builder names on purpose
                if not exists(path):
                    found.append((path, "no such file or folder in the distribution"))
            for m in _DOCUMENT.finditer(plain):
                doc = m.group(1)
                if doc in allowed or _REPO_PATH.fullmatch(doc):
                    continue  # a repository path: checked above
                ok = (posixpath.normpath(posixpath.join(posixpath.dirname(name), doc)) in files
                      or doc in files) if "/" in doc else doc in basenames
                if not ok:
                    found.append((doc, "no such document in the distribution"))
            if markdown:  # a broken link's file is reported once, as the link
                links = _broken_links(name, prose[number - 1], files, folders, anchors_of)
                linked = {target.partition("#")[0] for target, _ in links}
                found = [f for f in found if f[0] not in linked] + links
            broken += [BrokenReference(name, number, target, why) for target, why in found]
    return broken


def _broken_links(name: str, line: str, files: set[str], folders: set[str],
                  anchors_of: Callable[[str], set[str]]) -> list[tuple[str, str]]:
    line = _CODE_SPAN.sub(" ", line)
    targets = [m.group(1) for m in _INLINE_LINK.finditer(line)]
    definition = _LINK_DEFINITION.match(line)
    if definition:
        targets.append(definition.group(1))
    found = []
    for target in targets:
        if re.match(r"[a-zA-Z][a-zA-Z0-9+.-]*:", target):
            continue  # a URL (https:, mailto:): not ours to check
        path, _, anchor = target.partition("#")
        resolved = posixpath.normpath(posixpath.join(posixpath.dirname(name), path)) \
            if path else name
        if resolved.startswith("../") or (resolved not in files and resolved not in folders):
            found.append((target, "the link's file is not in the distribution"))
        elif anchor and resolved.endswith(".md") and anchor not in anchors_of(resolved):
            found.append((target, f"{resolved} has no heading with this anchor"))
    return found


# ------------------------------------------------------------------ the build


def _files(root: Path) -> list[tuple[Path, str]]:
    """(source, shipped name) for every file of the distribution."""
    readme = root / STUDENTS_README
    if not readme.is_file():
        raise HandoutError(f"{readme} is missing: the handout's README.md is made from it")
    found = [(readme, "README.md")]
    found += [(root / f, f) for f in FILES if (root / f).is_file()]
    for package in PACKAGES:
        found += [(p, str(p.relative_to(root))) for p in sorted((root / package).rglob("*"))
                  if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".pyc"]
    return [(p, n) for p, n in found if n not in INSTRUCTORS_ONLY]


def _texts(files: list[tuple[Path, str]]) -> dict[str, str]:
    texts = {}
    for path, name in files:
        try:
            texts[name] = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            texts[name] = ""  # not text: it refers to nothing
    return texts


def build_handout(out: Path, *, root: Path = ROOT) -> list[str]:
    """Write the distribution of ``root`` (this checkout) to ``out`` (a new folder, or
    a .zip); return its files. A HandoutError, before anything is written, if
    the output cannot be used or a shipped file refers to something not shipped."""
    files = _files(root)
    names = [n for _, n in files]
    if any(n.startswith("reference") for n in names):
        raise HandoutError("refusing to ship a file from reference/")
    broken = find_broken_references(_texts(files))
    if broken:
        shown = "\n  ".join(str(b) for b in broken[:20])
        more = f"\n  ... and {len(broken) - 20} more" if len(broken) > 20 else ""
        raise HandoutError(f"{len(broken)} reference(s) in shipped files to what the handout "
                           f"does not contain (reword them, or ship the target):\n  {shown}"
                           f"{more}")
    if out.suffix == ".zip":
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
            for path, name in files:
                z.write(path, name)
        return names
    if out.exists() and any(out.iterdir()):
        raise HandoutError(f"{out} exists and is not empty; choose a new folder")
    for path, name in files:
        target = out / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return names
