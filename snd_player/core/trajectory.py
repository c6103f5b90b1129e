"""Trajectory files: one episode's actions, saved as JSON and replayed exactly under any checkpoint.

A trajectory holds what decides an episode's frames given its actions: the env id, the seed, the env
dynamics (frame skip, sticky actions and how they are drawn, random no-ops at reset, the time limit; for
Procgen the distribution mode and the random-action probability) and the actions, as indices into the env's
action set, each with who chose it (``human``, ``agent`` or ``script``). Example::

    {
      "format": "snd-trajectory",
      "version": 1,
      "env_id": "ALE/MontezumaRevenge-v5",
      "seed": 0,
      "sticky_action_prob": 0.25,
      "sticky_per_frame": true,
      "noop_max": 0,
      "frame_skip": 4,
      "max_episode_steps": 4500,
      "action_names": ["NOOP", "FIRE", "UP", ...],
      "actions": [0, 0, 5, 5, ...],
      "chooser": ["human", "human", "agent", ...],
      "note": "free text"
    }

Replay (:func:`open_replay`, :func:`replay`). The env is built from the checkpoint's observation settings
(frame size and stack, which its networks need) and the file's dynamics, seeded with the file's seed, so
the emulator plays the same frames whatever checkpoint watches: the sticky-action draws and the no-op count
come from the env's own generator, seeded from the file (``trainer.envs.AtariCore.seed``), and the agent's
outputs never touch it (it samples with its own torch generator, and here its choice is overridden by the
file's). The player's :class:`~snd_player.core.session.Session` steps the episode
(:meth:`~snd_player.core.session.Session.script`), so every signal is the one the window shows for that state.

A trajectory starts at a seeded reset: an episode the player started without a new seed (the second episode
of a session) cannot be saved as one, since its env state at reset came from the episodes before it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import math
import stat
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.envs import EnvConfig, EnvError, env_spec, is_procgen

FORMAT = "snd-trajectory"
VERSION = 1
"""Version of the file format this module writes; it reads this version and older."""
MAX_FILE_BYTES = 8 * 1024 * 1024
"""A trajectory of Atari's longest episode (4,500 steps) takes about 60 kB; anything past this is not one."""
CHOOSERS = ("human", "agent", "script")
"""Who chose an action: a person driving the window, the checkpoint's policy, or a program (a search)."""
ATARI_DYNAMICS = ("sticky_action_prob", "sticky_per_frame", "noop_max", "frame_skip", "max_episode_steps")
"""EnvConfig fields that decide an Atari episode's frames given its actions (the rest shape observations)."""
PROCGEN_DYNAMICS = ("procgen_distribution_mode", "procgen_random_action_prob")
"""The same for Procgen."""


class TrajectoryError(ValueError):
    """A trajectory file that cannot be read or does not fit; the message is one line naming the file."""


@dataclass(frozen=True)
class Trajectory:
    """One episode's actions and the env settings that replay it (see the module docstring)."""

    env_id: str
    seed: int
    dynamics: dict[str, Any]
    """The ``ATARI_DYNAMICS`` or ``PROCGEN_DYNAMICS`` fields of the env that played it."""
    actions: tuple[int, ...]
    chooser: tuple[str, ...]
    """``CHOOSERS`` entry per action."""
    action_names: tuple[str, ...] = ()
    """The env's action set, for people reading the file and as a check that the indices mean the same."""
    note: str = ""

    def __len__(self) -> int:
        return len(self.actions)

    @classmethod
    def from_steps(
        cls,
        cfg: EnvConfig,
        seed: int,
        actions: Sequence[int],
        chooser: Sequence[str] | str = "agent",
        note: str = "",
    ) -> Trajectory:
        """A trajectory of ``actions`` played from a reset with ``seed`` in an env built from ``cfg``;
        ``chooser`` is one entry per action or one for all. Raises TrajectoryError for a bad step."""
        acts = tuple(int(a) for a in actions)
        who = (chooser,) * len(acts) if isinstance(chooser, str) else tuple(chooser)
        traj = cls(
            env_id=cfg.env_id,
            seed=int(seed),
            dynamics=env_dynamics(cfg),
            actions=acts,
            chooser=who,
            action_names=tuple(env_spec(cfg).action_meanings),
            note=note,
        )
        _check(traj, "trajectory")
        return traj

    @classmethod
    def from_session(cls, session: Any, chooser: Sequence[str] | str = "agent", note: str = "") -> Trajectory:
        """The episode a :class:`~snd_player.core.session.Session` has played so far (steps 0..t-1), for File →
        Save trajectory. Raises TrajectoryError when it cannot be replayed: no steps yet, or an episode that
        did not begin at a seeded reset (the env carried on from the one before)."""
        if session.episode_seed is None:
            raise TrajectoryError(
                "this episode did not start from a seed (it followed the previous one); press R to start one "
                "from the seed box, then save"
            )
        actions = session.played_actions
        if not actions:
            raise TrajectoryError("no steps played in this episode yet; nothing to save")
        return cls.from_steps(session.env.core.cfg, session.episode_seed, actions, chooser, note)

    def env_config(self, base: EnvConfig | None = None) -> EnvConfig:
        """``base`` (a checkpoint's env settings; default EnvConfig's) with this file's env and dynamics."""
        base = base or EnvConfig()
        return dataclasses.replace(base, env_id=self.env_id, **self.dynamics)

    def to_json(self) -> str:
        """The file's text: settings one per line, the action and chooser lists each on one line."""
        doc: dict[str, Any] = {"format": FORMAT, "version": VERSION, "env_id": self.env_id, "seed": self.seed}
        doc.update(self.dynamics)
        if self.action_names:
            doc["action_names"] = list(self.action_names)
        doc["actions"] = list(self.actions)
        doc["chooser"] = list(self.chooser)
        if self.note:
            doc["note"] = self.note
        lines = [f"  {json.dumps(k)}: {json.dumps(v)}" for k, v in doc.items()]
        return "{\n" + ",\n".join(lines) + "\n}\n"


