"""One run over several processes (issue 10): torchrun + DDP on the CPU with gloo, 2 ranks.

Rank-level checks start 2 processes with torch.multiprocessing and a gloo group of their own; the end-to-end
check launches the real command line under torchrun. Every launch has its own free port and a timeout.
"""

from __future__ import annotations

import dataclasses
import json
import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest
import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from models.actor_critic import ActorCritic
from models.normalization import RunningMeanStd
from trainer.advantages import RewardForwardFilter
from trainer.checkpoint import list_checkpoints, read_metadata
from trainer.cli import main as trainer_main
from trainer.config import PPOConfig, TrainConfig
from trainer.distributed import Distributed
from trainer.motivation import make_motivation
from trainer.motivation_config import MotivationConfig
from trainer.ppo import RolloutBatch, ppo_update
from trainer.ranks import DistributedError

ROOT = Path(__file__).resolve().parents[1]
ALGOS = ["ppo", "rnd", "snd-v", "snd-std", "snd-vic"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _entry(rank: int, world: int, port: int, fn, args) -> None:
    os.environ.update(
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port), RANK=str(rank), WORLD_SIZE=str(world),
        LOCAL_RANK=str(rank), LOCAL_WORLD_SIZE=str(world),
    )  # fmt: skip
    torch.set_num_threads(1)
    dist.init_process_group("gloo", rank=rank, world_size=world)
    try:
        fn(rank, *args)
    finally:
        dist.destroy_process_group()


def run_ranks(fn, *args, world: int = 2, timeout: float = 240.0) -> None:
    """Run ``fn(rank, *args)`` in ``world`` processes joined by a gloo group; fail on error or timeout."""
    ctx = mp.start_processes(
        _entry, args=(world, free_port(), fn, args), nprocs=world, join=False, start_method="spawn"
    )
    deadline = time.monotonic() + timeout
    while not ctx.join(timeout=1.0):
        if time.monotonic() > deadline:
            for p in ctx.processes:
                p.kill()
            pytest.fail(f"{fn.__name__} did not finish on {world} ranks within {timeout:.0f} s")


# ---- statistics ---------------------------------------------------------------------------------------
def _stats_worker(rank: int, out: Path) -> None:
    d = Distributed.from_env()
    rng = np.random.default_rng(100 + rank)
    # the input normaliser: 3 calls of 5 samples, merge, 2 more calls, merge (the base moves on)
    rms = RunningMeanStd((1, 2, 3), var_floor=0.0)
    d.track_normaliser(rms)
    holder = SimpleNamespace(normaliser=rms)
    data = []
    for calls in (3, 2):
        for _ in range(calls):
            x = rng.random((5, 1, 2, 3))
            data.append(x)
            rms.update(torch.from_numpy(x))
        d.merge_normaliser(holder)
    # the reward filter: each rank its 3 envs; moments merged per rollout
    rf = RewardForwardFilter(0.99, 3, torch.device("cpu"))
    rf.merge = d.merge_moments
    rewards = [torch.from_numpy(rng.random((4, 3))).float() for _ in range(2)]
    for r in rewards:
        rf.update(r)
    # unequal sample counts per rank go through the same formula
    x = torch.from_numpy(rng.normal(rank, 1.0 + rank, size=(7 + 5 * rank, 2)))
    n, mean, var = d.merge_moments(x.shape[0], x.mean(0), x.var(0, unbiased=False))
    torch.save(
        {
            "data": np.concatenate(data), "count": rms.count, "mean": rms.mean, "var": rms.var,
            "rf": (rf.count, rf.mean, rf.var), "rewards": rewards, "x": x, "moments": (n, mean, var),
        },
        out / f"stats{rank}.pt",
    )  # fmt: skip


