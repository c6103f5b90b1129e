"""``trainer analyze CKPT --out features.png``: target features of played episodes, projected to 2-D.

The figure of the SND talk (snd-spec §7): the agent plays; every state's target features Phi_T(s_t) are
projected with t-SNE (or PCA) and coloured by the room the agent is in. Two panels with the same states:

- left, the RANDOM target: the checkpoint's motivation rebuilt from its config and seed, i.e. exactly the
  target the run started from. Where the target reads normalised input (RND, SND-V on Atari), the trained
  normaliser's statistics are copied in, so both targets see the same input and only the weights differ.
  RND never trains its target, so for RND both panels show the same network, as they should.
- right, the TRAINED target of the checkpoint.

The spec's observation: a random target puts each room on its own tight island; a self-supervised one also
spreads the states within a room. Each panel prints the share of the feature variance that lies within
rooms (computed in the full feature space, not the projection), which says the same in one number.

Procgen has no rooms: points are coloured by time step instead, with a colour bar.

Plays with ``trainer.agent`` and ``trainer.envs.make_env`` directly (the trainer never imports the player).
"""

from __future__ import annotations

import argparse
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from trainer.checkpoint import atomic_write, output_path_problem

FIGURE_EXTENSIONS = (".png", ".pdf", ".svg")
FEATURE_BATCH = 128
"""Observations per batched target forward pass while playing."""


class AnalyzeError(ValueError):
    """An analysis that cannot run; the message is one line."""


@dataclass(frozen=True)
class Collected:
    """Target features of every state played, with where and when it was."""

    trained: np.ndarray  # (n, F) float32
    random: np.ndarray  # (n, F) float32
    level: np.ndarray  # (n,) int
    room: np.ndarray  # (n,) int, -1 where the game has no rooms
    t: np.ndarray  # (n,) int, step within the episode
    episode: np.ndarray  # (n,) int

    def __len__(self) -> int:
        return int(self.t.shape[0])

    @property
    def has_rooms(self) -> bool:
        return bool(len(self) and (self.room >= 0).all())

    def take(self, idx: np.ndarray) -> Collected:
        return Collected(
            *(a[idx] for a in (self.trained, self.random, self.level, self.room, self.t, self.episode))
        )


def random_motivation(agent: Any) -> Any:
    """The checkpoint's motivation as it was before training: rebuilt from the config and its seed, with
    the trained input normaliser copied in (the weights are the only difference)."""
    from trainer.agent import build_agent

    fresh = build_agent(agent.config, agent.device).motivation
    trained_sd = agent.motivation.state_dict()
    sd = fresh.state_dict()
    sd.update({k: v for k, v in trained_sd.items() if k.startswith("normaliser.")})
    fresh.load_state_dict(sd)
    return fresh


def collect(
    agent: Any,
    episodes: int,
    seed: int,
    greedy: bool,
    max_steps: int | None = None,
    progress: bool = False,
) -> Collected:
    """Play ``episodes`` episodes (seeds S, S+1, ...) and return both targets' features of every state."""
    import torch  # here, not at the top: `trainer analyze --help` and a bad flag answer without it
    from tqdm import tqdm

    from trainer.envs import make_env

    rand = random_motivation(agent)
    env = make_env(agent.env_config, seed, render_rgb=False)
    cols: dict[str, list[np.ndarray]] = {
        k: [] for k in ("trained", "random", "level", "room", "t", "episode")
    }
    buf: list[np.ndarray] = []

    def flush() -> None:
        if buf:
            x = torch.as_tensor(np.stack(buf), device=agent.device)  # (B, C, H, W) uint8
            cols["trained"].append(agent.motivation.features(x).cpu().numpy())
            cols["random"].append(rand.features(x).cpu().numpy())
            buf.clear()

    bar = tqdm(total=episodes, unit="episode", desc="playing", disable=not progress, file=sys.stderr)
    try:
        for ep in range(episodes):
            obs, info = env.reset(seed=seed + ep)
            gen = torch.Generator().manual_seed(seed + ep)
            t = 0
            while True:
                cols["level"].append(np.int64(info.get("level", -1)))
                cols["room"].append(np.int64(info.get("room", -1)))
                cols["t"].append(np.int64(t))
                cols["episode"].append(np.int64(ep))
                buf.append(obs)
                if len(buf) == FEATURE_BATCH:
                    flush()
                out = agent.act(obs[None], greedy=greedy, generator=None if greedy else gen)
                obs, _, terminated, truncated, info = env.step(int(out.action[0]))
                t += 1
                if t % 64 == 0:
                    bar.set_postfix_str(f"{t} steps")
                if terminated or truncated or (max_steps is not None and t >= max_steps):
                    break
            flush()
            bar.update(1)
    finally:
        bar.close()
        env.close()
    return Collected(
        trained=np.concatenate(cols["trained"]).astype(np.float32),
        random=np.concatenate(cols["random"]).astype(np.float32),
        level=np.asarray(cols["level"]),
        room=np.asarray(cols["room"]),
        t=np.asarray(cols["t"]),
        episode=np.asarray(cols["episode"]),
    )