def env_dynamics(cfg: EnvConfig) -> dict[str, Any]:
    """The fields of ``cfg`` that a replay needs, as plain JSON values (noop_max None -> 0, its meaning)."""
    if is_procgen(cfg.env_id):
        return {k: getattr(cfg, k) for k in PROCGEN_DYNAMICS}
    d = {k: getattr(cfg, k) for k in ATARI_DYNAMICS}
    d["noop_max"] = int(d["noop_max"] or 0)
    d["sticky_action_prob"] = float(d["sticky_action_prob"])
    return d


# ---- reading ----------------------------------------------------------------------------------------------
def _is_int(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


_FIELD_TYPES: dict[str, tuple[str, Any]] = {
    "sticky_action_prob": ("a number in [0, 1]", lambda v: _is_num(v) and 0.0 <= v <= 1.0),
    "sticky_per_frame": ("true or false", lambda v: isinstance(v, bool)),
    "noop_max": ("an integer >= 0", lambda v: _is_int(v) and v >= 0),
    "frame_skip": ("an integer >= 1", lambda v: _is_int(v) and v >= 1),
    "max_episode_steps": ("an integer >= 1", lambda v: _is_int(v) and v >= 1),
    "procgen_distribution_mode": ("a string", lambda v: isinstance(v, str)),
    "procgen_random_action_prob": ("a number in [0, 1]", lambda v: _is_num(v) and 0.0 <= v <= 1.0),
}


def _is_num(v: Any) -> bool:
    return (_is_int(v) or isinstance(v, float)) and math.isfinite(v)


def _read_text(path: Path) -> str:
    try:
        st = path.stat()
    except FileNotFoundError:
        raise TrajectoryError(f"{path}: no such file") from None
    except OSError as e:
        raise TrajectoryError(f"{path}: cannot read ({e.strerror or e})") from None
    if stat.S_ISDIR(st.st_mode):
        raise TrajectoryError(f"{path}: is a folder; expected a trajectory .json file")
    if not stat.S_ISREG(st.st_mode):
        raise TrajectoryError(f"{path}: not a regular file; expected a trajectory .json file")
    if st.st_size > MAX_FILE_BYTES:
        raise TrajectoryError(
            f"{path}: {st.st_size:,} bytes is too large for a trajectory (at most {MAX_FILE_BYTES:,}); "
            "is it the right file?"
        )
    try:
        with open(path, "rb") as f:
            data = f.read(MAX_FILE_BYTES + 1)  # the file may have grown since the stat
    except OSError as e:
        raise TrajectoryError(f"{path}: cannot read ({e.strerror or e})") from None
    if len(data) > MAX_FILE_BYTES:
        raise TrajectoryError(f"{path}: more than {MAX_FILE_BYTES:,} bytes is too large for a trajectory")
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise TrajectoryError(
            f"{path}: not a trajectory (not UTF-8 text: byte {e.start} is {data[e.start]:#04x})"
        ) from None


def parse(text: str, name: str = "trajectory") -> Trajectory:
    """A Trajectory from a file's text; raises TrajectoryError naming ``name`` and what is wrong."""
    try:
        doc = json.loads(text)
    except json.JSONDecodeError as e:
        # the text ran out: an error at its end, or a string never closed (a raw newline would end it)
        ended = e.pos >= len(text.rstrip()) or e.msg.startswith("Unterminated string")
        what = "truncated JSON" if ended else "malformed JSON"
        raise TrajectoryError(f"{name}: {what} at line {e.lineno} column {e.colno} ({e.msg})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise TrajectoryError(f'{name}: not a trajectory (expected a JSON object with "format": "{FORMAT}")')
    version = doc.get("version")
    if not _is_int(version) or version < 1:
        raise TrajectoryError(f"{name}: bad version {version!r}; expected an integer >= 1")
    if version > VERSION:
        raise TrajectoryError(
            f"{name}: trajectory format version {version} is newer than this snd-player reads ({VERSION}); "
            "update snd"
        )

    def need(key: str, what: str, ok: Any) -> Any:
        if key not in doc:
            raise TrajectoryError(f'{name}: missing "{key}" ({what})')
        if not ok(doc[key]):
            raise TrajectoryError(f'{name}: "{key}" is {_show(doc[key])}; expected {what}')
        return doc[key]

    env_id = need("env_id", "an env id such as ALE/MontezumaRevenge-v5", lambda v: isinstance(v, str) and v)
    seed = need("seed", "an integer >= 0", lambda v: _is_int(v) and v >= 0)
    keys = PROCGEN_DYNAMICS if is_procgen(env_id) else ATARI_DYNAMICS
    dynamics = {k: need(k, _FIELD_TYPES[k][0], _FIELD_TYPES[k][1]) for k in keys}
    if "sticky_action_prob" in dynamics:
        dynamics["sticky_action_prob"] = float(dynamics["sticky_action_prob"])
    if "procgen_random_action_prob" in dynamics:
        dynamics["procgen_random_action_prob"] = float(dynamics["procgen_random_action_prob"])
    actions = need("actions", "a list of action indices", lambda v: isinstance(v, list))
    if not actions:
        raise TrajectoryError(f"{name}: no actions; a trajectory needs at least one step")
    for i, a in enumerate(actions):
        if not _is_int(a) or a < 0:
            raise TrajectoryError(f"{name}: action {i} is {_show(a)}; expected an action index >= 0")
    chooser = need("chooser", "a list of " + "/".join(CHOOSERS), lambda v: isinstance(v, list))
    names = doc.get("action_names", [])
    if not isinstance(names, list) or not all(isinstance(n, str) for n in names):
        raise TrajectoryError(f'{name}: "action_names" is {_show(names)}; expected a list of names')
    note = doc.get("note", "")
    traj = Trajectory(
        env_id=env_id,
        seed=seed,
        dynamics=dynamics,
        actions=tuple(actions),
        chooser=tuple(chooser),
        action_names=tuple(names),
        note=note if isinstance(note, str) else str(note),
    )
    _check(traj, name)
    return traj


def _show(v: Any) -> str:
    text = json.dumps(v)
    return text if len(text) <= 40 else text[:37] + "..."


def _check(traj: Trajectory, name: str) -> None:
    """What a trajectory must satisfy beyond types: choosers, the env, the action set, the time limit."""
    n = len(traj.actions)
    if n == 0:
        raise TrajectoryError(f"{name}: no actions; a trajectory needs at least one step")
    if len(traj.chooser) != n:
        raise TrajectoryError(
            f"{name}: {len(traj.chooser)} choosers for {n} actions; expected one per action"
        )
    for i, c in enumerate(traj.chooser):
        if c not in CHOOSERS:
            raise TrajectoryError(f"{name}: chooser {i} is {_show(c)}; expected one of {', '.join(CHOOSERS)}")
    try:
        spec = env_spec(traj.env_config())
    except EnvError as e:
        raise TrajectoryError(f"{name}: {str(e).splitlines()[0]}") from None
    bad = next((i for i, a in enumerate(traj.actions) if not 0 <= a < spec.num_actions), None)
    if bad is not None:
        raise TrajectoryError(
            f"{name}: action {bad} is {traj.actions[bad]}, out of range for {traj.env_id} "
            f"(valid: 0..{spec.num_actions - 1})"
        )
    if traj.action_names and tuple(traj.action_names) != tuple(spec.action_meanings):
        raise TrajectoryError(
            f"{name}: its action_names do not match {traj.env_id}'s action set "
            f"({', '.join(spec.action_meanings[:4])}, ...)"
        )
    limit = traj.dynamics.get("max_episode_steps")
    if limit is not None and n > limit:
        raise TrajectoryError(
            f"{name}: {n} actions, but max_episode_steps {limit} ends the episode before the last"
        )


def load(path: str | Path) -> Trajectory:
    """Read and validate a trajectory file; raises TrajectoryError (one line naming the file)."""
    path = Path(path)
    return parse(_read_text(path), str(path))


def save(path: str | Path, traj: Trajectory) -> Path:
    """Write ``traj`` to ``path`` atomically (a failed write leaves an existing file as it was)."""
    from trainer.checkpoint import atomic_write

    path = Path(path)
    text = traj.to_json()
    atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))
    return path