def test_merged_statistics_equal_numpy_of_every_rank_data(tmp_path):
    run_ranks(_stats_worker, tmp_path)
    r0, r1 = (torch.load(tmp_path / f"stats{r}.pt", weights_only=False) for r in range(2))
    for k in ("count", "mean", "var"):
        assert torch.equal(r0[k], r1[k]), k  # every rank holds the same bits
    data = np.concatenate([r0["data"], r1["data"]])  # (50, 1, 2, 3)
    np.testing.assert_allclose(r0["mean"].numpy(), data.mean(0), rtol=1e-12)
    np.testing.assert_allclose(r0["var"].numpy(), data.var(0), rtol=1e-10)
    assert float(r0["count"]) == 5.0  # 2 ranks x 5 calls of 5 = 5 calls of 10 envs, as one process counts
    # reward filter: the same as one process stepping all 6 envs
    ref = RewardForwardFilter(0.99, 6, torch.device("cpu"))
    for a, b in zip(r0["rewards"], r1["rewards"]):
        ref.update(torch.cat([a, b], dim=1))
    for got, want in zip(r0["rf"], (ref.count, ref.mean, ref.var)):
        assert torch.allclose(got, want, rtol=1e-12), (got, want)
    assert all(torch.equal(a, b) for a, b in zip(r0["rf"], r1["rf"]))
    x = torch.cat([r0["x"], r1["x"]]).numpy()
    n, mean, var = r0["moments"]
    assert float(n) == 19
    np.testing.assert_allclose(mean.numpy(), x.mean(0), rtol=1e-12)
    np.testing.assert_allclose(var.numpy(), x.var(0), rtol=1e-12)


# ---- gradients ----------------------------------------------------------------------------------------
def _fixed_batch(n: int) -> RolloutBatch:
    g = torch.Generator().manual_seed(7)
    return RolloutBatch(
        obs=torch.randint(0, 256, (n, 4, 84, 84), dtype=torch.uint8, generator=g),
        actions=torch.randint(0, 18, (n,), generator=g),
        logp=-torch.rand(n, generator=g) * 3,
        advantages=torch.randn(n, generator=g),
        ret_ext=torch.randn(n, generator=g),
        ret_int=torch.randn(n, generator=g),
    )


def _grads(module: torch.nn.Module) -> dict[str, torch.Tensor]:
    return {k: p.grad.clone() for k, p in module.named_parameters() if p.grad is not None}


def _grad_worker(rank: int, out: Path) -> None:
    d = Distributed.from_env()
    cfg = dataclasses.replace(TrainConfig().ppo, epochs=1, max_grad_norm=1e9)
    full = _fixed_batch(8)
    mine = RolloutBatch(*(t[4 * rank : 4 * rank + 4] for t in full))
    res = {}
    for dual in (True, False):  # plain PPO leaves the intrinsic head out of the loss
        torch.manual_seed(0)
        policy = ActorCritic((4, 84, 84), 18, encoder="nature")
        ref = ActorCritic((4, 84, 84), 18, encoder="nature")
        ref.load_state_dict(policy.state_dict())
        for net, batch, mb in ((d.wrap_policy(policy, dual), mine, 4), (ref, full, 8)):
            opt = torch.optim.Adam(net.parameters(), lr=1e-4)
            # one minibatch, one step: the gradients stay on the parameters after the update
            c = dataclasses.replace(cfg, minibatch_size=mb)
            ppo_update(net, opt, batch, c, "shuffle", dual, torch.Generator().manual_seed(rank))
        res[f"policy{dual}"] = (_grads(policy), _grads(ref))
    # motivation predictors on fixed transitions: a mean loss (RND) and SND-STD's sum over the minibatch.
    # Backward goes through everything a step trains, as in Motivation.update; only the predictor's
    # gradient is compared: SND-STD's InfoNCE target loss couples the samples of a minibatch.
    states, nexts = full.obs[:, :1].expand(8, 4, 84, 84), full.obs[:, 1:2].expand(8, 4, 84, 84)
    for algo in ("rnd", "snd-std"):
        mc = MotivationConfig(predictor_keep_prob=1.0, minibatch_size=4)
        m = make_motivation(algo, (4, 84, 84), False, mc, torch.device("cpu"), seed=0)
        m_ref = make_motivation(algo, (4, 84, 84), False, mc, torch.device("cpu"), seed=0)
        d.wrap_motivation(m, mc, seed=None)
        part = slice(4 * rank, 4 * rank + 4)
        for step, s, n in (
            (m.distributed_step, states[part], nexts[part]),
            (m_ref.step_losses, states, nexts),
        ):
            losses = step(s.contiguous(), n.contiguous(), slice(None))
            sum(losses[k] for k in ("loss_predictor", "loss_target") if k in losses).backward()
        res[algo] = (_grads(m.predictor), _grads(m_ref.predictor))
    torch.save(res, out / f"grads{rank}.pt")


