"""The vectorisers, N envs stepped together for training: the ``VecEnv`` interface and its three kinds,
``AtariSyncVecEnv`` (in this process), ``AtariPoolVecEnv`` (worker processes over one shared buffer) and
``ProcgenVecEnv`` (procgen's own batched env); ``make_vec_env`` picks one.

``_pool_worker`` is the target of the pool's processes: under 'spawn' and 'forkserver' a worker imports it
from here by name (``trainer.envs.vector._pool_worker``), so it stays a module-level function.
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import os
import signal
import traceback
from abc import ABC, abstractmethod
from multiprocessing.connection import Connection
from typing import Any

import cv2
import numpy as np

from trainer.envs.atari_core import AtariCore, GameInfo
from trainer.envs.ids import EnvConfig, EnvError, is_procgen, validate_env_config
from trainer.envs.procgen_core import ProcgenCore
from trainer.envs.spec import EnvSpec, clip_reward, env_spec

StepResult = tuple[np.ndarray, np.ndarray, np.ndarray, dict[str, np.ndarray]]
"""obs uint8 (N, C, H, W), learning reward float32 (N,), done bool (N,), info arrays (N,)."""

_INFO_FIELDS: tuple[tuple[str, type[np.generic]], ...] = (
    ("raw_reward", np.float32),
    ("terminated", np.bool_),
    ("truncated", np.bool_),
    *((name, np.int32) for name in GameInfo._fields),  # level, room, x, y, lives, inventory
    ("episode_score", np.float64),  # of the episode that ended at this step; nan where none did
    ("episode_length", np.int32),  # agent steps of that episode; 0 where none ended
)


class VecEnv(ABC):
    """N envs stepped together, with same-step auto-reset.

    For an env that is done at a step, the returned obs is the first of its next episode, while the info
    (level, room, x, y, lives, inventory, episode_score, episode_length) describes the ended episode's last
    step. Returned arrays belong to the caller (they are copies). ``step_async`` / ``step_wait`` let the
    trainer run the network while the envs step.
    """

    num_envs: int
    spec: EnvSpec
    _waiting: bool = False

    @abstractmethod
    def reset(self) -> np.ndarray:
        """Start new episodes everywhere; returns obs uint8 (N, C, H, W)."""

    @abstractmethod
    def _start(self, actions: np.ndarray) -> None: ...

    @abstractmethod
    def _finish(self) -> StepResult: ...

    @abstractmethod
    def close(self) -> None: ...

    def step_async(self, actions: np.ndarray) -> None:
        """Start a step with actions int (N,) in [0, num_actions)."""
        if self._waiting:
            raise RuntimeError("step_async called twice without step_wait")
        a = np.asarray(actions)
        if a.shape != (self.num_envs,) or a.dtype.kind not in "iu":
            raise EnvError(f"actions must be integers of shape ({self.num_envs},), got {a.dtype} {a.shape}")
        if a.min() < 0 or a.max() >= self.spec.num_actions:
            raise EnvError(f"actions must be in 0..{self.spec.num_actions - 1}, got {a.min()}..{a.max()}")
        self._start(a)
        self._waiting = True

    def step_wait(self) -> StepResult:
        """Wait for the step that ``step_async`` started; returns (obs, reward, done, info)."""
        if not self._waiting:
            raise RuntimeError("step_wait called without step_async")
        self._waiting = False
        return self._finish()

    def step(self, actions: np.ndarray) -> StepResult:
        self.step_async(actions)
        return self.step_wait()

    def __enter__(self) -> VecEnv:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _vec_layout(
    num_envs: int, obs_shape: tuple[int, ...]
) -> tuple[list[tuple[str, Any, tuple[int, ...], int]], int]:
    """(name, dtype, shape, byte offset) of every vec-env array, and the bytes they need in all."""
    n = num_envs
    fields = [("obs", np.uint8, (n, *obs_shape)), ("actions", np.int64, (n,)), ("reward", np.float32, (n,))]
    fields += [("done", np.bool_, (n,))] + [(name, dt, (n,)) for name, dt in _INFO_FIELDS]
    layout, offset = [], 0
    for name, dt, shape in fields:
        layout.append((name, dt, shape, offset))
        size = int(np.prod(shape)) * np.dtype(dt).itemsize
        offset += -(-size // 64) * 64  # 64-byte aligned, so no two fields share a cache line
    return layout, offset


class _VecBuffers:
    """A vec env's observations, actions and step results, carved out of one flat byte buffer.

    The pool puts that buffer in shared memory: workers write frames and results where the parent reads
    them, and the pipes carry one-byte commands only.
    """

    def __init__(self, num_envs: int, obs_shape: tuple[int, ...], buffer: np.ndarray | None = None) -> None:
        layout, nbytes = _vec_layout(num_envs, obs_shape)
        buf = np.zeros(nbytes, np.uint8) if buffer is None else buffer
        self.arrays: dict[str, np.ndarray] = {}
        for name, dt, shape, offset in layout:
            size = int(np.prod(shape)) * np.dtype(dt).itemsize
            self.arrays[name] = buf[offset : offset + size].view(dt).reshape(shape)
        self.obs = self.arrays["obs"]  # (N, C, H, W) uint8
        self.actions = self.arrays["actions"]  # (N,) int64

    def result(self) -> StepResult:
        """Copies of obs, reward, done and the info arrays, so that the caller owns what it gets."""
        a = self.arrays
        info = {name: a[name].copy() for name, _ in _INFO_FIELDS}
        return a["obs"].copy(), a["reward"].copy(), a["done"].copy(), info


class _AtariBatch:
    """Envs [lo, hi) of an Atari vec env, stepped one after another in this process with same-step
    auto-reset; frames and results go straight into ``bufs``. Env i is seeded with seed + i."""

    def __init__(self, cfg: EnvConfig, seed: int, bufs: _VecBuffers, lo: int, hi: int) -> None:
        self.cfg, self.bufs, self.slice = cfg, bufs, slice(lo, hi)
        self.cores = [AtariCore(cfg, seed + i, stack=bufs.obs[i]) for i in range(lo, hi)]

    def reset(self) -> None:
        for core in self.cores:
            core.reset()
        n = len(self.cores)
        self._write(
            [0.0] * n, [False] * n, [False] * n, [c.game_info() for c in self.cores], [np.nan] * n, [0] * n
        )

    def step(self) -> None:
        raws, terms, truncs, infos, scores, lengths = [], [], [], [], [], []
        for core, action in zip(self.cores, self.bufs.actions[self.slice].tolist()):
            raw, terminated, truncated = core.step(action)
            raws.append(raw)
            terms.append(terminated)
            truncs.append(truncated)
            infos.append(core.game_info())  # the ended episode's last step, read before the reset below
            if terminated or truncated:
                scores.append(core.episode_score)
                lengths.append(core.steps)
                core.reset()
            else:
                scores.append(np.nan)
                lengths.append(0)
        self._write(raws, terms, truncs, infos, scores, lengths)

    def _write(
        self,
        raws: list[float],
        terms: list[bool],
        truncs: list[bool],
        infos: list[GameInfo],
        scores: list[float],
        lengths: list[int],
    ) -> None:
        a, s = self.bufs.arrays, self.slice
        a["raw_reward"][s] = raws
        a["reward"][s] = clip_reward(a["raw_reward"][s]) if self.cfg.clip_reward else a["raw_reward"][s]
        a["terminated"][s] = terms
        a["truncated"][s] = truncs
        a["done"][s] = a["terminated"][s] | a["truncated"][s]
        columns = np.array(infos, np.int32).reshape(len(infos), len(GameInfo._fields))  # (n, 6)
        for j, name in enumerate(GameInfo._fields):
            a[name][s] = columns[:, j]
        a["episode_score"][s] = scores
        a["episode_length"][s] = lengths


class AtariSyncVecEnv(VecEnv):
    """All envs stepped in the calling process (``num_workers=0``): tests, tiny runs, debugging."""

    def __init__(self, cfg: EnvConfig, num_envs: int, seed: int) -> None:
        self.spec = env_spec(cfg)
        self.num_envs = num_envs
        self._bufs = _VecBuffers(num_envs, self.spec.obs_shape)
        self._batch = _AtariBatch(cfg, seed, self._bufs, 0, num_envs)

    def reset(self) -> np.ndarray:
        self._batch.reset()
        return self._bufs.obs.copy()

    def _start(self, actions: np.ndarray) -> None:
        self._bufs.actions[:] = actions

    def _finish(self) -> StepResult:
        self._batch.step()
        return self._bufs.result()

    def close(self) -> None:
        self._batch.cores.clear()


_OK, _STEP, _RESET, _CLOSE, _ERROR = b"k", b"s", b"r", b"c", b"e"


def _pool_worker(
    conn: Connection, shared: Any, cfg: EnvConfig, num_envs: int, seed: int, lo: int, hi: int
) -> None:
    """A pool process: steps envs [lo, hi) on command, results in the shared buffer; replies OK or ERROR."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C reaches the process group; the parent closes us
    signal.signal(signal.SIGTERM, signal.SIG_IGN)  # so does SLURM's SIGTERM: the parent finishes its update first
    cv2.setNumThreads(1)  # one process per core already: cv2's own threads would only contend
    try:
        obs_shape = (cfg.frame_stack, cfg.frame_size, cfg.frame_size)
        bufs = _VecBuffers(num_envs, obs_shape, np.frombuffer(shared, np.uint8))
        batch = _AtariBatch(cfg, seed, bufs, lo, hi)
        reply = _OK
    except Exception:
        batch, reply = None, _ERROR + traceback.format_exc().encode()
    # Every pipe operation may find the parent gone (killed, or crashed): EOF, a broken pipe, or a reset
    # when it died with our reply unread. The worker then just ends, without a traceback on the shared
    # stderr that would bury the parent's own last words.
    try:
        conn.send_bytes(reply)
        while batch is not None:
            cmd = conn.recv_bytes()
            if cmd == _CLOSE:
                return
            try:
                batch.step() if cmd == _STEP else batch.reset()
                reply = _OK
            except Exception:
                reply = _ERROR + traceback.format_exc().encode()
            conn.send_bytes(reply)
    except (EOFError, OSError):
        return  # the parent is gone


