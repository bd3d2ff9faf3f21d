"""A submission that spins on the CPU in get_state and swallows every interrupt."""


class Raft:
    def __init__(self, peers, me, persister, apply_ch):
        pass

    def get_state(self):
        while True:
            try:
                while True:
                    pass
            except BaseException:
                pass

    def start(self, command):
        return -1, -1, False

    def snapshot(self, index, snapshot):
        pass

    def kill(self):
        pass
