"""The sandbox side: where a student's Raft runs, and nothing that judges it.

    api       what student code holds: ClientEnd, Persister, the apply channel
    loader    loading a submission's module and finding its Raft class
    host      one server life: its loop, its Raft, its report to the trusted side
    guards    refuses time.sleep, threads and wall clocks; interrupts CPU spins
    jail      confining a sandbox process: user, limits, system calls, environment
    process   the processes: the template, a run's zygote, one per server life

Nothing here imports the tester, the monitors, the network model or the
grader (``harness._trusted``, ``grader``): a sandbox knows only the student API
and ``harness._protocol``. Whatever a sandbox reports is checked by the trusted
side before it counts.
"""

sealed: list[bool] = [False]
"""True in a sandbox process: ``harness`` then refuses its trusted names."""
