"""Issue 22: --preset paper equal to the authors' code point by point, the keep-mask right at any env count,
old configs unchanged, and `trainer presets` printing every value with its source.

Each of the six fixes has a test below that fails on the code before issue 22:
1. climber SND-V eta 0.5; 2. keep-mask min(1, 32 / N), recorded in config.json; 3. the paper preset's last
rollout step gets advantage 0 and return 0; 4. Procgen SND-V policy 256 wide under the preset; 5. float32
training passes on CUDA under the preset; 6. SND-V no-ops on Gravitar, Private Eye and Venture too.
"""

from __future__ import annotations

import contextlib
import dataclasses
import io
import json
import re
from pathlib import Path

import pytest
import torch

from trainer.agent import build_agent, load_agent, save_agent
from trainer.cli import main
from trainer.config import TrainConfig, apply_preset, from_dict, to_dict
from trainer.envs import EnvConfig
from trainer.loop import Trainer, autocast_for
from trainer.motivation import make_motivation
from trainer.motivation_config import MotivationConfig
from trainer.presets import OPERATIONAL, SOURCES

CPU = torch.device("cpu")


def paper(**kw) -> TrainConfig:
    return apply_preset(TrainConfig(**kw), "paper")


# ---- 1. eta ---------------------------------------------------------------------------------------------
@pytest.mark.parametrize("preset", ["none", "paper"])
@pytest.mark.parametrize(
    "env, eta", [("procgen:climber", 0.5), ("procgen:caveflyer", 2.0), ("procgen:coinrun", 1.0),
                 ("procgen:jumper", 1.0), ("ALE/MontezumaRevenge-v5", 0.5)],
)  # fmt: skip
def test_sndv_eta_per_game_is_recorded(preset: str, env: str, eta: float) -> None:
    cfg = apply_preset(TrainConfig(algo="snd-v", env=env), preset).resolved()
    assert cfg.motivation.eta == eta
    m = make_motivation("snd-v", (6, 64, 64), True, MotivationConfig(), CPU, 0, env_id="procgen:climber")
    assert m is not None and m.eta == 0.5


# ---- 2. keep-mask ---------------------------------------------------------------------------------------
@pytest.mark.parametrize("num_envs, keep", [(8, 1.0), (32, 1.0), (64, 0.5), (128, 0.25), (256, 0.125)])
def test_keep_mask_scales_with_the_env_count(num_envs: int, keep: float) -> None:
    for algo, env in (("rnd", "ALE/Venture-v5"), ("snd-v", "ALE/MontezumaRevenge-v5"), ("rnd", "procgen:jumper")):
        cfg = TrainConfig(algo=algo, env=env, num_envs=num_envs).resolved()
        assert cfg.motivation.predictor_keep_prob == keep, (algo, env)
        built = make_motivation(algo, (4, 32, 32), False, MotivationConfig(), CPU, 0, num_envs=num_envs)
        assert built is not None and built.keep_prob == keep
    # no mask where the authors had none, at any env count
    for algo, env in (("snd-v", "procgen:climber"), ("snd-vic", "ALE/Gravitar-v5"), ("snd-std", "ALE/Venture-v5")):
        assert TrainConfig(algo=algo, env=env, num_envs=num_envs).resolved().motivation.predictor_keep_prob == 1.0
    # an explicit value wins
    explicit = TrainConfig(algo="rnd", num_envs=num_envs, motivation=MotivationConfig(predictor_keep_prob=0.3))
    assert explicit.resolved().motivation.predictor_keep_prob == 0.3


def _tiny(run_dir: Path, cfg: TrainConfig) -> TrainConfig:
    """2 envs x 16 steps in-process, whatever scale the preset set."""
    cfg = dataclasses.replace(
        cfg, run_dir=run_dir, num_envs=2, total_steps=64, device="cpu", seed=3, num_workers=0,
        obs_norm_init_steps=2, tensorboard=False, progress=False,
    )  # fmt: skip
    return dataclasses.replace(cfg, ppo=dataclasses.replace(cfg.ppo, rollout_steps=16, minibatch_size=16))


