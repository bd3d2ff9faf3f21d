"""A submission that ends its own process."""

import os


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        os._exit(7)

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
