"""``trainer``: train, bench and analyze from the command line.

trainer train --env ALE/MontezumaRevenge-v5 --algo snd-v --run-dir runs/mr-sndv [--preset paper]
trainer bench --env ALE/MontezumaRevenge-v5 --algo rnd --num-envs 32 [--json]
trainer analyze CKPT --out features.png
trainer presets --algo snd-v --env procgen:climber --preset paper [--json]
trainer sweep --out sweeps/mr --algos snd-v,rnd --games montezuma --seeds 1-3 [--executor slurm ...]
trainer report sweeps/mr --out report/ [--at 2M,5M]
"""

from __future__ import annotations

import dataclasses
import errno
import importlib
import json
import re
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

import numpy as np
import tyro

from trainer.checkpoint_format import CheckpointError
from trainer.config import Algo, ConfigError, TrainConfig, apply_preset, parse_steps
from trainer.envs import EnvError
from trainer.errors import TrainError, TrainingStopped
from trainer.numbers import non_ascii_number
from trainer.ranks import DistributedError, end_rank, env_rank, is_lost_peer, joined, reports_errors

USAGE = """usage: trainer {train,launch,bench,analyze,presets,sweep,report} [options]

  train     train PPO with RND / SND-V / SND-STD / SND-VIC (or plain PPO); `trainer train --help`
  launch    train over several processes or nodes: `trainer launch [torchrun options] train [options]`
            (torchrun, except that a stop by SIGTERM that every rank survives exits 0: docs/clusters.md)
  bench     env-only and full-training steps/s side by side; `trainer bench --help`
  analyze   t-SNE/PCA of a checkpoint's target features coloured by room; `trainer analyze --help`
  presets   every hyper-parameter a `trainer train` run would use, its value and its source, then exit
  sweep     a grid of runs (algos x games x seeds) on SLURM or this machine; `trainer sweep --help`
  report    IQM tables with bootstrap CIs, curves and profiles of many runs; `trainer report --help`
"""


def _fail(msg: str) -> int:
    if reports_errors():
        prefix = f"rank {env_rank()}: " if env_rank() else ""
        print(f"trainer: error: {prefix}{msg}", file=sys.stderr)
    return 2


class CommandLineError(ValueError):
    """A command line tyro refused; the message is the one line of tyro's error box that says why."""


def tyro_cli(cls: Any, argv: list[str], **kwargs: Any) -> Any:
    """``tyro.cli`` with its error box (a dozen lines for one bad value) turned into the one line of every
    other error: CommandLineError(the box's first sentence). --help is untouched."""
    import contextlib
    import io

    err = io.StringIO()
    try:
        with contextlib.redirect_stderr(err):
            parsed = tyro.cli(cls, args=argv, **kwargs)
        sys.stderr.write(err.getvalue())  # tyro's warnings, if any
        return parsed
    except SystemExit as e:
        if not e.code:
            sys.stderr.write(err.getvalue())
            raise
        raise CommandLineError(_box_sentence(err.getvalue())) from None


def _box_sentence(box: str) -> str:
    """The first paragraph of tyro's error box (drawn in Unicode on a terminal, in ASCII elsewhere)."""
    words: list[str] = []
    lines = [line for line in box.splitlines() if line.strip()]
    for line in lines[1:]:  # after the title line ("╭─ Value error ─╮", or " Value error " without a terminal)
        text = line.strip().strip("│|╰╯").strip()
        if not text.strip("─-+ "):  # a rule
            if words:
                break
            continue
        words.append(text)
    msg = " ".join(words) or "invalid command line (see --help)"
    msg = re.sub(r"^Error parsing (\S+): invalid literal for int\(\) with base 10: (.*)$",
                 r"\1 \2: expected a whole number", msg)  # fmt: skip
    msg = re.sub(r"^Error parsing (\S+): could not convert string to float: (.*)$", r"\1 \2: expected a number", msg)
    if m := re.match(r"^Error parsing (\S+): no type matching \S*STEPS could be instantiated from \['([^']*)'\]", msg):
        try:  # a step count: tyro hides parse_steps' reason behind its own words
            parse_steps(m.group(2))
        except ValueError as why:
            msg = f"{m.group(1)}: {why}"
    return re.sub(r"^Error parsing (\S+): ", r"\1: ", msg)


