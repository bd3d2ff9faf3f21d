"""A Raft that does nothing: every lab test fails against it."""


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        self.me = me

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