def test_ddp_gradient_equals_one_process_gradient_of_the_whole_minibatch(tmp_path):
    run_ranks(_grad_worker, tmp_path)
    r0, r1 = (torch.load(tmp_path / f"grads{r}.pt") for r in range(2))
    for key, (ddp, ref) in r0.items():
        # plain PPO: no gradient for the unused intrinsic head, as in one process
        assert ddp.keys() == ref.keys() and ddp, key
        for name in ddp:
            assert torch.equal(ddp[name], r1[key][0][name]), (key, name)  # averaged: same on both ranks
            torch.testing.assert_close(ddp[name], ref[name], rtol=1e-4, atol=1e-7, msg=f"{key} {name}")
    assert not any("value_int" in k for k in r0["policyFalse"][0])


# ---- the trainer on every algo ------------------------------------------------------------------------
def tiny(run_dir: Path, algo: str, **kw) -> TrainConfig:
    """2 envs over all ranks x 8 steps, 8-sample minibatches, episodes of 4 steps, in-process envs."""
    cfg = TrainConfig(
        algo=algo, run_dir=run_dir, encoder="nature", num_envs=2, total_steps=10**6, device="cpu", seed=3,
        num_workers=0, obs_norm_init_steps=2, tensorboard=False, progress=False, checkpoint_every=10**6, **kw,
    )  # fmt: skip
    return dataclasses.replace(
        cfg,
        env_cfg=dataclasses.replace(cfg.env_cfg, max_episode_steps=4),
        ppo=dataclasses.replace(
            cfg.ppo, rollout_steps=8, minibatch_size=8, int_reward_std_norm=algo == "rnd"
        ),
        motivation=dataclasses.replace(cfg.motivation, minibatch_size=8, sndv_pairs=8),
    )


def _state(tr) -> dict[str, torch.Tensor]:
    out = {f"policy.{k}": v.clone() for k, v in tr.policy.state_dict().items()}
    if tr.motivation is not None:
        out.update({f"motivation.{k}": v.clone() for k, v in tr.motivation.state_dict().items()})
    if tr.reward_filter is not None:
        out.update({f"rf.{k}": tr.reward_filter.state_dict()[k].clone() for k in ("mean", "var", "count")})
    return out


def _trainer_worker(rank: int, out: Path) -> None:
    from trainer.cli import BenchConfig, bench
    from trainer.loop import Trainer

    res = {}
    for algo in ALGOS:
        tr = Trainer(tiny(out / algo, algo))
        try:
            before = _state(tr)
            rows = tr.train(max_updates=1)
            res[algo] = {"before": before, "after": _state(tr), "row": rows[0], "envs": tr.cfg.num_envs}
        finally:
            tr.close()
    res["bench"] = bench(
        BenchConfig(algo="ppo", num_envs=2, rollout_steps=8, updates=1, num_workers=0, device="cpu",
                    encoder="nature")
    )  # fmt: skip
    torch.save(res, out / f"trainer{rank}.pt")