def check_fits(traj: Trajectory, env_id: str, num_actions: int, name: str = "trajectory") -> None:
    """Raise TrajectoryError unless ``traj`` is a trajectory of ``env_id`` with indices below num_actions
    (a checkpoint's game and action set)."""
    if traj.env_id != env_id:
        raise TrajectoryError(f"{name}: a trajectory of {traj.env_id}, but the checkpoint plays {env_id}")
    bad = next((i for i, a in enumerate(traj.actions) if a >= num_actions), None)
    if bad is not None:
        raise TrajectoryError(
            f"{name}: action {bad} is {traj.actions[bad]}, out of range for the checkpoint's "
            f"{num_actions} actions"
        )


# ---- replaying --------------------------------------------------------------------------------------------
def frame_hash(frame: np.ndarray) -> str:
    """A short hash of a frame's pixels (BLAKE2b, 64 bits, hex), to compare replays step by step."""
    return hashlib.blake2b(np.ascontiguousarray(frame).tobytes(), digest_size=8).hexdigest()


@dataclass(frozen=True)
class ReplayStep:
    """One replayed step: the session's record of s_t and a_t, who chose a_t, and a hash of s_t's frame."""

    record: Any
    """The :class:`~snd_player.core.session.StepRecord` the window would show for this step."""
    chooser: str
    frame_hash: str

    @property
    def p_action(self) -> float:
        """The policy's probability of the action taken (the file's)."""
        return float(self.record.probs[self.record.action])