def _lost_peer(e: BaseException) -> int:
    """A collective failed because another rank died; torchrun stops the job and names that rank."""
    first = str(e).strip().splitlines()[0] if str(e).strip() else type(e).__name__
    first = re.sub(r"^\[[^\]]*\]\s*", "", first)  # gloo's "[.../pair.cc:553] " source location
    print(f"trainer: error: rank {env_rank()}: another rank stopped ({first[:160]})", file=sys.stderr)
    return 2


def train_main(argv: list[str]) -> int:
    code = _train(argv)
    if joined():  # a torchrun rank; its group destroyed, files closed
        end_rank(code)  # no finalisation, where gloo can abort a rank that stopped cleanly (-6)
    return code


def _train(argv: list[str]) -> int:
    from trainer.runs import RunError

    preset = "none"
    for i, a in enumerate(argv):
        if a == "--preset" and i + 1 < len(argv):
            preset = argv[i + 1]
        elif a.startswith("--preset="):
            preset = a.split("=", 1)[1]
    cfg = None
    if (problem := non_ascii_number(argv)) is not None:
        return _fail(problem)
    try:
        default = apply_preset(TrainConfig(), preset)
        cfg = tyro_cli(TrainConfig, argv, default=default, prog="trainer train")
        cfg.validate()
        cfg.check_env()
        # torch (seconds) is imported only now, so --help, a typo and an unknown game answer at once
        from trainer.loop import train

        rows = train(cfg)
    except ConfigError as e:
        for problem in e.problems:
            _fail(problem)
        return 2
    except TrainingStopped as e:
        if env_rank() == 0:  # every rank stops after the same update; rank 0 says so for all
            print(f"trainer: {e}")
        return 0  # a requested stop with its checkpoint written is a success, on every rank (issue 29)
    except (TrainError, EnvError, CheckpointError, RunError, ValueError, DistributedError) as e:
        return _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    except RuntimeError as e:
        if not is_lost_peer(e):
            raise
        return _lost_peer(e)
    except KeyboardInterrupt:
        print("trainer: interrupted; resume with --resume (from the last checkpoint)", file=sys.stderr)
        return 130
    except OSError as e:
        if e.errno == errno.ENOSPC and cfg is not None:
            from trainer.checkpoint import list_checkpoints

            where = f"no space left on device writing {e.filename or cfg.run_dir}"
            if not list_checkpoints(Path(cfg.run_dir) / "checkpoints"):  # --resume would refuse: nothing to resume
                return _fail(
                    f"{where}; no checkpoint was written yet, so there is nothing to resume: free some space, then "
                    f"start over with trainer train --run-dir {cfg.run_dir} --restart (sets the metrics written so "
                    "far aside in an old-<time>/ folder)"
                )
            return _fail(
                f"{where}; the checkpoints and metrics written before are intact: free some space, then "
                f"trainer train --run-dir {cfg.run_dir} --resume"
            )
        # one line naming the path and what was being done, not a bare "run/tb File exists"
        what = f"while training in {cfg.run_dir}" if cfg is not None else "while starting"
        path = f"{e.filename}" + (f" -> {e.filename2}" if e.filename2 else "") if e.filename else ""
        return _fail(f"{path}: {e.strerror or e} ({what})" if path else f"{e.strerror or e} ({what})")
    if rows and env_rank() == 0:
        last = rows[-1]
        print(
            f"trainer: done at step {last['global_step']:,} in {Path(cfg.run_dir)}; "
            f"last update {last['steps_per_s']:.0f} steps/s"
        )
    return 0


@dataclass
class BenchConfig:
    """Measure env-only and full-training steps/s (collect + motivation + PPO update) in one run."""

    env: str = "ALE/MontezumaRevenge-v5"
    """Environment id, as for `trainer train`."""
    algo: Algo = "rnd"
    """Algorithm of the full-training measurement."""
    num_envs: int = 32
    """N parallel envs (over all ranks under torchrun, as for `trainer train`)."""
    rollout_steps: int = 128
    """T steps per rollout."""
    device: Literal["auto", "cpu", "cuda"] = "auto"
    encoder: Literal["paper", "nature"] = "paper"
    amp: Literal["auto", "on", "off"] = "auto"
    channels_last: Literal["auto", "on", "off"] = "auto"
    """Conv weights in the NHWC layout, as for `trainer train` (auto = on on the CPU)."""
    num_workers: int | None = None
    """Env worker processes (None = one per core)."""
    updates: int = 2
    """Timed updates after one warm-up update."""
    json: bool = False
    """Print one JSON object instead of a table."""