def test_every_rank_holds_bit_identical_weights_after_one_update(tmp_path):
    run_ranks(_trainer_worker, tmp_path, timeout=400)
    r0, r1 = (torch.load(tmp_path / f"trainer{r}.pt", weights_only=False) for r in range(2))
    for algo in ALGOS:
        a, b = r0[algo], r1[algo]
        assert a["envs"] == 1, algo  # 2 envs split over 2 ranks
        assert a["after"].keys() == b["after"].keys()
        for k in a["after"]:
            assert torch.equal(a["after"][k], b["after"][k]), f"{algo}: {k} differs between ranks"
        changed = [k for k in a["after"] if not torch.equal(a["before"][k], a["after"][k])]
        assert any(k.startswith("policy.") for k in changed), algo  # it did learn
        if algo != "ppo":
            assert any(".predictor." in k for k in changed), algo
        # rank 0's row is the whole run's: both ranks' episodes (1 env each, 8 steps, episodes of 4)
        drop = {"wall_time_s", "steps_per_s"}
        assert {k: v for k, v in a["row"].items() if k not in drop} == {
            k: v for k, v in b["row"].items() if k not in drop
        }, algo
        assert a["row"]["episodes"] == 4 and a["row"]["episode_lengths"] == [4, 4, 4, 4], algo
    assert float(r0["rnd"]["after"]["rf.count"]) == 16  # the reward filter saw 8 steps x 2 envs
    assert r0["bench"]["world_size"] == 2 and r0["bench"]["num_envs"] == 2
    assert 0 < r0["bench"]["train_steps_per_s"] <= r0["bench"]["collect_steps_per_s"]
    assert (tmp_path / "ppo" / "metrics.jsonl").read_text().count("\n") == 1  # rank 0 alone wrote, once


# ---- without torchrun, and bad launches -----------------------------------------------------------------
def test_without_torchrun_a_single_process_is_untouched(monkeypatch):
    for k in ("RANK", "WORLD_SIZE", "LOCAL_RANK", "LOCAL_WORLD_SIZE"):
        monkeypatch.delenv(k, raising=False)
    d = Distributed.from_env()
    assert (d.rank, d.world_size, d.active, d.is_main) == (0, 1, False, True)
    cfg = TrainConfig(num_envs=3, ppo=PPOConfig(minibatch_size=64)).resolved()
    assert d.local_config(cfg) is cfg
    policy = torch.nn.Linear(2, 2)
    assert d.wrap_policy(policy, True) is policy
    assert d.merge_episodes(None, [1.0], [2], [3]) == ([1.0], [2], [3])
    state = {"gen": torch.zeros(3)}
    assert d.resume_state(state) is state


def test_rank_share_and_seeds():
    cfg = TrainConfig(num_envs=8, seed=5, num_workers=0).resolved()
    shares = [Distributed(rank=r, world_size=2).local_config(cfg) for r in range(2)]
    assert [c.num_envs for c in shares] == [4, 4]
    assert [c.ppo.minibatch_size for c in shares] == [256, 256]
    assert [c.motivation.minibatch_size for c in shares] == [256, 256]
    assert [c.motivation.sndv_pairs for c in shares] == [32, 32]
    assert shares[0].seed == 5 and shares[1].seed > 5 + 8  # rank 0 keeps the run's seed; envs never overlap
    sndv = TrainConfig(num_envs=8, algo="snd-v", motivation=MotivationConfig(sndv_pairs=6)).resolved()
    with pytest.raises(
        DistributedError, match="--motivation.sndv-pairs 6 does not split evenly over 4 ranks"
    ):
        Distributed(rank=0, world_size=4).local_config(sndv)


@pytest.mark.parametrize(
    "args, needle",
    [(["--num-envs", "3", "--ppo.minibatch-size", "64"], "--num-envs 3 does not split evenly over 2 ranks"),
     (["--ppo.minibatch-size", "511"], "--ppo.minibatch-size 511")],
)  # fmt: skip
def test_a_share_that_does_not_split_gives_one_line_on_rank_0(tmp_path, monkeypatch, capsys, args, needle):
    for rank in (0, 1):
        monkeypatch.setenv("RANK", str(rank))
        monkeypatch.setenv("WORLD_SIZE", "2")
        rc = trainer_main(
            ["train", "--run-dir", str(tmp_path / "r"), "--device", "cpu", "--no-progress", *args]
        )
        err = capsys.readouterr().err.strip()
        assert rc == 2
        if rank == 0:
            assert needle in err and "multiple of 2" in err and len(err.splitlines()) == 1, err
        else:
            assert err == ""  # every rank meets the same problem; rank 0 says it once