def subsample(data: Collected, max_points: int, seed: int) -> Collected:
    """At most ``max_points`` states, drawn uniformly without replacement, in playing order."""
    if len(data) <= max_points:
        return data
    idx = np.sort(np.random.default_rng(seed).choice(len(data), size=max_points, replace=False))
    return data.take(idx)


def project(features: np.ndarray, method: str, seed: int) -> np.ndarray:
    """(n, F) -> (n, 2). t-SNE with sklearn's defaults, init='pca', on the top 50 principal components
    (the usual speed-up: distances barely change, the cost drops with F); or plain PCA."""
    from sklearn.decomposition import PCA
    from sklearn.manifold import TSNE

    x = features.astype(np.float64)
    n, f = x.shape
    if n < 2:
        return np.zeros((n, 2))
    if method == "pca" or n < 6:
        return PCA(n_components=2, random_state=seed).fit_transform(x) if f >= 2 else np.zeros((n, 2))
    if f > 50 and n > 50:
        x = PCA(n_components=50, random_state=seed).fit_transform(x)
    # sklearn requires perplexity < n; its default 30 for anything but tiny sets
    perplexity = min(30.0, (n - 1) / 3.0)
    return TSNE(n_components=2, init="pca", random_state=seed, perplexity=perplexity).fit_transform(x)


def within_room_share(features: np.ndarray, groups: np.ndarray) -> float:
    """Share of the total feature variance that lies within groups (rooms): sum_g |g| var_g / (n var)."""
    x = features.astype(np.float64)
    total = ((x - x.mean(0)) ** 2).sum()
    if total <= 0:
        return float("nan")
    within = 0.0
    for g in np.unique(groups):
        xg = x[groups == g]
        within += ((xg - xg.mean(0)) ** 2).sum()
    return float(within / total)


def room_label(level: int, room: int) -> str:
    return f"room {room}" if level <= 0 else f"L{level + 1} room {room}"