class AtariPoolVecEnv(VecEnv):
    """Atari envs split into contiguous chunks over worker processes that share one memory buffer.

    Each worker runs an ``_AtariBatch`` (the same ``AtariCore`` as ``make_env``) over its chunk and writes
    frames straight into the shared observation array; a step costs one byte each way per worker.
    ``start_method`` 'spawn' (default) and 'forkserver' are safe with CUDA and threads in the parent.
    A worker that fails or dies makes ``step`` / ``reset`` raise RuntimeError; the pool cannot recover then.
    """

    def __init__(
        self, cfg: EnvConfig, num_envs: int, seed: int, num_workers: int, start_method: str = "spawn"
    ) -> None:
        self.spec = env_spec(cfg)  # validates here, so a bad config fails with its own message
        self.num_envs = num_envs
        ctx = mp.get_context(start_method)
        # A RawArray is handed to the children at start-up, so there is no named segment to leak or unlink.
        shared = ctx.RawArray("B", _vec_layout(num_envs, self.spec.obs_shape)[1])
        self._bufs = _VecBuffers(num_envs, self.spec.obs_shape, np.frombuffer(shared, np.uint8))
        bounds = np.linspace(0, num_envs, num_workers + 1).round().astype(int)
        self._conns: list[Connection] = []
        self._procs: list[mp.process.BaseProcess] = []
        self._closed = False
        try:
            for w, (lo, hi) in enumerate(zip(bounds[:-1].tolist(), bounds[1:].tolist())):
                parent, child = ctx.Pipe()
                proc = ctx.Process(
                    target=_pool_worker,
                    args=(child, shared, cfg, num_envs, seed, lo, hi),
                    name=f"snd-env-worker-{w}",
                    daemon=True,
                )
                proc.start()
                child.close()
                self._conns.append(parent)
                self._procs.append(proc)
            self._gather()
        except BaseException:
            self.close()
            raise

    @property
    def worker_pids(self) -> list[int]:
        """Process ids of the workers (for monitoring, e.g. their CPU time in scripts/bench_envs.py)."""
        return [proc.pid for proc in self._procs if proc.pid is not None]

    def _send(self, cmd: bytes) -> None:
        for w, conn in enumerate(self._conns):
            try:
                conn.send_bytes(cmd)
            except OSError as e:  # a broken pipe: the worker is gone
                raise RuntimeError(f"env worker {w} exited (exit code {self._procs[w].exitcode})") from e

    def _gather(self) -> None:
        """Wait for every worker's reply (all, so the pipes stay in step), then raise the first error."""
        errors = []
        for w, conn in enumerate(self._conns):
            try:
                reply = conn.recv_bytes()
            except (EOFError, OSError):  # the worker is gone
                errors.append(f"env worker {w} exited (exit code {self._procs[w].exitcode})")
                continue
            if reply != _OK:
                errors.append(f"env worker {w} failed:\n{reply[1:].decode()}")
        if errors:
            raise RuntimeError(errors[0])

    def reset(self) -> np.ndarray:
        self._send(_RESET)
        self._gather()
        return self._bufs.obs.copy()

    def _start(self, actions: np.ndarray) -> None:
        self._bufs.actions[:] = actions
        self._send(_STEP)

    def _finish(self) -> StepResult:
        self._gather()
        return self._bufs.result()

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        for conn in self._conns:
            with contextlib.suppress(OSError):
                conn.send_bytes(_CLOSE)
        for proc in self._procs:
            proc.join(timeout=5)
            if proc.is_alive():
                proc.kill()  # workers ignore SIGTERM
                proc.join()
        for conn in self._conns:
            conn.close()


