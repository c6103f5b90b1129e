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

``trainer launch [torchrun options] train [train options]`` is the same with the script filled in: the
torchrun options come first, and ``train`` starts the trainer's (:func:`torchrun_argv`).
"""

from __future__ import annotations

import signal
import sys

LAUNCH_USAGE = (
    "usage: trainer launch [torchrun options] train [train options], e.g. trainer launch --nproc-per-node 2 "
    "train --run-dir runs/mr --algo sndv"
)


class LaunchUsageError(ValueError):
    """A `trainer launch` command line without its `train` part; the message is one line."""


def torchrun_argv(argv: list[str]) -> list[str]:
    """torchrun's arguments for ``trainer launch ARGV``: the options before the first ``train`` are
    torchrun's; ``train`` and what follows become ``-m trainer.cli train ...`` (the ranks run the trainer
    with the same Python). ``-m`` or a script among the options is refused: the script is the trainer."""
    if "train" not in argv:
        raise LaunchUsageError(f"no `train` after the torchrun options; {LAUNCH_USAGE.removeprefix('usage: ')}")
    i = argv.index("train")
    options = argv[:i]
    if any(a in ("-m", "--module", "--no-python", "--no_python") for a in options):
        raise LaunchUsageError(
            "the script is the trainer's: give torchrun's options and then train (no -m or --no-python); "
            "python -m trainer.launch takes a torchrun command line as it is"
        )
    return [*options, "-m", "trainer.cli", *argv[i:]]


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
