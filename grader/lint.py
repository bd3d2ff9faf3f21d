"""``raftlab lint``: static checks of a student's raft.py, before anything runs.

    raftlab lint                 # labs/raft/raft.py
    raftlab lint sub/raft.py

It reads the file's syntax tree (it never imports or runs it) and reports,
with line numbers, what would make a run irreproducible, block the simulation
or break the student API - each finding with the fix:

  error    threads, processes, executors; time.sleep; the wall clock
           (time.time, monotonic, perf_counter, datetime.now); randomness
           that ignores the seed (random.Random(), SystemRandom, os.urandom,
           secrets, uuid); no class Raft, or one missing a required method
  warning  iterating over a set (its order may differ between runs);
           asyncio.wait / as_completed / all_tasks (their order is not
           deterministic); id(); a bare ``except:`` or ``except BaseException``
           (it swallows the CancelledError that ends a crashed server's
           tasks); ``await asyncio.sleep(0)`` in a loop (lets no time pass);
           print() (use logging: it is stamped with virtual time)

Exit status 1 if there is an error, else 0. The checks are heuristics: the
harness enforces the rules at run time whatever lint says.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from pathlib import Path

REQUIRED = ("__init__", "get_state", "start", "snapshot", "kill")

_BLOCKING_IMPORTS = {
    "threading": "threads run outside virtual time; use asyncio tasks",
    "multiprocessing": "processes are not allowed; use asyncio tasks",
    "subprocess": "processes are not allowed",
    "concurrent.futures": "executors run code on threads; do the work in the coroutine",
    "socket": "there is no real network here; use self.peers[i].call(...)",
}
_CALLS = {
    "time.sleep": ("error", "blocks every server at once; use `await asyncio.sleep(s)`"),
    "time.time": ("error", "reads the wall clock; use `asyncio.get_running_loop().time()`"),
    "time.monotonic": ("error", "reads the wall clock; use `asyncio.get_running_loop().time()`"),
    "time.perf_counter": ("error", "reads the wall clock; use the loop's time()"),
    "time.time_ns": ("error", "reads the wall clock; use the loop's time()"),
    "datetime.now": ("error", "reads the wall clock; use the loop's time()"),
    "datetime.datetime.now": ("error", "reads the wall clock; use the loop's time()"),
    "datetime.utcnow": ("error", "reads the wall clock; use the loop's time()"),
    "random.SystemRandom": ("error", "ignores the seed; use the module-level random functions"),
    "os.urandom": ("error", "ignores the seed; use the random module"),
    "uuid.uuid4": ("error", "ignores the seed; number things with a counter"),
    "asyncio.to_thread": ("error", "runs code on a thread; call it directly"),
    "asyncio.wait": ("warning", "its result sets have no fixed order; prefer gather() or "
                                "per-task handling"),
    "asyncio.as_completed": ("warning", "completion order of tasks is not a fixed order; "
                                        "prefer gather()"),
    "asyncio.all_tasks": ("warning", "a set: its order is not deterministic"),
    "id": ("warning", "object identities differ between runs; never decide by them"),
    "print": ("warning", "its output is discarded by the grader; use logging (stamped with "
                         "virtual time and the server)"),
}


@dataclass(frozen=True)
class Finding:
    line: int
    level: str  # "error" or "warning"
    message: str

    def __str__(self) -> str:
        return f"line {self.line}: {self.level}: {self.message}"


def _dotted(node: ast.AST) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        base = _dotted(node.value)
        return f"{base}.{node.attr}" if base else ""
    return ""


class _Checker(ast.NodeVisitor):
    def __init__(self) -> None:
        self.findings: list[Finding] = []
        self.aliases: dict[str, str] = {}  # local name -> dotted origin (from imports)
        self.loop_depth = 0

    def add(self, node: ast.AST, level: str, message: str) -> None:
        self.findings.append(Finding(getattr(node, "lineno", 0), level, message))

    def visit_Import(self, node: ast.Import) -> None:
        for alias in node.names:
            self.aliases[alias.asname or alias.name.split(".")[0]] = alias.name
            if alias.name in _BLOCKING_IMPORTS:
                self.add(node, "error", f"import {alias.name}: {_BLOCKING_IMPORTS[alias.name]}")
            if alias.name == "secrets":
                self.add(node, "error", "import secrets: ignores the seed; use the random module")

    def visit_ImportFrom(self, node: ast.ImportFrom) -> None:
        module = node.module or ""
        if module in _BLOCKING_IMPORTS:
            self.add(node, "error", f"from {module} import ...: {_BLOCKING_IMPORTS[module]}")
        for alias in node.names:
            self.aliases[alias.asname or alias.name] = f"{module}.{alias.name}"

    def visit_Call(self, node: ast.Call) -> None:
        name = _dotted(node.func)
        origin = self.aliases.get(name.split(".")[0], name.split(".")[0])
        full = ".".join([origin, *name.split(".")[1:]]) if name else ""
        rule = _CALLS.get(name) if name in ("id", "print") else (
            _CALLS.get(full) if full not in ("id", "print") else None)
        if rule is not None:
            self.add(node, rule[0], f"{full or name}(): {rule[1]}")
        if full == "random.Random" and not node.args and not node.keywords:
            self.add(node, "error", "random.Random() without a seed ignores the run's seed; "
                                    "use the module-level random functions")
        if (full == "asyncio.sleep" and self.loop_depth and node.args
                and isinstance(node.args[0], ast.Constant) and node.args[0].value == 0):
            self.add(node, "warning", "asyncio.sleep(0) in a loop lets no virtual time pass: "
                                      "a polling loop never ends; sleep a real interval or "
                                      "wait on an asyncio.Event")
        self.generic_visit(node)

    def _loop(self, node: ast.While | ast.For | ast.AsyncFor) -> None:
        self.loop_depth += 1
        self.generic_visit(node)
        self.loop_depth -= 1

    def visit_While(self, node: ast.While) -> None:
        self._loop(node)

    def visit_For(self, node: ast.For) -> None:
        self._check_iteration(node.iter)
        self._loop(node)

    def visit_AsyncFor(self, node: ast.AsyncFor) -> None:
        self._loop(node)

    def visit_comprehension(self, node: ast.comprehension) -> None:
        self._check_iteration(node.iter)
        self.generic_visit(node)

    def _check_iteration(self, it: ast.expr) -> None:
        is_set = isinstance(it, (ast.Set, ast.SetComp)) or (
            isinstance(it, ast.Call) and _dotted(it.func) in ("set", "frozenset"))
        if is_set:
            self.add(it, "warning", "iterating over a set: its order may differ between runs "
                                    "(for strings it does); iterate sorted(...) or a list")

    def visit_ExceptHandler(self, node: ast.ExceptHandler) -> None:
        if node.type is None or _dotted(node.type) in ("BaseException", "asyncio.CancelledError"):
            caught = "everything" if node.type is None else _dotted(node.type)
            self.add(node, "warning", f"except catching {caught}: it swallows the "
                                      "CancelledError that ends a crashed server's tasks; "
                                      "catch Exception, or re-raise CancelledError")
        self.generic_visit(node)


def _check_api(tree: ast.Module) -> list[Finding]:
    classes = [n for n in tree.body if isinstance(n, ast.ClassDef) and n.name == "Raft"]
    if not classes:
        return [Finding(1, "error", "no class Raft at module level: the grader creates servers "
                                    "with Raft(peers, me, persister, apply_ch)")]
    cls = classes[0]
    methods = {n.name: n for n in cls.body if isinstance(n, (ast.FunctionDef,
                                                             ast.AsyncFunctionDef))}
    out = []
    for name in REQUIRED:
        if name not in methods:
            out.append(Finding(cls.lineno, "error", f"class Raft has no {name}(); keep the "
                                                    "skeleton's method signatures"))
        elif isinstance(methods[name], ast.AsyncFunctionDef):
            out.append(Finding(methods[name].lineno, "error", f"{name}() must be a plain "
                               "method (def, not async def): the tester calls it directly"))
    return out


def lint_source(source: str, filename: str = "raft.py") -> list[Finding]:
    try:
        tree = ast.parse(source, filename=filename)
    except SyntaxError as e:
        return [Finding(e.lineno or 0, "error", f"syntax error: {e.msg}")]
    checker = _Checker()
    checker.visit(tree)
    findings = checker.findings + _check_api(tree)
    return sorted(findings, key=lambda f: (f.line, f.level, f.message))


def lint_file(path: Path) -> list[Finding]:
    return lint_source(path.read_text(encoding="utf-8"), path.name)