def open_replay(
    agent: Any,
    traj: Trajectory,
    checkpoint: str | Path | None = None,
    name: str = "trajectory",
    late_intrinsic: bool = False,
    greedy: bool = False,
) -> Any:
    """A :class:`~snd_player.core.session.Session` of ``agent`` (a loaded checkpoint) at step 0 of ``traj``,
    scripted with its actions (``greedy``: how the agent acts after them). ``late_intrinsic`` wraps the agent for batched intrinsic passes, as the
    headless tools do (:class:`snd_player.core.playing.LateIntrinsic`). Raises TrajectoryError if it does not fit."""
    from snd_player.core.playing import LateIntrinsic
    from snd_player.core.session import Session
    from trainer.envs import make_env

    spec = agent.spec
    check_fits(traj, spec.env_id, int(spec.num_actions), name)
    env = make_env(traj.env_config(agent.env_config), traj.seed, render_rgb=True)
    session = Session(
        LateIntrinsic(agent) if late_intrinsic else agent,
        env,
        seed=traj.seed,
        greedy=greedy,
        checkpoint=checkpoint,
    )
    session.script(list(traj.actions), list(traj.chooser))
    session.trajectory = traj
    return session


def replay(session: Any, traj: Trajectory, name: str = "trajectory") -> Iterator[ReplayStep]:
    """The steps of ``traj`` played by a session from :func:`open_replay`, one per action, in order.

    Raises TrajectoryError if the episode ends before the last action (the file was not made with these
    env settings, or the game is not deterministic under them)."""
    from snd_player.core.playing import LateIntrinsic, play

    n = len(traj.actions)
    late = isinstance(session.agent, LateIntrinsic)
    # play() steps in a thread, a batch of intrinsic passes ahead; closing() stops it on an early exit
    with contextlib.closing(play(session, n, None) if late else _steps(session, n)) as records:
        t = -1
        for t, rec in enumerate(records):
            yield ReplayStep(rec, traj.chooser[t], frame_hash(rec.frame))
            if rec.done and t < n - 1:
                raise TrajectoryError(
                    f"{name}: the episode ended at step {t} of {n}; the file does not replay in this env"
                )
    if t != n - 1:
        raise TrajectoryError(f"{name}: replay stopped at step {t + 1} of {n}")


def _steps(session: Any, n: int) -> Iterator[Any]:
    for _ in range(n):
        yield session.step()