def bench(bc: BenchConfig) -> dict:
    from trainer.loop import Trainer

    with tempfile.TemporaryDirectory() as tmp:
        cfg = TrainConfig(
            env=bc.env, algo=bc.algo, num_envs=bc.num_envs, device=bc.device, encoder=bc.encoder, amp=bc.amp,
            channels_last=bc.channels_last,
            num_workers=bc.num_workers, run_dir=Path(tmp), tensorboard=False, progress=False,
            obs_norm_init_steps=1, total_steps=10**12,
        )  # fmt: skip
        # the PPO update of a batch smaller than the default minibatch is one minibatch of the whole batch
        mb = min(cfg.ppo.minibatch_size, bc.rollout_steps * bc.num_envs)
        ppo = dataclasses.replace(cfg.ppo, rollout_steps=bc.rollout_steps, minibatch_size=mb)
        cfg = dataclasses.replace(cfg, ppo=ppo)
        tr = Trainer(cfg)
        try:
            # env only: the same vectoriser, random actions; under torchrun every rank steps its share at
            # once and the slowest rank's time gives the global rate
            rng = np.random.default_rng(0)
            A = tr.agent.spec.num_actions
            steps, local_envs = bc.rollout_steps, tr.cfg.num_envs
            for _ in range(8):
                tr.envs.step(rng.integers(0, A, size=local_envs))
            tr.dist.barrier()
            t0 = time.perf_counter()
            for _ in range(steps):
                tr.envs.step(rng.integers(0, A, size=local_envs))
            env_sps = steps * bc.num_envs / tr.dist.max(time.perf_counter() - t0)
            tr.init_obs_normaliser()
            parts = {"collect": 0.0, "update": 0.0}
            for i in range(bc.updates + 1):
                t0 = time.perf_counter()
                ro = tr.collect()
                t1 = time.perf_counter()
                tr.update(ro, tr.advantages(ro))
                t2 = time.perf_counter()
                if i > 0:  # the first update warms up allocators and kernels
                    parts["collect"] += t1 - t0
                    parts["update"] += t2 - t1
            parts = {k: tr.dist.max(v) for k, v in parts.items()}
            total = parts["collect"] + parts["update"]
            n = bc.updates * cfg.batch_size
            reward_cost = _reward_pass_cost(tr, ro.obs[: bc.rollout_steps])
            return {
                "env": bc.env, "algo": bc.algo, "num_envs": bc.num_envs, "rollout_steps": bc.rollout_steps,
                "device": str(tr.device), "encoder": bc.encoder, "amp": tr.autocast is not None,
                "channels_last": tr.channels_last,
                "world_size": tr.dist.world_size,
                "env_steps_per_s": round(env_sps, 1),
                "train_steps_per_s": round(n / total, 1),
                "collect_steps_per_s": round(n / parts["collect"], 1),
                "update_s_per_rollout": round(parts["update"] / bc.updates, 3),
                **reward_cost,
            }  # fmt: skip
        finally:
            tr.close()


def _reward_pass_cost(tr: Any, obs: Any) -> dict[str, float | None]:
    """Seconds per rollout of the intrinsic-reward pass as trained (float32) and under the training
    autocast (bf16), on the rollout's own observations (T, N, C, H, W): what the float32 reward costs.
    None where there is no motivation; the bf16 figure None where training runs in float32 (``--amp off``,
    or ``auto`` on a CPU or GPU without native bf16)."""
    none = {"reward_fp32_s_per_rollout": None, "reward_amp_s_per_rollout": None}
    if tr.motivation is None:
        return none
    import contextlib

    import torch

    def timed(float32: bool) -> float:
        sync = torch.cuda.synchronize if tr.device.type == "cuda" else (lambda: None)
        with tr.autocast if not float32 else contextlib.nullcontext():
            tr.motivation.reward(obs[0], float32)  # warm-up
            sync()
            t0 = time.perf_counter()
            for x in obs:  # (N, C, H, W), as collect calls it
                tr.motivation.reward(x, float32)
            sync()
        return round(time.perf_counter() - t0, 4)

    if tr.device.type == "cpu":
        torch.set_num_threads(tr.collect_threads)
    amp = timed(False) if tr.autocast is not None else None
    return {"reward_fp32_s_per_rollout": timed(True), "reward_amp_s_per_rollout": amp}


