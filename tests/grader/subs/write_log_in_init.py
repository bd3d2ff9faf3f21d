"""A submission that opens a debug log for writing in its constructor.

Harmless when run in-process (the log is /dev/null, so nothing is written);
in a graded run the sandbox's system-call filter refuses to open any file for
writing, so the constructor raises PermissionError. A replay reproduces the
graded failure only in the mode that graded it (``--sandbox``).
"""

import os


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        self.log_file = open(os.devnull, "w")  # noqa: SIM115 - a student's debug log

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        self.log_file.close()