# ---- the real command line under torchrun -------------------------------------------------------------
def _cli(run: Path, *extra: str) -> list[str]:
    return ["-m", "trainer.cli", "train", "--run-dir", str(run), "--algo", "rnd", "--encoder", "nature",
            "--num-envs", "2", "--ppo.rollout-steps", "16", "--ppo.minibatch-size", "16",
            "--motivation.minibatch-size", "16", "--ppo.int-reward-std-norm", "--checkpoint-every", "32",
            "--obs-norm-init-steps", "2", "--num-workers", "0", "--device", "cpu", "--no-progress",
            "--env-cfg.max-episode-steps", "8", *extra]  # fmt: skip


def _torchrun(nproc: int) -> list[str]:
    return [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node", str(nproc),
            "--rdzv-backend", "c10d", "--rdzv-endpoint", f"127.0.0.1:{free_port()}", "--monitor-interval", "0.5"]  # fmt: skip


def _rank_pid(parent: int, rank: int) -> int | None:
    """The pid of torchrun's worker with RANK=rank (a child of ``parent``), from /proc."""
    for p in Path("/proc").iterdir():
        if not p.name.isdigit():
            continue
        try:
            if int((p / "stat").read_text().rsplit(")", 1)[1].split()[1]) != parent:
                continue
            env = (p / "environ").read_bytes().split(b"\0")
        except (OSError, IndexError, ValueError):
            continue
        if f"RANK={rank}".encode() in env:
            return int(p.name)
    return None


def _contiguous(run: Path) -> list[dict]:
    text = (run / "metrics.jsonl").read_text()
    assert text.endswith("\n")  # no half-written row
    rows = [json.loads(line) for line in text.splitlines()]
    assert [r["update"] for r in rows] == list(range(1, len(rows) + 1))  # none lost, none twice
    return rows


