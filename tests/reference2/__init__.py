"""A second, independent reference Raft (parts 2A-2D), for raftlab's own tests and the zoo.

``raft.py`` here is never shipped: it lives under tests/ only. It is written in a
deliberately different style from ``reference/raft/raft.py`` (see its docstring), so
that a mutant equivalent on one reference can be told apart on the other.
"""