def bench_main(argv: list[str]) -> int:
    if (problem := non_ascii_number(argv)) is not None:
        return _fail(problem)
    try:
        bc = tyro_cli(BenchConfig, argv, prog="trainer bench")
        res = bench(bc)
    except (TrainError, EnvError, ValueError, DistributedError) as e:
        return _fail(str(e).splitlines()[0])
    if env_rank() != 0:
        return 0  # rank 0 reports for all
    if bc.json:
        print(json.dumps(res))
        return 0
    from rich.console import Console
    from rich.table import Table

    ranks = f" over {res['world_size']} ranks" if res["world_size"] > 1 else ""
    t = Table(
        title=f"trainer bench: {res['env']} {res['algo']} N={res['num_envs']}{ranks} T={res['rollout_steps']}"
    )
    for col in ("device", "encoder", "bf16", "NHWC", "env-only steps/s", "training steps/s", "collect steps/s",
                "update s/rollout", "r_int s/rollout fp32 (bf16)"):  # fmt: skip
        t.add_column(col, justify="right")
    fp32, amp = res["reward_fp32_s_per_rollout"], res["reward_amp_s_per_rollout"]
    t.add_row(
        res["device"], res["encoder"], "on" if res["amp"] else "off", "on" if res["channels_last"] else "off",
        f"{res['env_steps_per_s']:,.0f}",
        f"{res['train_steps_per_s']:,.0f}", f"{res['collect_steps_per_s']:,.0f}", f"{res['update_s_per_rollout']}",
        "-" if fp32 is None else f"{fp32}" if amp is None else f"{fp32} ({amp})",
    )  # fmt: skip
    Console().print(t)
    return 0


def launch_main(argv: list[str]) -> int:
    """`trainer launch [torchrun options] train [train options]`: python -m trainer.launch with the script
    filled in (trainer.launch.torchrun_argv)."""
    from trainer.launch import LAUNCH_USAGE, LaunchUsageError, torchrun_argv

    if not argv or argv[0] in ("-h", "--help"):
        print(LAUNCH_USAGE)
        print("torchrun's options: python -m torch.distributed.run --help; the trainer's: trainer train --help")
        return 0 if argv else 2
    try:
        args = torchrun_argv(argv)
    except LaunchUsageError as e:
        return _fail(f"launch: {e}")
    from trainer.launch import main

    return main(args)


def presets_main(argv: list[str]) -> int:
    """`trainer presets [train options] [--json]`: the table of trainer.presets, without training."""
    from trainer.presets import as_json, config_from_argv, render, rows

    want_json = "--json" in argv
    argv = [a for a in argv if a != "--json"]
    try:
        cfg = config_from_argv(argv)
        table = rows(cfg)
    except ConfigError as e:
        for problem in e.problems:
            _fail(problem)
        return 2
    except (EnvError, ValueError) as e:
        return _fail(str(e).splitlines()[0] if str(e) else type(e).__name__)
    print(as_json(table) if want_json else render(cfg, table))
    return 0


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] in ("-h", "--help"):
        print(USAGE)
        return 0 if argv else 2
    cmd, rest = argv[0], argv[1:]
    if cmd == "train":
        return train_main(rest)
    if cmd == "launch":
        return launch_main(rest)
    if cmd == "bench":
        return bench_main(rest)
    if cmd == "analyze":
        try:
            mod = importlib.import_module("trainer.analyze")
        except ModuleNotFoundError:
            return _fail("analyze is not available in this build")
        return mod.main(rest)
    if cmd == "presets":
        return presets_main(rest)
    if cmd in ("sweep", "report"):
        return importlib.import_module(f"trainer.{cmd}").main(rest)
    return _fail(f"unknown command {cmd!r}; valid: train, launch, bench, analyze, presets, sweep, report")


if __name__ == "__main__":
    sys.exit(main())