def draw_figure(
    data: Collected,
    xy_random: np.ndarray,
    xy_trained: np.ndarray,
    title: str,
    method: str,
    note: str = "",
) -> Any:
    """Two scatter panels, random vs trained, coloured by room (legend) or time step (colour bar)."""
    from matplotlib.figure import Figure

    fig = Figure(figsize=(15, 6.8), dpi=110, layout="constrained")
    axes = fig.subplots(1, 2)
    fig.suptitle(title, fontsize=13, fontweight="bold")
    method_name = "t-SNE" if method == "tsne" else "PCA"
    panels = (
        (axes[0], xy_random, data.random, "random target (its initialisation)"),
        (axes[1], xy_trained, data.trained, "trained target"),
    )
    if data.has_rooms:
        keys = sorted(set(zip(data.level.tolist(), data.room.tolist())))
        code = {k: i for i, k in enumerate(keys)}
        c = np.array([code[(lv, rm)] for lv, rm in zip(data.level.tolist(), data.room.tolist())])
        # ten clearly distinct hues first, then their light variants, then tab20b's
        base = [*_cmap_colors("tab10"), *_cmap_colors("tab20")[1::2], *_cmap_colors("tab20b")]
        colors = [base[i % len(base)] for i in range(len(keys))]
        for ax, xy, feats, name in panels:
            for i, k in enumerate(keys):
                m = c == i
                ax.scatter(
                    xy[m, 0], xy[m, 1], s=9, color=colors[i], label=room_label(*k), alpha=0.85, linewidths=0
                )
            if len(keys) > 1:
                name += f"\nwithin-room share of the feature variance: {within_room_share(feats, c):.0%}"
            _decorate(ax, name, method_name)
        handles, labels = axes[1].get_legend_handles_labels()
        fig.legend(
            handles,
            labels,
            loc="outside right center",
            title=f"{len(keys)} room{'s' if len(keys) != 1 else ''}",
            markerscale=2.2,
            frameon=False,
            ncols=1 if len(keys) <= 24 else 2,
        )
    else:
        cmap = "viridis"
        for ax, xy, _feats, name in panels:
            sc = ax.scatter(xy[:, 0], xy[:, 1], s=9, c=data.t, cmap=cmap, alpha=0.9, linewidths=0)
            _decorate(ax, name, method_name)
        bar = fig.colorbar(sc, ax=list(axes), location="right", shrink=0.85)
        bar.set_label("time step in the episode")
    if note:
        fig.supxlabel(note, fontsize=9, color="#555555")  # constrained layout keeps room for it
    return fig


def _cmap_colors(name: str) -> list[tuple[float, ...]]:
    from matplotlib import colormaps

    return list(colormaps[name].colors)


def _decorate(ax: Any, title: str, method_name: str) -> None:
    ax.set_title(title, fontsize=11)
    ax.set_xticks([])
    ax.set_yticks([])
    ax.set_xlabel(f"{method_name} 1", color="#666666")
    ax.set_ylabel(f"{method_name} 2", color="#666666")
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)


# ---- files ------------------------------------------------------------------------------------------------
def check_output(path: Path) -> None:
    problem = output_path_problem(path, FIGURE_EXTENSIONS)
    if problem:
        raise AnalyzeError(problem)


def save_figure(fig: Any, path: Path) -> None:
    """Render to a temp file beside ``path`` and rename it over ``path`` (never a half-written figure)."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    FigureCanvasAgg(fig)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format=path.suffix.lstrip(".").lower()))


# ---- command line -----------------------------------------------------------------------------------------
class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors and exit code 2."""

    def error(self, message: str) -> None:  # type: ignore[override]
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def build_parser() -> argparse.ArgumentParser:
    p = _Parser(
        prog="trainer analyze",
        description="Play a checkpoint, project the target features of every state to 2-D (t-SNE or PCA) and "
        "draw the random target next to the trained one, coloured by room (snd-spec §7).",
    )
    p.add_argument("checkpoint", type=Path, help="an snd .safetensors checkpoint (RND or an SND variant)")
    p.add_argument("--out", type=Path, required=True, help="the figure: .png, .pdf or .svg")
    p.add_argument("--episodes", type=int, default=1, help="episodes to play (default 1, as in the talk)")
    p.add_argument(
        "--seed", type=int, default=0, help="episode i is played from seed S + i; also t-SNE's seed"
    )
    p.add_argument("--greedy", action="store_true", help="argmax actions instead of sampling")
    p.add_argument("--method", choices=("tsne", "pca"), default="tsne", help="projection (default tsne)")
    p.add_argument(
        "--max-points", type=int, default=2000, help="states projected, drawn uniformly (default 2000)"
    )
    p.add_argument(
        "--max-steps", type=int, default=None, help="stop each episode after this many agent steps"
    )
    p.add_argument("--device", default="cpu", help="torch device (default cpu)")
    p.add_argument(
        "--threads",
        type=int,
        default=1,
        help="torch CPU threads (default 1: the agent acts one state at a time)",
    )
    p.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    return p


