"""Install anywhere: the torch the Makefile picks, and that `pip install .` resolves on Python 3.12 and 3.13.

The resolution check asks PyPI (uv resolves for a target Python and platform without that interpreter, and
evaluates the environment markers for the target, which pip's --python-version does not), so it needs the
network to PyPI, as `make test` does to install in the first place.
"""

from __future__ import annotations

import os
import shutil
import stat
import subprocess
import sys
import tomllib
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from packaging.specifiers import SpecifierSet

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "scripts"))
import torch_choice  # noqa: E402

CPU = ["--extra-index-url", torch_choice.CPU_INDEX]


def _never() -> bool:
    raise AssertionError("the CPU index must not be asked here")


# ---- which torch ----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("torch", "system", "driver", "reachable", "args", "said"),
    [
        ("auto", "Linux", None, True, ["torch==2.13.0", *CPU], "no NVIDIA GPU: the CPU build"),
        ("auto", "Linux", None, False, ["torch==2.13.0"], "did not answer within 5 s"),
        ("auto", "Linux", "580.65.06", None, ["torch==2.13.0"], "driver 580.65.06): torch==2.13.0 from PyPI"),
        ("auto", "Darwin", None, None, ["torch==2.13.0"], "Darwin: torch==2.13.0 from PyPI, a CPU build"),
        ("auto", "Windows", "560.94", None, ["torch==2.13.0"], "Windows"),
        ("cpu", "Linux", "580.1", None, ["torch==2.13.0", *CPU], "TORCH=cpu"),
        ("cpu", "Darwin", None, None, ["torch==2.13.0"], "CPU build on Darwin"),
        ("cuda", "Linux", None, None, ["torch==2.13.0"], "TORCH=cuda"),
        (
            " torch==2.9.1 --index-url https://example.org/whl/cu126 ",
            "Linux",
            None,
            None,
            ["torch==2.9.1", "--index-url", "https://example.org/whl/cu126"],
            "as given",
        ),
    ],
)
def test_choose(torch: str, system: str, driver: str | None, reachable: bool | None, args, said) -> None:
    probe = _never if reachable is None else (lambda: reachable)
    choice = torch_choice.choose(torch, "2.13.0", system, driver, probe)
    assert choice.pip_args == args and said in choice.reason


def test_old_driver_gets_a_warning_with_the_override() -> None:
    reason = torch_choice.choose("auto", "2.13.0", "Linux", "550.54.15", _never).reason
    assert "WARNING" in reason and "580 or newer" in reason and 'TORCH="torch==2.13.0 --index-url' in reason
    assert "WARNING" not in torch_choice.choose("auto", "2.13.0", "Linux", "580.65.06", _never).reason


def _fake_tool(folder: Path, name: str, script: str) -> Path:
    path = folder / name
    path.write_text("#!/bin/sh\n" + script + "\n")
    path.chmod(path.stat().st_mode | stat.S_IXUSR)
    return path


@pytest.mark.parametrize(
    ("script", "driver"),
    [
        ('echo "550.54.15"; echo "550.54.15"', "550.54.15"),  # two GPUs
        ("echo 'NVIDIA-SMI has failed because it couldn't communicate with the driver' >&2; exit 9", None),
        ("exit 0", None),  # the tool but no GPU listed
    ],
)
def test_nvidia_driver_reads_nvidia_smi(tmp_path: Path, monkeypatch, script: str, driver: str | None) -> None:
    _fake_tool(tmp_path, "nvidia-smi", script)
    monkeypatch.setenv("PATH", str(tmp_path))
    assert torch_choice.nvidia_driver() == driver