# ---- 2 (recorded) and 3. the last rollout step --------------------------------------------------------
@pytest.mark.parametrize("preset", ["none", "paper"])
def test_last_step_and_recorded_config(tmp_path: Path, preset: str) -> None:
    cfg = _tiny(tmp_path, apply_preset(TrainConfig(algo="rnd"), preset))
    tr = Trainer(cfg)
    try:
        recorded = json.loads((tmp_path / "config.json").read_text())
        assert recorded["motivation"]["predictor_keep_prob"] == 1.0  # min(1, 32 / 2), not None
        assert recorded["motivation"]["eta"] == 1.0 and recorded["defaults_version"] == 2
        ro = tr.collect()
        adv = tr.advantages(ro)
    finally:
        tr.close()
    last = (adv.combined[-1], adv.ret_ext[-1], adv.ret_int[-1])
    if preset == "paper":  # both authors' GAE starts at T-2
        assert all(torch.equal(x, torch.zeros_like(x)) for x in last)
        assert adv.ret_ext[-2].abs().sum() > 0
    else:  # bootstrapped from V(s_T): the return is V's scale, not 0
        assert all((x != 0).all() for x in last)


def test_bootstrap_flag_works_under_both_presets() -> None:
    from trainer.presets import config_from_argv

    assert config_from_argv(["--preset", "paper"]).ppo.bootstrap_last_step is False
    assert config_from_argv(["--preset", "paper", "--ppo.bootstrap-last-step"]).ppo.bootstrap_last_step is True
    assert config_from_argv([]).ppo.bootstrap_last_step is True
    assert config_from_argv(["--ppo.no-bootstrap-last-step"]).ppo.bootstrap_last_step is False


# ---- 4. Procgen SND-V width -----------------------------------------------------------------------------
def test_procgen_sndv_policy_is_256_wide_under_the_preset(tmp_path: Path) -> None:
    cfg = paper(algo="snd-v", env="procgen:climber").resolved()
    assert cfg.policy_width == 256
    agent = build_agent(cfg, CPU)
    p = agent.policy
    assert p.trunk[-1].out_features == 256 and p.actor[1].weight.shape == (256, 256)
    assert p.critic[0].weight.shape == (256, 256) and p.value_ext.in_features == p.value_int.in_features == 256
    save_agent(agent, tmp_path / "a.safetensors", 0)
    loaded = load_agent(tmp_path / "a.safetensors")
    assert loaded.policy.trunk[-1].out_features == 256 and loaded.config.policy_width == 256
    # everything else stays 512, and so does the default preset
    for c in (TrainConfig(algo="snd-v", env="procgen:climber"), paper(algo="snd-v"), paper(algo="rnd", env="procgen:climber")):
        assert c.resolved().policy_width == 512


# ---- 5. float32 on CUDA ---------------------------------------------------------------------------------
@pytest.mark.filterwarnings("ignore:CUDA is not available")
def test_float32_training_passes_on_cuda_under_the_preset(monkeypatch) -> None:
    monkeypatch.setattr(torch.cuda, "get_device_capability", lambda device=None: (9, 0))
    monkeypatch.setattr(torch.cuda, "get_device_name", lambda device=None: "H100")
    cuda = torch.device("cuda")
    cfg = paper().resolved()
    assert autocast_for(cuda, cfg.amp, cfg.float32_on_cuda) is None
    monkeypatch.setattr("trainer.loop.cpu_has_native_bf16", lambda: True)
    on_cpu = autocast_for(CPU, cfg.amp, cfg.float32_on_cuda)
    assert on_cpu is not None and on_cpu.fast_dtype == torch.bfloat16, "a CPU with bf16 kernels keeps bf16"
    default = TrainConfig().resolved()
    assert autocast_for(cuda, default.amp, default.float32_on_cuda) is not None, "the default keeps bf16"
    forced = dataclasses.replace(cfg, amp="on")
    assert autocast_for(cuda, forced.amp, forced.float32_on_cuda) is not None, "--amp on still wins"
    # a paper run saved before issue 22 trained in bf16 on CUDA and resumes so
    old = to_dict(cfg)
    del old["defaults_version"]
    legacy = from_dict(old)
    assert autocast_for(cuda, legacy.amp, legacy.float32_on_cuda) is not None