class ProcgenVecEnv(VecEnv):
    """procgen's own batched env (``ProcgenGym3Env(num=N)``) with ``ProcgenCore``'s preprocessing.

    procgen steps the batch in its own threads between ``act`` and ``observe``, so ``step_async`` /
    ``step_wait`` overlap it with the network. Seeds: the batch gets ``rand_seed=seed`` and procgen derives
    each env's seed from it (not seed + i). level, room, x, y, lives and inventory are -1.
    """

    def __init__(self, cfg: EnvConfig, num_envs: int, seed: int) -> None:
        self.spec = env_spec(cfg)
        self.num_envs = num_envs
        self._core = ProcgenCore(cfg, num_envs, seed)
        self._at_start = True

    def reset(self) -> np.ndarray:
        if not self._at_start:
            self._core.restart()
        self._at_start = True
        return self._core.stack.copy()

    def _start(self, actions: np.ndarray) -> None:
        self._at_start = False
        self._core.act(actions)

    def _finish(self) -> StepResult:
        rew, done, ep_score, ep_len = self._core.observe()
        n = self.num_envs
        info = {
            "raw_reward": rew,
            "terminated": done,
            "truncated": np.zeros(n, bool),
            **{name: np.full(n, -1, np.int32) for name in GameInfo._fields},
            "episode_score": ep_score,
            "episode_length": ep_len,
        }
        return self._core.stack.copy(), rew.copy(), done.copy(), info

    def close(self) -> None:
        self._core.env.close()


def make_vec_env(
    cfg: EnvConfig, num_envs: int, seed: int, num_workers: int | None = None, start_method: str = "spawn"
) -> VecEnv:
    """N envs for training; env i is seeded with seed + i (Atari), so the same seed gives the same run.

    Atari: ``num_workers`` worker processes (None: one per core, at most one per env; 0: in this process).
    Procgen: procgen's batched env, whatever ``num_workers`` says (it steps in its own threads).
    """
    validate_env_config(cfg)
    if num_envs < 1:
        raise EnvError(f"invalid num_envs {num_envs}; valid: an integer >= 1")
    if num_workers is not None and num_workers < 0:
        raise EnvError(f"invalid num_workers {num_workers}; valid: None (one per core), 0 (in process), >= 1")
    if is_procgen(cfg.env_id):
        return ProcgenVecEnv(cfg, num_envs, seed)
    workers = min(num_envs, os.cpu_count() or 1) if num_workers is None else min(num_workers, num_envs)
    if workers == 0:
        return AtariSyncVecEnv(cfg, num_envs, seed)
    return AtariPoolVecEnv(cfg, num_envs, seed, workers, start_method)
