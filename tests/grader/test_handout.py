"""The student distribution: everything students need, nothing of the reference
(not even the mutant zoo, whose edits quote it), a README written for students,
no reference to a file it does not hold, and it works on its own."""

from __future__ import annotations

import os
import re
import shutil
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from grader import handout
from grader.handout import HandoutError, build_handout, find_broken_references

ROOT = Path(__file__).resolve().parents[2]


def _raftlab(*args: str, cwd: Path, pythonpath: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "grader.cli", *args], cwd=cwd,
                          capture_output=True, text=True, timeout=300,
                          env={**os.environ, "PYTHONPATH": str(pythonpath), "COLUMNS": "120"})


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One distribution, built by the command, shared by the tests that only read or run it."""
    out = tmp_path_factory.mktemp("handout") / "lab2"
    made = _raftlab("handout", str(out), cwd=ROOT, pythonpath=ROOT)
    assert made.returncode == 0, made.stdout + made.stderr
    return out


def test_handout_folder_has_no_reference_and_runs_the_skeleton(built: Path) -> None:
    out = built
    files = {str(p.relative_to(out)) for p in out.rglob("*") if p.is_file()}
    assert "labs/raft/raft.py" in files and "HANDOUT.md" in files and "README.md" in files
    assert "grader/suite/test_2b.py" in files and "harness/_trusted/network.py" in files
    assert not any(f.startswith(("reference", "tests", ".ci")) for f in files)
    assert "grader/mutants.py" not in files and "grader/zoo.py" not in files
    assert handout.STUDENTS_README not in files
    # the rule table lists the bugs the tests miss: students get only its rendering
    assert "grader/rules.py" not in files
    shipped_handout = (out / "HANDOUT.md").read_text(encoding="utf-8")
    assert "## 10. Appendix: what the tests check" in shipped_handout
    assert shipped_handout == (ROOT / "HANDOUT.md").read_text(encoding="utf-8")
    reference = (ROOT / "reference" / "raft" / "raft.py").read_text(encoding="utf-8")
    needle = "never commit an older term's entry by counting replicas"
    assert needle in reference
    assert not any(needle in (out / f).read_text(encoding="utf-8", errors="replace")
                   for f in files)

    run = _raftlab("test", "initial_election", cwd=out, pythonpath=out)
    assert run.returncode == 1 and "NotImplementedError: 2A" in run.stdout
    run = _raftlab("test", "--impl", "reference", cwd=out, pythonpath=out)
    assert run.returncode == 2 and "not part of this installation" in run.stderr
    run = _raftlab("zoo", cwd=out, pythonpath=out)
    # (In this checkout's dev environment an editable install can still find
    # grader/zoo.py; then the missing reference stops it instead.)
    assert run.returncode == 2
    assert "instructor tool" in run.stderr or "not part of this installation" in run.stderr


def test_handout_zip(tmp_path: Path) -> None:
    out = tmp_path / "lab2.zip"
    assert _raftlab("handout", str(out), cwd=ROOT, pythonpath=ROOT).returncode == 0
    z = zipfile.ZipFile(out)
    names = z.namelist()
    assert "labs/raft/raft.py" in names and "README.md" in names
    assert not any(n.startswith("reference") for n in names)
    students = (ROOT / handout.STUDENTS_README).read_text(encoding="utf-8")
    assert z.read("README.md").decode("utf-8") == students


# ------------------------------------------------------- the students' README


INSTRUCTORS_ONLY_WORDS = ("reference", "zoo", "mutant", "tests/", "batch", "gradescope",
                          "bundle", "bench", "[dev]", "threat model", ".ci", "CI",
                          "instructor's copy")


def test_the_shipped_readme_is_the_students(built: Path) -> None:
    shipped = (built / "README.md").read_text(encoding="utf-8")
    assert shipped == (ROOT / handout.STUDENTS_README).read_text(encoding="utf-8")
    assert shipped != (ROOT / "README.md").read_text(encoding="utf-8")
    for word in INSTRUCTORS_ONLY_WORDS:
        found = re.search(rf"(?<![\w-]){re.escape(word)}", shipped,
                          0 if word.isupper() else re.IGNORECASE)
        assert found is None, f"the students' README mentions {word!r}"
    assert "pip install -e ." in shipped and "pip install -e '.[dev]'" not in shipped
    assert "python3 -m venv .venv" in shipped and "3.11" in shipped
    for needed in ("HANDOUT.md", "labs/raft/raft.py", "raftlab test 2A", "--runs", "-j",
                   "--seed", "raftlab replay", "raftlab lint", "raftlab grade",
                   "pytest grader/suite -k 2a"):
        assert needed in shipped, needed


def _documented_commands(readme: str) -> list[str]:
    """The raftlab and pytest commands the README shows: in sh blocks and in code spans."""
    commands = []
    for block in re.findall(r"^```sh\n(.*?)^```", readme, re.MULTILINE | re.DOTALL):
        commands += [line.strip() for line in block.splitlines()]
    commands += re.findall(r"(?<!`)`((?:raftlab|pytest) [^`]+)`", readme)
    commands += re.findall(r"(?<!`)`(raftlab \w+)`", readme)
    return list(dict.fromkeys(c for c in commands if c.startswith(("raftlab ", "pytest "))))


def test_the_documented_student_commands_run_in_the_built_folder(built: Path,
                                                                 tmp_path: Path) -> None:
    """Every command the students' README shows runs in the distribution, as in a
    venv made by its setup lines: `raftlab` and `pytest` are this Python's, with
    the distribution (and nothing of this checkout) on the path. On the skeleton
    the tests fail (status 1); no command may be a usage error or crash."""
    lab = shutil.copytree(built, tmp_path / "lab2")  # the commands write files
    commands = _documented_commands((lab / "README.md").read_text(encoding="utf-8"))
    joined = "\n".join(commands)
    for needed in ("raftlab test 2A", "--runs", "-j", "--seed", "raftlab replay",
                   "raftlab lint", "raftlab grade", "pytest grader/suite -k 2a"):
        assert needed in joined, f"the README shows no command with {needed!r}"
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for name, module in (("raftlab", "grader.cli"), ("pytest", "pytest")):
        shim = bin_dir / name
        shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m {module} "$@"\n')
        shim.chmod(shim.stat().st_mode | stat.S_IXUSR)
    env = {**os.environ, "PYTHONPATH": str(lab), "COLUMNS": "120",
           "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"}
    for command in commands:
        run = subprocess.run(["bash", "-c", command], cwd=lab, env=env, capture_output=True,
                             text=True, timeout=600)
        output = run.stdout + run.stderr
        assert run.returncode in (0, 1), f"{command}: exit {run.returncode}\n{output[-3000:]}"
        assert "Traceback" not in run.stderr and "INTERNAL ERROR" not in output, (
            f"{command}:\n{output[-3000:]}")
        if command.startswith(("raftlab test", "raftlab grade", "pytest")):
            assert "NotImplementedError" in output, f"{command}: the skeleton did not run"
    assert (lab / "trace.txt").stat().st_size > 0  # raftlab replay ... --full > trace.txt


# ------------------------------------------------------------- the reference check


def test_the_real_build_refers_only_to_what_it_ships() -> None:
    assert find_broken_references(handout._texts(handout._files(ROOT))) == []


def _copy_of_the_checkout(to: Path) -> Path:
    """A checkout holding exactly what the handout is built from."""
    for path, name in handout._files(ROOT):
        target = to / (handout.STUDENTS_README if name == "README.md" else name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(path, target)
    return to


def _plant(path: Path, after: str, line: str) -> int:
    """Put ``line`` after the first line containing ``after``; return its line number."""
    lines = path.read_text(encoding="utf-8").split("\n")
    at = next(i for i, text in enumerate(lines) if after in text) + 1
    lines.insert(at, line)
    path.write_text("\n".join(lines), encoding="utf-8")
    return at + 1


def test_a_planted_reference_to_a_missing_document_stops_the_build(tmp_path: Path) -> None:
    root = _copy_of_the_checkout(tmp_path / "checkout")
    api = root / "harness" / "_sandbox" / "api.py"
    line = _plant(api, "Their behaviour is the student API's", "See student-api.md, section 2.")
    out = tmp_path / "out"
    with pytest.raises(HandoutError) as e:
        build_handout(out, root=root)
    assert f"harness/_sandbox/api.py:{line}: student-api.md" in str(e.value)
    assert not out.exists()  # nothing written

    # The command says the same, as a usage error (the copy's own grader builds it).
    made = _raftlab("handout", str(out), cwd=tmp_path, pythonpath=root)
    assert made.returncode == 2, made.stdout + made.stderr
    assert "student-api.md" in made.stderr and not out.exists()


def test_planted_references_to_missing_files_are_each_named(tmp_path: Path) -> None:
    root = _copy_of_the_checkout(tmp_path / "checkout")
    skeleton = root / "labs" / "raft" / "raft.py"
    first = _plant(skeleton, "Read HANDOUT.md first", "See tests/grader/test_handout.py.")
    second = _plant(skeleton, "from __future__", "# the reference: reference/raft/raft.py")
    link = _plant(root / handout.STUDENTS_README, "# Lab 2",
                  "See [the design](docs/DESIGN.md) and [setup](HANDOUT.md#no-such-section).")
    with pytest.raises(HandoutError) as e:
        build_handout(tmp_path / "lab2.zip", root=root)
    message = str(e.value)
    assert f"labs/raft/raft.py:{first}: tests/grader/test_handout.py" in message
    assert f"labs/raft/raft.py:{second}: reference/raft/raft.py" in message
    assert f"README.md:{link}: docs/DESIGN.md" in message  # as shipped: README.md
    assert f"README.md:{link}: HANDOUT.md#no-such-section" in message
    assert not (tmp_path / "lab2.zip").exists()


def test_the_students_readme_must_exist(tmp_path: Path) -> None:
    root = _copy_of_the_checkout(tmp_path / "checkout")
    (root / handout.STUDENTS_README).unlink()
    with pytest.raises(HandoutError, match=re.escape(handout.STUDENTS_README)):
        build_handout(tmp_path / "out", root=root)


SHIPPED = {"HANDOUT.md": "# Lab 2\n## 5. Running the tests\n### 5.1 Setup\n",
           "labs/raft/raft.py": "", "grader/suite/test_2a.py": "", "grader/suite/test_2b.py": "",
           "harness/_trusted/network.py": ""}


def test_the_check_matches_paths_documents_and_links() -> None:
    text = "\n".join([
        "grader/zoo.py quotes reference/raft/raft.py",            # 1: two paths
        "(tests/grader/test_budget.py checks it) and .ci/run",    # 2: two more
        "see ARCHITECTURE.md and mit-raft-tests.md section 3",    # 3: two documents
        "Gradescope's spec (docs/specs.md)",                      # 4: a document in a folder
        "harness/_network.py; grader/suite/test_9*.py",           # 5: a file, a glob
        "harness/_sandbox/ and grader/suite/test_2a.py",          # 6: a missing folder
    ])
    found = [f"{b.line}: {b.target}" for b in
             find_broken_references({**SHIPPED, "grader/x.py": text})]
    assert found == ["1: grader/zoo.py", "1: reference/raft/raft.py",
                     "2: tests/grader/test_budget.py", "2: .ci/run",
                     "3: ARCHITECTURE.md", "3: mit-raft-tests.md", "4: docs/specs.md",
                     "5: harness/_network.py", "5: grader/suite/test_9*.py",
                     "6: harness/_sandbox/"]


def test_the_check_follows_markdown_links_and_anchors() -> None:
    readme = "\n".join([
        "Read [the handout](HANDOUT.md) and [setup](HANDOUT.md#51-setup).",  # fine
        "[Running](HANDOUT.md#5-running-the-tests), [here](#what-to-submit).",  # fine
        "[gone](HANDOUT.md#6-grading) [there](#nowhere) [doc](notes/DESIGN.md)",  # three
        "[code](labs/raft/raft.py) [folder](grader/suite/) [web](https://x.org/a.md)",  # fine
        "```sh",
        "x = peers[i](args)   # code, not a link: [a](missing.md)",  # a document, though
        "```",
        "## What to submit",
    ])
    found = [f"{b.line}: {b.target}" for b in
             find_broken_references({**SHIPPED, "README.md": readme})]
    assert found == ["3: HANDOUT.md#6-grading", "3: #nowhere", "3: notes/DESIGN.md",
                     "6: missing.md"]


def test_the_check_is_not_fooled_by_prose() -> None:
    prose = "\n".join([
        "2A/2B and/or client/server; passes/runs; 5/10 tests; Raft/Paxos",
        "no reference/ here, nor tests/ or .ci/: bare top folders name no file",
        "submit raft.py; MIT's config.go and test_test.go; results.json; *.md files",
        "import grader.zoo; reference.raft.raft; tests.harness.fakeraft (dotted names)",
        "https://github.com/gradescope/autograder_samples/blob/master/docs/specs.md",
        "<https://example.org/tests/grader/x.py> and http://h/reference/raft/raft.py",
        "HANDOUT.md, README.md, grader/suite/test_2[ab].py, harness/_trusted/network.py.",
        "labs/raft/raft.py:160 and `grader/suite/test_2a.py`, grader/suite",
    ])
    texts = {**SHIPPED, "README.md": "", "grader/x.py": prose, "docs.md": prose}
    assert find_broken_references(texts) == []


def test_the_check_reads_pyproject_but_not_its_tool_tables() -> None:
    pyproject = "\n".join([
        "[project]", 'readme = "README.md"',
        "[tool.ruff]", 'extend-exclude = ["tests/grader/attacks"]',
        '[tool.ruff.lint.per-file-ignores]', '"grader/mutants.py" = ["E501"]',
    ])
    texts = {**SHIPPED, "pyproject.toml": pyproject}
    assert [b.target for b in find_broken_references(texts)] == ["README.md"]
    assert find_broken_references({**texts, "README.md": ""}) == []


def test_the_builder_may_name_what_it_leaves_out() -> None:
    text = 'INSTRUCTORS_ONLY = ("grader/mutants.py", "grader/zoo.py")  # README.students.md'
    assert find_broken_references({**SHIPPED, "grader/handout.py": text}) == []
    assert len(find_broken_references({**SHIPPED, "grader/cli.py": text})) == 3


def test_the_handout_may_name_the_rule_tables_source_only() -> None:
    """HANDOUT.md's generated appendix says where it comes from (grader/rules.py,
    not shipped); no other shipped file may name it, nor HANDOUT.md another."""
    marker = "<!-- rule table: begin (generated from grader/rules.py) -->"
    texts = {**SHIPPED, "HANDOUT.md": SHIPPED["HANDOUT.md"] + marker}
    assert find_broken_references(texts) == []
    assert [b.target for b in find_broken_references({**texts, "README.md": marker})] == [
        "grader/rules.py"]
    texts["HANDOUT.md"] += "\nsee grader/mutants.py"
    assert [b.target for b in find_broken_references(texts)] == ["grader/mutants.py"]