# ---- 6. no-ops ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    "algo, env, noops", [("snd-v", "ALE/MontezumaRevenge-v5", 30), ("snd-v", "ALE/Gravitar-v5", 30),
                         ("snd-v", "ALE/PrivateEye-v5", 30), ("snd-v", "ALE/Venture-v5", 30),
                         ("snd-v", "ALE/Solaris-v5", 0), ("snd-v", "ALE/Pitfall-v5", 0),
                         ("rnd", "ALE/Gravitar-v5", 0), ("snd-vic", "ALE/Venture-v5", 0)],
)  # fmt: skip
def test_noops_per_game(algo: str, env: str, noops: int) -> None:
    assert TrainConfig(algo=algo, env=env).resolved().env_cfg.noop_max == noops
    assert paper(algo=algo, env=env).resolved().env_cfg.noop_max == noops


# ---- old configs ----------------------------------------------------------------------------------------
def test_old_configs_keep_what_they_were_trained_with(legacy_demo: Path) -> None:
    demo = load_agent(legacy_demo)  # the first demo's format: SND-V, 32 envs, saved with keep None (then 0.25)
    assert demo.config.defaults_version == 1 and demo.config.policy_width == 512
    assert demo.config.motivation.predictor_keep_prob == 0.25 and demo.motivation.keep_prob == 0.25
    assert demo.config.resolved().motivation.predictor_keep_prob == 0.25, "a resume keeps it"
    assert demo.config.env_cfg.noop_max == 0
    # an old climber SND-V run trained with eta 1, an old Gravitar one without no-ops
    for env, eta, noops in (("procgen:climber", 1.0, 0), ("ALE/Gravitar-v5", 0.5, 0)):
        old = to_dict(TrainConfig(algo="snd-v", env=env, num_envs=128))
        for key in ("defaults_version", "policy_width"):
            del old[key]
        old["env_cfg"]["noop_max"] = None
        cfg = from_dict(old)
        assert cfg.motivation.eta == eta and cfg.motivation.predictor_keep_prob == (1.0 if "procgen" in env else 0.25)
        assert cfg.resolved().env_cfg.noop_max == noops and cfg.resolved().policy_width == 512
    # a new config round-trips as it is
    new = paper(algo="snd-v", env="procgen:climber").resolved()
    assert from_dict(json.loads(json.dumps(to_dict(new)))) == new


def test_resuming_a_run_saved_before_issue_22_keeps_its_keep_mask(tmp_path: Path) -> None:
    from trainer.loop import train

    cfg = dataclasses.replace(_tiny(tmp_path, TrainConfig(algo="rnd")), checkpoint_every=32)
    train(cfg, max_updates=1)
    path = tmp_path / "config.json"
    old = json.loads(path.read_text())
    for key in ("defaults_version", "policy_width"):
        del old[key]
    old["motivation"]["predictor_keep_prob"] = None  # what every config said before issue 22
    path.write_text(json.dumps(old))
    tr = Trainer(dataclasses.replace(cfg, resume=True), resume=True)
    try:
        assert tr.motivation is not None and tr.motivation.keep_prob == 0.25, "not min(1, 32 / 2) = 1"
        rewritten = json.loads(path.read_text())
        assert rewritten["motivation"]["predictor_keep_prob"] == 0.25 and rewritten["defaults_version"] == 1
    finally:
        tr.close()


