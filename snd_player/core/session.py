"""The Qt-free core of the player: an env and an agent rebuilt from a checkpoint, stepped frame by frame.

``Session.step()`` returns a frozen :class:`StepRecord` describing the state ``s_t`` the agent sees (its
full-colour frame, the observation, where the player is), what the agent makes of it (action
probabilities, values, intrinsic reward, target features) and what the chosen action earned (``r_ext``,
``raw_reward``, ``done``). The window, ``snd-player eval`` and ``snd-player record`` all drive this class, so
what is watched, evaluated and recorded is one code path.

Timeline. Every ``keyframe_every`` steps the session stores an exact snapshot (emulator state with its RNG,
frame stack, sticky action; see ``trainer.envs``) and it records every action taken. ``seek(t)`` restores
the nearest keyframe at or before ``t``, replays the recorded actions through the env alone (no network) and
computes the record of step ``t`` again. Sampled actions are reproducible because the sampling generator is
re-seeded from ``(seed, episode, t)`` at every step, so the RNG needs no snapshot of its own. Steps after
the sought one are kept (the *horizon*) so the slider can be scrubbed forward again; they are dropped only
when the agent is about to act differently (greedy toggled), see :meth:`Session.set_greedy`.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import torch

from snd_player.core.step_record import StepRecord as StepRecord  # re-exported: the session makes them
from snd_player.core.timeline import EpisodeTimeline, RoomStats, heat_grid_for, room_source


class SessionError(ValueError):
    """A request the session cannot honour (e.g. seeking in an env that cannot restore its state)."""


@dataclass
class _Keyframe:
    snap: Any
    obs: np.ndarray
    info: dict[str, Any]


def _mix_seed(seed: int, episode: int, t: int) -> int:
    """A 63-bit generator seed for step t of an episode, so sampling needs no RNG snapshot."""
    h = (seed * 0x9E3779B97F4A7C15 + episode * 0xBF58476D1CE4E5B9 + t * 0x94D049BB133111EB) & (2**64 - 1)
    h ^= h >> 31
    return h & (2**63 - 1)


class Session:
    """An env and an agent stepped together; see the module docstring for the timeline."""

    trajectory: Any = None
    """The trajectory file this session replays (:func:`snd_player.core.trajectory.open_replay`), or None."""

    def __init__(
        self,
        agent: Any,
        env: Any,
        seed: int = 0,
        greedy: bool = False,
        checkpoint: str | Path | None = None,
        keyframe_every: int = 32,
    ) -> None:
        self.agent = agent
        self.env = env
        self.seed = int(seed)
        self.greedy = bool(greedy)
        self.checkpoint = Path(checkpoint) if checkpoint is not None else None
        self.keyframe_every = keyframe_every
        spec = agent.spec
        self.env_id: str = spec.env_id
        self.is_procgen: bool = bool(spec.is_procgen)
        self.action_meanings: list[str] = list(spec.action_meanings)
        self.room_source = room_source(self.env_id, self.is_procgen)
        self.heat_grid = heat_grid_for(self.env_id)
        self._gen = torch.Generator()
        self.episode = -1
        self.rooms = RoomStats(self.heat_grid)
        self.timeline = EpisodeTimeline(0, self.heat_grid)
        self.inference_s = 0.0  # seconds spent in the networks, for benchmarks
        self.env_s = 0.0
        self._seekable: bool | None = None
        self._closed = False
        self._script: tuple[int, int] | None = None  # (episode, steps) of a scripted episode
        self.reset(seed=self.seed)

    @classmethod
    def from_checkpoint(
        cls, path: str | Path, seed: int = 0, greedy: bool = False, device: str = "cpu"
    ) -> Session:
        """Rebuild agent and env from a checkpoint; raises CheckpointError or EnvError (one-line reasons)."""
        from trainer.agent import load_agent
        from trainer.envs import make_env

        agent = load_agent(path, device=device)
        env = make_env(agent.env_config, seed, render_rgb=True)
        return cls(agent, env, seed=seed, greedy=greedy, checkpoint=path)

    # -- facts --------------------------------------------------------------------------------------------
    @property
    def meta(self) -> dict[str, Any]:
        return dict(getattr(self.agent, "meta", {}) or {})

    @property
    def algo(self) -> str:
        return str(self.agent.algo)

    @property
    def has_motivation(self) -> bool:
        return getattr(self.agent, "motivation", None) is not None

    @property
    def t(self) -> int:
        """Index of the next step to be played in the current episode."""
        return self._t

    @property
    def horizon(self) -> int:
        """Steps of the current episode known so far (played, possibly ahead of ``t`` after a seek)."""
        return len(self._actions)

    @property
    def seekable(self) -> bool:
        return bool(self._seekable)

    # -- control ------------------------------------------------------------------------------------------
    def reset(self, seed: int | None = None) -> None:
        """Start a new episode; with a seed, reseed the env (and the action sampling) first."""
        if seed is not None:
            self.seed = int(seed)
            obs, info = self.env.reset(seed=self.seed)
        else:
            obs, info = self.env.reset()
        # a trajectory file can replay only an episode that began at a seeded reset
        self.episode_seed: int | None = None if seed is None else self.seed
        if self.episode >= 0 and len(self.timeline):
            self.rooms.fold(self.timeline)
        self.episode += 1
        self.timeline = EpisodeTimeline(self.episode, self.heat_grid)
        self._obs, self._info = obs, info
        self._t = 0
        self._done = False
        self._actions: list[int] = []
        self._choosers: list[str] = []  # who chose each of _actions: agent, human or script
        self._keyframes: dict[int, _Keyframe] = {}
        self._keyframe()

    def script(self, actions: list[int], choosers: list[str] | None = None) -> None:
        """Play ``actions`` from step 0 of this episode instead of the agent's own (a trajectory replay,
        :mod:`snd_player.core.trajectory`): the agent still sees every state and its outputs are recorded, the
        env draws its randomness as always, and after the last scripted step the agent acts again. They
        become the episode's known future, as after a seek.

        ``choosers`` (the file's, one per action) keeps a person's steps marked ``human``, so a replayed
        drive shows as driven and saves as driven again; every other scripted step is ``script``."""
        if self._t != 0:
            raise SessionError(f"a script starts at step 0 of an episode, not at step {self._t}")
        if choosers is not None and len(choosers) != len(actions):
            raise SessionError(f"{len(choosers)} choosers for {len(actions)} scripted actions")
        self._actions = [int(a) for a in actions]
        self._choosers = ["human" if c == "human" else "script" for c in (choosers or ["script"] * len(actions))]
        self._script = (self.episode, len(self._actions))

    @property
    def played_actions(self) -> list[int]:
        """The actions of this episode's steps 0..t-1 (what a trajectory file saves)."""
        return list(self._actions[: self._t])

    @property
    def played_choosers(self) -> list[str]:
        """Who chose each of :attr:`played_actions` (``agent``, ``human`` or ``script``)."""
        return list(self._choosers[: self._t])

    @property
    def script_left(self) -> int | None:
        """Scripted steps left before the agent acts again (0 at the script's end); None without a script
        in this episode."""
        script = self._script
        if script is None or script[0] != self.episode or self._done:
            return None
        return max(script[1] - self._t, 0)

    def set_greedy(self, greedy: bool) -> None:
        """Switch greedy/sampled actions; the known future of the episode no longer holds, so drop it."""
        greedy = bool(greedy)
        if greedy != self.greedy:
            self.greedy = greedy
            self._truncate_future()

    def _truncate_future(self) -> None:
        keep = self._t
        if self._script is not None and self._script[0] == self.episode:
            keep = max(keep, self._script[1])  # a script's steps do not depend on how the agent acts
        del self._actions[keep:]
        del self._choosers[keep:]
        for k in [k for k in self._keyframes if k > keep]:
            del self._keyframes[k]
        self.timeline.truncate(keep)

    def _keyframe(self) -> None:
        if self._seekable is False or self._t in self._keyframes:
            return
        try:
            snap = self.env.snapshot()
        except (NotImplementedError, AttributeError, RuntimeError, ValueError):
            self._seekable = False  # Procgen without state save: no seeking, playing still works
            return
        self._seekable = True
        info = {k: (v.copy() if isinstance(v, np.ndarray) else v) for k, v in self._info.items()}
        self._keyframes[self._t] = _Keyframe(snap, np.array(self._obs, copy=True), info)

    # -- stepping -----------------------------------------------------------------------------------------
    def step(self, action: int | None = None) -> StepRecord:
        """Play one step from s_t (starting a new episode first if the last one ended).

        ``action``: take this action instead of the agent's (drive mode: a person chose it). The agent still
        sees s_t and its outputs are recorded, with its own choice as ``agent_action``. Taken inside the known
        future (after a seek), an action other than the known one drops that future, as the steps after it
        no longer follow; a trajectory script ends there."""
        if self._done:
            self.reset()
        t = self._t
        if action is not None:
            action = int(action)
            if not 0 <= action < len(self.action_meanings):
                raise SessionError(f"action {action} is not one of this game's {len(self.action_meanings)}")
            self._drive(t, action)
        if t % self.keyframe_every == 0:
            self._keyframe()
        obs, info = self._obs, self._info
        batch = obs[None]  # (1, C, H, W), a view
        t0 = time.perf_counter()
        if not self.greedy:
            self._gen.manual_seed(_mix_seed(self.seed, self.episode, t))
        out = self.agent.act(batch, greedy=self.greedy, generator=None if self.greedy else self._gen)
        intr = self.agent.intrinsic(batch)
        t1 = time.perf_counter()
        # after a seek the recorded action is replayed, so the known future stays valid
        agent_action = int(out.action[0])
        if t < len(self._actions):
            action, chooser = self._actions[t], self._choosers[t]
        else:
            action, chooser = agent_action, "agent"
            self._actions.append(action)
            self._choosers.append(chooser)
        next_obs, reward, terminated, truncated, next_info = self.env.step(action)
        self.env_s += time.perf_counter() - t1
        self.inference_s += t1 - t0
        done = bool(terminated or truncated)
        rec = StepRecord(
            t=t,
            episode=self.episode,
            frame=np.array(info["rgb"], copy=True),
            obs=np.array(obs, copy=True),
            action=action,
            action_name=self.action_meanings[action] if action < len(self.action_meanings) else str(action),
            probs=out.probs[0],
            entropy=float(out.entropy[0]),
            r_ext=float(reward),
            raw_reward=float(next_info.get("raw_reward", reward)),
            r_int=float(intr.reward[0]),
            int_error=float(intr.error[0]),
            v_ext=float(out.v_ext[0]),
            v_int=float(out.v_int[0]),
            features=intr.features[0],
            level=int(info.get("level", -1)),
            room=int(info.get("room", -1)),
            x=int(info.get("x", -1)),
            y=int(info.get("y", -1)),
            lives=int(info.get("lives", -1)),
            inventory=int(info.get("inventory", -1)),
            score=float(info.get("score", 0.0)),
            done=done,
            level_seed=int(info.get("level_seed", -1)),
            chooser=chooser,
            agent_action=agent_action,
        )
        self.timeline.put(rec)
        self._obs, self._info = next_obs, next_info
        self._t = t + 1
        self._done = done
        if done:
            del self._actions[self._t :]  # nothing lies beyond the end of an episode
            del self._choosers[self._t :]
        return rec

    def _drive(self, t: int, action: int) -> None:
        """Make a person's ``action`` the known action of step t (see :meth:`step`)."""
        if t < len(self._actions) and self._actions[t] == action:
            self._choosers[t] = "human"  # the same action: the future after it still holds
            return
        if t < len(self._actions):  # another action than the known one: what followed it is void
            del self._actions[t:]
            del self._choosers[t:]
            for k in [k for k in self._keyframes if k > t]:
                del self._keyframes[k]
            self.timeline.truncate(t)
            if self._script is not None and self._script[0] == self.episode and self._script[1] > t:
                self._script = (self.episode, t)  # the file's steps end where the person took over
        self._actions.append(action)
        self._choosers.append("human")

    def seek(self, t: int) -> StepRecord:
        """Go back (or forward within the known horizon) to step t of this episode and return its record.

        Afterwards the session stands after step t, exactly as when it was first played, so ``step()``
        continues with t+1 and reproduces the same frames.
        """
        if not self.seekable:
            raise SessionError(
                f"{self.env_id} cannot save and restore its state, so the timeline cannot seek"
            )
        if not 0 <= t < self.horizon:
            raise SessionError(f"step {t} is outside this episode's known steps 0..{self.horizon - 1}")
        k = max(k for k in self._keyframes if k <= t)
        kf = self._keyframes[k]
        t1 = time.perf_counter()
        self.env.restore(kf.snap)
        obs, info = kf.obs.copy(), dict(kf.info)
        for i in range(k, t):
            obs, _, _, _, info = self.env.step(self._actions[i])
            self._t = i + 1
            if self._t % self.keyframe_every == 0 and self._t not in self._keyframes:
                self._obs, self._info = obs, info
                self._keyframe()
        self.env_s += time.perf_counter() - t1
        self._obs, self._info = obs, info
        self._t = t
        self._done = False
        return self.step()

    def close(self) -> None:
        """Release the env and the snapshots (emulator states) now rather than at interpreter exit."""
        self._keyframes.clear()
        close = getattr(self.env, "close", None)
        if close is not None and not self._closed:
            close()
        self._closed = True

    # -- summaries ----------------------------------------------------------------------------------------
    def rooms_visited(self) -> dict[str, Any]:
        """Rooms of this episode and of the whole session, as (level, room) pairs with step counts."""
        visits = self.rooms.visits(self.timeline)
        return {
            "episode": sorted(self.timeline.rooms),
            "session": sorted(visits),
            "visits": {f"{lv}:{rm}": n for (lv, rm), n in sorted(visits.items())},
        }
