"""``python -m trainer.launch``: torchrun, except that a requested stop is a success (exit status 0).

Takes torchrun's own arguments (``python -m trainer.launch --nproc-per-node 8 -m trainer.cli train ...``).
When torchrun itself gets SIGTERM or SIGINT (``kill`` of the job, ``scancel``, SLURM's ``--signal``,
Ctrl-C), it forwards the signal to every rank, waits for them (``--shutdown-timeout``, 30 s by default) and
then raises its ``SignalException``: a traceback and exit status 1 although every rank wrote its checkpoint
and ended with 0 (torch.distributed.elastic.agent.server.api.SimpleElasticAgent.run re-raises it;
torch.distributed.launcher.api.launch_agent re-raises it again). Here that exception is caught: the job
exits 0 when every rank exited 0 (the stop was clean: ``--resume`` continues it), and otherwise with
128 + the signal number, the shell's convention for "ended by that signal", in one line.

Everything else (rendezvous, a rank that fails, the exit status of a finished job) is torchrun's, unchanged.
"""

from __future__ import annotations

import signal
import sys


def main(argv: list[str] | None = None) -> int:
    from torch.distributed.elastic.multiprocessing import api
    from torch.distributed.run import main as torchrun_main

    codes: list[int | None] = []
    original = api.SubprocessContext._close

    def _close(self: api.SubprocessContext, death_sig: signal.Signals, timeout: int = 30) -> None:
        original(self, death_sig, timeout)  # signals the ranks and waits for them (SIGKILL after timeout)
        codes[:] = [h.proc.poll() for h in self.subprocess_handlers.values()]

    api.SubprocessContext._close = _close  # type: ignore[method-assign]
    try:
        torchrun_main(sys.argv[1:] if argv is None else argv)
    except api.SignalException as e:
        sig = signal.Signals(e.sigval)
        if codes and all(c == 0 for c in codes):
            return 0  # every rank stopped cleanly after its checkpoint; rank 0 printed the stop line
        print(
            f"trainer.launch: {sig.name} received; the ranks exited with {codes or 'nothing (none had started)'}",
            file=sys.stderr,
        )
        return 128 + int(sig)
    finally:
        api.SubprocessContext._close = original  # type: ignore[method-assign]
    return 0


if __name__ == "__main__":
    sys.exit(main())
