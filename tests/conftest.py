"""Shared test settings."""

import gc
import os
import sys

import pytest
import torch


def ckpt_path(run, step: int, suffix: str = ".safetensors"):
    """The file the trainer writes for ``step`` in ``run``'s checkpoints/ (12 digits, zero-padded)."""
    return run / "checkpoints" / f"{step:012d}{suffix}"


@pytest.fixture
def win(qtbot, tmp_path):
    """A main window at 1280x720 with settings of its own (not the user's), released after the test."""
    from PyQt6.QtCore import QSettings

    from snd_player.app.main_window import MainWindow

    w = MainWindow(settings=QSettings(str(tmp_path / "settings.ini"), QSettings.Format.IniFormat))
    qtbot.addWidget(w)
    w.resize(1280, 720)
    w.show()
    yield w
    w.release()


def delete_leftover_windows() -> None:
    """Delete now what a test left of its windows: pytest-qt's ``deleteLater`` at teardown is only run by
    some later event loop (a ``qtbot.wait`` in another test), and a window only Python held goes when the
    cycle collector runs, which can be inside another window's event handler. Both ran pyqtgraph overrides
    on deleted items in later tests, and one crashed CI (stop 33: ``LabelItem.resizeEvent``, then a
    segfault). Here both happen between tests, where no handler is on the stack."""
    if "PyQt6.QtWidgets" not in sys.modules:
        return
    from PyQt6.QtWidgets import QApplication, QMenu

    from snd_player.app.lifetime import run_deferred_deletes

    app = QApplication.instance()
    if app is None:
        return
    run_deferred_deletes()
    # pyqtgraph's context menus outlive their plots (their actions' slots hold the plot); a collection for
    # them costs 0.2 s and frees nothing, so it runs only while a real window is left
    if any(not isinstance(w, QMenu) for w in app.topLevelWidgets()):
        gc.collect()
        run_deferred_deletes()


def windows_of(kind: str) -> list:
    """The top-level widgets of class ``kind`` that exist now (their C++ side, whoever holds them)."""
    from PyQt6.QtWidgets import QApplication

    return [w for w in QApplication.instance().topLevelWidgets() if type(w).__name__ == kind]


@pytest.fixture
def windows_left(qapp):
    """With the cycle collector off, only an explicit deletion can remove a window: the old command line's
    windows stayed (96 top-level widgets after one ``snd-player --device cuda``) until some later
    collection deleted them, wherever it ran. Yields ``left(kind)``: the windows of class ``kind`` that
    exist now and did not when the test began."""
    delete_leftover_windows()
    before: dict[str, list] = {}

    def left(kind: str) -> list:
        return [w for w in windows_of(kind) if not any(w is b for b in before[kind])]

    for kind in ("MainWindow", "CompareWindow", "SweepDialog"):
        before[kind] = windows_of(kind)
    gc.disable()
    try:
        yield left
    finally:
        gc.enable()


@pytest.hookimpl(wrapper=True, trylast=True)
def pytest_runtest_teardown(item, nextitem):
    """After each test's fixtures are torn down (pytest-qt has closed its widgets by then)."""
    result = yield
    delete_leftover_windows()
    return result


@pytest.fixture(autouse=True)
def one_thread():
    """Test tensors are tiny and gain nothing from intra-op threads, and on a shared 2-core CPU the extra
    threads spin (about 10x slower measured here); the setting is restored afterwards."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def train_tiny_run(run_dir, algo: str = "snd-v", env: str = "ALE/MontezumaRevenge-v5", updates: int = 3,
                   max_episode_steps: int = 40, seed: int = 3):  # fmt: skip
    """``trainer train`` in-process: ``updates`` updates of 2 envs x 16 steps with a checkpoint after each
    (all kept, plus best), nature encoder, episodes cut at ``max_episode_steps`` so players see episode ends
    within a few dozen steps. Returns the run folder."""
    import dataclasses

    from trainer.config import TrainConfig
    from trainer.loop import train

    cfg = TrainConfig(
        env=env, algo=algo, run_dir=run_dir, num_envs=2, total_steps=32 * updates, device="cpu", seed=seed,
        num_workers=0, obs_norm_init_steps=2, tensorboard=False, progress=False, checkpoint_every=32,
        keep_checkpoints=0, encoder="nature",
    )  # fmt: skip
    cfg = dataclasses.replace(
        cfg,
        ppo=dataclasses.replace(cfg.ppo, rollout_steps=16, minibatch_size=16),
        env_cfg=dataclasses.replace(cfg.env_cfg, max_episode_steps=max_episode_steps),
    )
    train(cfg)
    return run_dir


@pytest.fixture(scope="session")
def legacy_demo(tmp_path_factory):
    """A checkpoint in the first bundled demo's format (its header, made-up weights): tests/legacy_checkpoint.py."""
    from tests.legacy_checkpoint import write_legacy_checkpoint

    return write_legacy_checkpoint(tmp_path_factory.mktemp("legacy") / "demo-2026-11.safetensors")


@pytest.fixture(scope="session")
def tiny_run(tmp_path_factory):
    """A finished SND-V run on Montezuma with checkpoints at steps 32, 64, 96 and best."""
    torch.set_num_threads(1)
    return train_tiny_run(tmp_path_factory.mktemp("run-sndv"), algo="snd-v")


@pytest.fixture(scope="session")
def tiny_run_rnd(tmp_path_factory):
    """A finished RND run on Montezuma (two checkpoints), the other side of a comparison; its episodes end
    after 25 steps, before the SND-V run's 40, so a comparison has a side that waits."""
    torch.set_num_threads(1)
    return train_tiny_run(tmp_path_factory.mktemp("run-rnd"), algo="rnd", updates=2, max_episode_steps=25, seed=4)


@pytest.fixture
def needs_procgen():
    """Tests that step Procgen. They run everywhere procgen is installed; only the numpy-2 run of
    `make test` (no procgen wheel for numpy 2) sets SND_TESTS_WITHOUT_PROCGEN=1 and skips them there, so a
    main install that lost procgen still fails loudly."""
    if os.environ.get("SND_TESTS_WITHOUT_PROCGEN") == "1":
        return pytest.importorskip("procgen")
    import procgen

    return procgen
