"""A submission whose constructor blocks forever in C, using no CPU (only the
worker's wall-clock kill can stop it)."""

import select


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        select.select([], [], [])

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