@pytest.mark.skipif(not Path("/proc/self/environ").exists(), reason="finds torchrun's workers through /proc")
def test_two_ranks_under_torchrun_write_one_run_that_plays_and_resumes_after_kill_9(tmp_path):
    from snd_player.core.session import Session
    from trainer.agent import load_agent

    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    p = subprocess.Popen([*_torchrun(2), *_cli(run, "--total-steps", "100k")], env=env, cwd=tmp_path,
                         stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # fmt: skip
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and len(list_checkpoints(run / "checkpoints")) < 2:
            assert p.poll() is None, p.stderr.read().decode()[-2000:]
            time.sleep(0.2)
        assert len(list_checkpoints(run / "checkpoints")) >= 2, "no two checkpoints in time"
        pid = _rank_pid(p.pid, 1)
        assert pid is not None
        os.kill(pid, signal.SIGKILL)
        rc = p.wait(timeout=90)  # torchrun notices and stops the other rank
    finally:
        if p.poll() is None:
            p.kill()
            p.wait()
    stderr = p.stderr.read().decode()
    assert rc != 0, stderr[-2000:]
    # nothing half-written under a final name: every row parses, every checkpoint loads
    rows = _contiguous(run)
    # 1 env per rank ends 2 episodes of 8 steps in a 16-step rollout: 4 means both ranks' are there
    assert rows and all(r["episodes"] == 4 for r in rows)
    assert all(r["global_step"] == 32 * r["update"] for r in rows)
    ckpts = list_checkpoints(run / "checkpoints")
    for c in [*ckpts, run / "checkpoints" / "best.safetensors"]:
        load_agent(c)
    assert len(list((run / "tb").glob("events.*"))) == 1  # rank 0 alone writes TensorBoard
    meta = read_metadata(ckpts[-1])
    assert meta["world_size"] == 2 and meta["config"]["num_envs"] == 2  # the run's config, not a rank's
    session = Session.from_checkpoint(ckpts[-1])
    try:
        rec = session.step()
        assert rec.probs.shape == (18,)
    finally:
        session.close()

    # the same world size continues: no row lost or twice
    last = int(ckpts[-1].stem)
    target = last + 64
    done = subprocess.run([*_torchrun(2), *_cli(run, "--resume", "--total-steps", str(target))], env=env,
                          cwd=tmp_path, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    rows = _contiguous(run)
    assert rows[-1]["global_step"] == target and rows[-1]["episodes"] == 4
    state = torch.load(list_checkpoints(run / "checkpoints")[-1].with_suffix(".state.pt"), weights_only=True)
    assert state["world_size"] == 2 and len(state["ranks"]) == 2
    assert not torch.equal(state["ranks"][0]["sample_gen"]["state"], state["ranks"][1]["sample_gen"]["state"])

    # one process re-splits the run: the same 2 envs, the same global minibatch
    alone = subprocess.run([sys.executable, *_cli(run, "--resume", "--total-steps", str(target + 32))], env=env,
                           cwd=tmp_path, capture_output=True, text=True, timeout=240)  # fmt: skip
    assert alone.returncode == 0, alone.stderr[-3000:]
    rows = _contiguous(run)
    assert rows[-1]["global_step"] == target + 32
    assert read_metadata(list_checkpoints(run / "checkpoints")[-1])["world_size"] == 1


def test_resume_state_is_re_split_over_another_world_size():
    """A checkpoint's per-rank streams go back to their ranks; ranks it did not have start streams of their
    own; the reward filter's per-env returns (stored in global env order) are split by rank."""

    def fake(rank_seed: int) -> SimpleNamespace:
        rf = RewardForwardFilter(0.99, 2, torch.device("cpu"))
        return SimpleNamespace(
            device=torch.device("cpu"), motivation=None, reward_filter=rf, update_idx=5,
            cfg=SimpleNamespace(seed=rank_seed, num_envs=2), run_cfg=SimpleNamespace(num_envs=4),
            gen=torch.Generator().manual_seed(1), sample_gen=torch.Generator().manual_seed(2),
        )  # fmt: skip

    streams = [torch.Generator().manual_seed(100 + r).get_state() for r in range(2)]
    rewems = torch.arange(4, dtype=torch.float64)
    one_process = {"gen": streams[0], "reward_filter": {"rewems": rewems}}  # no "ranks": world size 1
    two_ranks = {**one_process, "ranks": [
        {"gen": s, "sample_gen": s, "torch_rng": torch.get_rng_state(), "motivation_gen": torch.zeros(0)}
        for s in streams
    ]}  # fmt: skip
    torch_rng = torch.get_rng_state()
    try:
        t1 = fake(7 + 1_000_003)
        Distributed(rank=1, world_size=2)._restore_rank_state(t1, two_ranks)  # same world: its own streams
        assert torch.equal(t1.gen.get_state(), streams[1])
        assert torch.equal(t1.reward_filter.rewems, rewems[2:])
        t2 = fake(7 + 1_000_003)
        Distributed(rank=1, world_size=2)._restore_rank_state(t2, one_process)  # a new rank: fresh streams
        assert not torch.equal(t2.gen.get_state(), streams[0])
        assert not torch.equal(t2.gen.get_state(), torch.Generator().manual_seed(1).get_state())
        assert torch.equal(t2.reward_filter.rewems, rewems[2:])
    finally:
        torch.set_rng_state(torch_rng)


# ---- a requested stop under torchrun (issue 29) -----------------------------------------------------------
def test_a_rank_under_torchrun_outlives_the_forwarded_second_signal():
    """torchrun forwards the SIGTERM it gets to every rank, and a Ctrl-C or `scancel` reaches the ranks as
    well: each rank sees the stop twice. The second must not kill it before its checkpoint (outside
    torchrun a second signal still stops at once)."""
    code = (
        "import os, signal, time\n"
        "from trainer.stop import StopFlag\n"
        "stop = StopFlag().install()\n"
        "os.kill(os.getpid(), signal.SIGTERM); time.sleep(0.05)\n"
        "os.kill(os.getpid(), signal.SIGTERM); time.sleep(0.05)\n"
        "print(stop.name)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TORCHELASTIC_RUN_ID": "test"}
    done = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert (done.returncode, done.stdout) == (0, "SIGTERM\n"), done.stderr[-2000:]
    env.pop("TORCHELASTIC_RUN_ID")
    alone = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=120)
    assert alone.returncode == -signal.SIGTERM


def test_sigterm_to_the_launcher_stops_every_rank_with_one_line_and_exit_0(tmp_path):
    """`kill -TERM` of a 2-rank job: a checkpoint, the stop line once (rank 0), exit 0 from the launcher.
    Plain torchrun exits 1 with its SignalException traceback whatever the ranks did; trainer.launch is
    torchrun with that one difference (docs/clusters-exit-status.md)."""
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    launch = [sys.executable, "-m", "trainer.cli", "launch", *_torchrun(2)[3:]]  # = python -m trainer.launch
    p = subprocess.Popen([*launch, *_cli(run, "--total-steps", "100k")[2:]], env=env, cwd=tmp_path,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)  # fmt: skip
    try:
        deadline = time.monotonic() + 150
        while time.monotonic() < deadline and not list_checkpoints(run / "checkpoints"):
            assert p.poll() is None, p.stderr.read()[-2000:]
            time.sleep(0.2)
        assert list_checkpoints(run / "checkpoints"), "no checkpoint in time"
        p.send_signal(signal.SIGTERM)
        out, err = p.communicate(timeout=120)
    finally:
        if p.poll() is None:
            p.kill()
            p.communicate()
    assert p.returncode == 0, err[-3000:]
    stops = [line for line in out.splitlines() if "SIGTERM received: stopped at step" in line]
    assert len(stops) == 1 and "--resume" in stops[0], out
    assert "Traceback" not in err, err[-3000:]
    rows = _contiguous(run)
    last = list_checkpoints(run / "checkpoints")[-1]
    assert int(last.stem) == rows[-1]["global_step"] and last.with_suffix(".state.pt").is_file()


def test_a_rank_whose_interpreter_finalisation_would_abort_still_exits_0(tmp_path):
    """gloo's C++ threads can call std::terminate while the interpreter finalises a rank (an object still
    holding the process group freed late): CI saw rank 1 of a cleanly stopped job die with SIGABRT after its
    checkpoint, and the job exit 143. Each rank here aborts if it ever reaches finalisation (an atexit hook
    calling os.abort); a rank that is done skips it, so the job still ends 0 with its last checkpoint."""
    rank = tmp_path / "rank.py"
    rank.write_text("import atexit, os, sys\natexit.register(os.abort)\nfrom trainer.cli import main\nsys.exit(main())\n")
    run = tmp_path / "run"
    env = {**os.environ, "PYTHONPATH": str(ROOT), "OMP_NUM_THREADS": "1"}
    done = subprocess.run([*_torchrun(2), str(rank), *_cli(run, "--total-steps", "128")[2:]], env=env, cwd=tmp_path,
                          capture_output=True, text=True, timeout=240)  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    assert "exitcode: -6" not in done.stderr
    assert int(list_checkpoints(run / "checkpoints")[-1].stem) == _contiguous(run)[-1]["global_step"] == 128


def test_trainer_launch_puts_the_trainer_after_torchruns_options(capsys):
    """`trainer launch [torchrun options] train [options]` is `python -m trainer.launch [torchrun options]
    -m trainer.cli train [options]`; without `train`, or with a script of its own, it is one line and 2."""
    from trainer.cli import main
    from trainer.launch import LaunchUsageError, torchrun_argv

    assert torchrun_argv(["--nproc-per-node", "8", "--nnodes=2", "train", "--run-dir", "r", "--algo", "sndv"]) == [
        "--nproc-per-node", "8", "--nnodes=2", "-m", "trainer.cli", "train", "--run-dir", "r", "--algo", "sndv"
    ]  # fmt: skip
    assert torchrun_argv(["train"]) == ["-m", "trainer.cli", "train"]
    for bad in (["--nproc-per-node", "2"], ["--nproc-per-node", "2", "-m", "trainer.cli", "train"]):
        with pytest.raises(LaunchUsageError):
            torchrun_argv(bad)
        assert main(["launch", *bad]) == 2
        err = capsys.readouterr().err
        assert err.startswith("trainer: error: launch: ") and err.count("\n") == 1
    assert main(["launch", "--help"]) == 0 and "trainer launch [torchrun options] train" in capsys.readouterr().out
