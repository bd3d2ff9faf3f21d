"""A submission whose constructor raises."""


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        raise RuntimeError("oops in __init__")

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
