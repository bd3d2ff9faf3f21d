"""A submission that allocates without bound."""


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        self.hoard = []
        while True:
            self.hoard.append(bytearray(50 * 1024 * 1024))

    def get_state(self):
        return 0, False

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