def test_no_nvidia_smi_is_no_gpu(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.setenv("PATH", str(tmp_path))
    monkeypatch.setattr(torch_choice, "_WSL_NVIDIA_SMI", str(tmp_path / "absent"))
    assert torch_choice.nvidia_driver() is None


def test_index_probe_fails_fast_on_a_closed_port() -> None:
    assert not torch_choice.index_reachable("http://127.0.0.1:9", timeout=2)


def test_makefile_installs_the_chosen_torch_first(tmp_path: Path) -> None:
    """The Makefile's install recipe, run with a stand-in Python whose venv has a pip that only records its
    arguments: the torch arguments reach pip intact, before the project, and TORCH overrides them."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    log = tmp_path / "pip.log"
    _fake_tool(bin_dir, "nvidia-smi", "echo 580.65.06")  # so that auto needs no network
    fake_pip = f'echo "$*" >> {log}'
    _fake_tool(
        bin_dir,
        "fakepython",
        f'if [ "$1" = -m ] && [ "$2" = venv ]; then mkdir -p "$3/bin" && printf \'#!/bin/sh\\n{fake_pip}\\n\' '
        f'> "$3/bin/pip" && chmod +x "$3/bin/pip"; else exec {sys.executable} "$@"; fi',
    )
    env = {**os.environ, "PATH": f"{bin_dir}:{os.environ['PATH']}"}
    for n, torch in enumerate(["auto", "torch==2.9.1 --index-url https://example.org/whl/cu126"]):
        venv = tmp_path / f"venv{n}"
        out = subprocess.run(
            [
                "make",
                "-C",
                str(ROOT),
                "install",
                f"VENV={venv}",
                f"PYTHON={bin_dir / 'fakepython'}",
                f"TORCH={torch}",
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert out.returncode == 0, out.stderr
        assert (venv / ".installed").exists()
    rliable = ["install -q setuptools>=61,<81 wheel", "install -q --no-build-isolation --no-deps rliable>=1.2"]
    assert log.read_text().splitlines() == [
        "install -q torch==2.13.0",
        *rliable,
        "install -q -e .[test]",
        "install -q torch==2.9.1 --index-url https://example.org/whl/cu126",
        *rliable,
        "install -q -e .[test]",
    ]


# ---- pip install . resolves on every supported Python ---------------------------------------------------


def _uv() -> str:
    try:
        import uv

        return uv.find_uv_bin()
    except ImportError:
        found = shutil.which("uv")
        assert found, "uv is part of the test extra: pip install -e '.[test]'"
        return found


def _resolve(python: str, platform: str) -> dict[str, str]:
    """name -> version that `pip install '.[test]'` gets on CPython ``python`` for ``platform``, from PyPI.
    macOS means macOS 14, the oldest that torch 2.12 and newer have wheels for."""
    out = subprocess.run(
        [
            _uv(), "pip", "compile", str(ROOT / "pyproject.toml"), "--extra", "test", "--no-config",
            # this interpreter builds what has no wheel (gym's metadata): uv must not fetch one of its own
            "--no-python-downloads", "--python", sys.executable,
            "--python-version", python, "--python-platform", platform,
            "--index-url", "https://pypi.org/simple", "--no-header", "--no-annotate", "--quiet",
        ],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "UV_NO_PROGRESS": "1", "MACOSX_DEPLOYMENT_TARGET": "14.0"},
    )  # fmt: skip
    assert out.returncode == 0, (
        f"no resolution for CPython {python} on {platform} (needs PyPI):\n{out.stderr}"
    )
    pins = [line.split("==") for line in out.stdout.splitlines() if "==" in line]
    return {name.lower(): version.split(";")[0].strip() for name, version in pins}


def test_pip_install_resolves_on_python_3_12_and_3_13() -> None:
    # uv resolves the dependencies without checking the project's own requires-python: check it here
    requires = SpecifierSet(
        tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["requires-python"]
    )
    assert all(v in requires for v in ("3.11", "3.12", "3.13")) and "3.10" not in requires
    targets = [
        ("3.12", "x86_64-manylinux_2_28"),
        ("3.13", "x86_64-manylinux_2_28"),
        ("3.13", "aarch64-apple-darwin"),
    ]
    _uv()  # once, before the threads: uv.find_uv_bin reads sysconfig, whose first read is not thread-safe
    # (three threads at once got None for EXE: "can only concatenate str (not NoneType)", a flaky failure)
    with ThreadPoolExecutor(len(targets)) as pool:
        linux312, linux313, mac313 = pool.map(lambda t: _resolve(*t), targets)
    for pins in (linux312, linux313, mac313):
        assert {"torch", "numpy", "ale-py", "gymnasium", "pyqt6", "pyqtgraph", "pytest"} <= pins.keys()
    # 3.12: procgen-mirror, and numpy below 2 because procgen-mirror caps it
    assert "procgen-mirror" in linux312 and "procgen-gym" not in linux312
    assert linux312["numpy"].startswith("1.")
    # 3.13: procgen-gym and numpy 2
    assert "procgen-gym" in linux313 and "procgen-mirror" not in linux313
    assert int(linux313["numpy"].split(".")[0]) >= 2
    # macOS (Apple silicon): no Procgen wheels at all, the rest installs, torch as new as on Linux
    assert not {"procgen-mirror", "procgen-gym", "procgen"} & mac313.keys()
    assert int(mac313["numpy"].split(".")[0]) >= 2 and mac313["torch"] == linux313["torch"]