# ---- trainer presets ------------------------------------------------------------------------------------
def presets(*argv: str) -> tuple[int, dict[str, tuple[str, str, bool]], str]:
    """Run `trainer presets ARGV`; rows by name: (value, source, marked)."""
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        rc = main(["presets", *argv])
    lines = out.getvalue().splitlines()
    table = {}
    for line in lines[1:]:
        m = re.fullmatch(r"([ !]) (\S+) +(\S+) +(.+)", line)
        assert m, line
        table[m.group(2)] = (m.group(3), m.group(4), m.group(1) == "!")
    return rc, table, lines[0]


def test_presets_climber_paper_shows_eta_with_its_source_file() -> None:
    rc, t, head = presets("--algo", "snd-v", "--env", "procgen:climber", "--preset", "paper")
    assert rc == 0 and "snd-v on procgen:climber, preset paper, 128 envs" in head
    value, source, marked = t["motivation.eta"]
    assert value == "0.5" and not marked
    assert "procgen_exploration/climber/models/ppo_cnd_0_1/src/config.py" in source
    assert t["policy_width"][0] == "256" and "model_ppo.py" in t["policy_width"][1]
    assert t["ppo.bootstrap_last_step"][0] == "false" and t["motivation.predictor_keep_prob"][0] == "1.0"
    assert t["total_steps"][0] == "64000000" and t["num_envs"][0] == "128"
    # the one deviation left under the preset: bf16 on the CPU
    assert [k for k, (_, _, marked) in t.items() if marked] == ["amp"]
    assert "env_cfg.noop_max" not in t and "motivation.vicreg_cov_weight" not in t, "only what the run reads"


def test_presets_rnd_default_marks_the_deviations() -> None:
    rc, t, _ = presets("--algo", "rnd", "--env", "ALE/MontezumaRevenge-v5")
    assert rc == 0
    marked = {k for k, (_, _, m) in t.items() if m}
    assert marked == {"total_steps", "num_envs", "amp", "ppo.bootstrap_last_step"}
    assert all(t[k][1].startswith("ours:") for k in marked), "each deviation says why"
    assert t["motivation.predictor_keep_prob"][0] == "1.0" and "32/num_envs" in t["motivation.predictor_keep_prob"][1]
    assert t["motivation.eta"][0] == "1.0" and "Iskandor/SND" in t["motivation.eta"][1]
    assert t["env_cfg.noop_max"][0] == "0" and "motivation.sndv_pairs" not in t


def test_presets_gravitar_at_256_envs_with_an_override() -> None:
    rc, t, _ = presets("--algo", "snd-v", "--env", "ALE/Gravitar-v5", "--preset", "paper", "--num-envs", "256",
                       "--motivation.eta", "2")  # fmt: skip
    assert rc == 0
    assert t["motivation.predictor_keep_prob"][0] == "0.125" and t["env_cfg.noop_max"][0] == "30"
    assert t["num_envs"][2] and "256 envs" in t["num_envs"][1]
    assert t["motivation.eta"][0] == "2.0" and t["motivation.eta"][2]
    assert "command line (the paper preset gives 0.5)" in t["motivation.eta"][1]
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        assert main(["presets", "--algo", "snd-v", "--env", "ALE/Gravitar-v5", "--json"]) == 0
    rows = {r["name"]: r for r in json.loads(out.getvalue())}
    assert rows["env_cfg.noop_max"]["value"] == 30 and rows["ppo.bootstrap_last_step"]["deviates"] is True


def test_presets_bad_input_is_one_line(capsys) -> None:
    assert main(["presets", "--env", "procgen:nope"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nope" in err[0]


def test_every_config_field_has_a_source_or_is_operational() -> None:
    def names(cls: type, prefix: str = "") -> set[str]:
        out = set()
        for f in dataclasses.fields(cls):
            sub = {"env_cfg": EnvConfig, "ppo": type(TrainConfig().ppo), "motivation": MotivationConfig}
            out |= names(sub[f.name], f"{f.name}.") if f.name in sub and not prefix else {prefix + f.name}
        return out

    fields = names(TrainConfig)
    assert fields - set(SOURCES) - OPERATIONAL == set(), "fields without a source"
    assert set(SOURCES) - fields == set() and set(SOURCES) & OPERATIONAL == set()