def _fail(msg: str) -> int:
    print(f"trainer analyze: error: {msg}", file=sys.stderr)
    return 2


def analyze(
    checkpoint: Path,
    out: Path,
    episodes: int = 1,
    seed: int = 0,
    greedy: bool = False,
    method: str = "tsne",
    max_points: int = 2000,
    max_steps: int | None = None,
    device: str = "cpu",
    progress: bool = False,
) -> dict[str, Any]:
    """Play, project, draw and save; returns a summary. Raises CheckpointError / EnvError / AnalyzeError."""
    from trainer.agent import load_agent

    agent = load_agent(checkpoint, device=device)
    if agent.motivation is None:
        raise AnalyzeError(f"{checkpoint}: a plain {agent.algo} checkpoint has no target network to analyze")
    t0 = time.perf_counter()
    data = collect(agent, episodes, seed, greedy, max_steps, progress)
    played = len(data)
    data = subsample(data, max_points, seed)
    xy_random = project(data.random, method, seed)
    xy_trained = project(data.trained, method, seed)
    meta = agent.meta
    step = meta.get("global_step")
    steps = f"{int(step):,} steps" if isinstance(step, int | float) else "steps unknown"
    ep = f"{episodes} episode{'s' if episodes != 1 else ''}"
    shown = f"{len(data):,} of {played:,} states" if len(data) < played else f"{played:,} states"
    title = (
        f"{agent.algo.upper()} · {meta.get('env_id', agent.spec.env_id)} · {steps} — target features of "
        f"{shown} ({ep}, {'greedy' if greedy else 'sampled'}), {'t-SNE' if method == 'tsne' else 'PCA'}"
    )
    note = ""
    if agent.algo == "rnd":
        note = "RND never trains its target: both panels show the same random network."
    if not data.has_rooms:
        note = (note + "  " if note else "") + "This game reports no rooms: points are coloured by time step."
    fig = draw_figure(data, xy_random, xy_trained, title, method, note)
    save_figure(fig, out)
    rooms = sorted(set(zip(data.level.tolist(), data.room.tolist()))) if data.has_rooms else []
    return {
        "out": str(out),
        "states_played": played,
        "states_projected": len(data),
        "rooms": [list(k) for k in rooms],
        "seconds": round(time.perf_counter() - t0, 1),
    }


def main(argv: list[str]) -> int:
    args = build_parser().parse_args(argv)
    if args.episodes < 1:
        return _fail(f"--episodes must be at least 1, got {args.episodes}")
    if args.max_points < 2:
        return _fail(f"--max-points must be at least 2, got {args.max_points}")
    if args.max_steps is not None and args.max_steps < 1:
        return _fail(f"--max-steps must be at least 1, got {args.max_steps}")
    try:
        check_output(args.out)
    except AnalyzeError as e:
        return _fail(str(e))

    from trainer.checkpoint import CheckpointError
    from trainer.envs import EnvError

    if args.threads < 1:
        return _fail(f"--threads must be at least 1, got {args.threads}")
    import torch

    torch.set_num_threads(args.threads)
    try:
        res = analyze(
            args.checkpoint,
            args.out,
            args.episodes,
            args.seed,
            args.greedy,
            args.method,
            args.max_points,
            args.max_steps,
            args.device,
            args.progress,
        )
    except (CheckpointError, EnvError, AnalyzeError) as e:
        return _fail(str(e).splitlines()[0])
    except KeyboardInterrupt:
        print(f"trainer analyze: interrupted; {args.out} was not written", file=sys.stderr)
        return 130
    except OSError as e:
        return _fail(f"{getattr(e, 'filename', '') or ''} {e.strerror or e}".strip())
    rooms = f", {len(res['rooms'])} rooms" if res["rooms"] else ""
    print(
        f"{res['out']}: {res['states_projected']:,} of {res['states_played']:,} states projected{rooms} "
        f"({res['seconds']:.0f} s)"
    )
    return 0
