"""Which torch build `make` installs into .venv: pip's arguments on stdout, the reason on stderr.

    python scripts/torch_choice.py [--version 2.13.0] [TORCH]

TORCH (the Makefile's variable, default ``auto``):

- ``auto``: on Linux with an NVIDIA GPU (``nvidia-smi`` lists one), PyPI's default torch, the CUDA build; on
  Linux without one, the CPU build from the PyTorch CPU index, added as an extra index (its ``+cpu`` version
  sorts above PyPI's CUDA build) when that index answers within a few seconds, else PyPI's default (pip waits
  over a minute on an unreachable index, so it is not asked blindly); on macOS and Windows PyPI's torch,
  which is the CPU build there (with MPS on Apple silicon).
- ``cpu``: the CPU index without asking whether it answers. ``cuda``: PyPI's default build.
- anything else: pip arguments used as they are, e.g.
  ``"torch==2.13.0 --index-url https://download.pytorch.org/whl/cu126"``.

Standard library only: it runs with the interpreter that creates the venv, before anything is installed.
"""

from __future__ import annotations

import argparse
import platform
import shlex
import shutil
import subprocess
import sys
import urllib.request
from collections.abc import Callable
from typing import NamedTuple

CPU_INDEX = "https://download.pytorch.org/whl/cpu"
PROBE_TIMEOUT_S = 5.0
# PyPI's Linux torch 2.13 is built with CUDA 13.0, whose runtime needs an NVIDIA driver of the R580 series or
# newer (CUDA 13.0 release notes); older drivers need a build for an older CUDA from the PyTorch index.
MIN_DRIVER_FOR_PYPI_CUDA = 580
# Where WSL puts the Windows NVIDIA driver's tools; not always on PATH.
_WSL_NVIDIA_SMI = "/usr/lib/wsl/lib/nvidia-smi"


class Choice(NamedTuple):
    pip_args: list[str]
    reason: str


def nvidia_driver() -> str | None:
    """The NVIDIA driver version of the first GPU that ``nvidia-smi`` lists, or None (no tool, no GPU)."""
    tool = shutil.which("nvidia-smi") or (_WSL_NVIDIA_SMI if shutil.which(_WSL_NVIDIA_SMI) else None)
    if tool is None:
        return None
    try:
        out = subprocess.run(
            [tool, "--query-gpu=driver_version", "--format=csv,noheader"],
            capture_output=True,
            text=True,
            timeout=20,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    lines = [line.strip() for line in out.stdout.splitlines() if line.strip()]
    return lines[0] if out.returncode == 0 and lines else None


def index_reachable(url: str = CPU_INDEX, timeout: float = PROBE_TIMEOUT_S) -> bool:
    """True when ``url`` answers within ``timeout`` seconds."""
    try:
        with urllib.request.urlopen(url + "/torch/", timeout=timeout):
            return True
    except (OSError, ValueError):
        return False


def _driver_major(driver: str) -> int | None:
    head = driver.split(".")[0]
    return int(head) if head.isdigit() else None


def choose(
    torch: str,
    version: str,
    system: str,
    driver: str | None,
    cpu_index_reachable: Callable[[], bool],
) -> Choice:
    """The pip arguments for TORCH=``torch`` on ``system`` (platform.system()) with NVIDIA ``driver``."""
    req = f"torch=={version}"
    torch = torch.strip()
    if torch == "cuda":
        return Choice([req], f"TORCH=cuda: {req} from PyPI, its default build (CUDA on Linux)")
    if torch == "cpu":
        if system != "Linux":
            return Choice([req], f"TORCH=cpu: {req} from PyPI, which is a CPU build on {system}")
        return Choice([req, "--extra-index-url", CPU_INDEX], f"TORCH=cpu: {req}+cpu from {CPU_INDEX}")
    if torch != "auto":
        return Choice(shlex.split(torch), f"TORCH={torch}: as given")
    if system != "Linux":
        return Choice([req], f"{system}: {req} from PyPI, a CPU build there (with MPS on Apple silicon)")
    if driver is not None:
        reason = f"NVIDIA GPU found (driver {driver}): {req} from PyPI, its default CUDA build"
        major = _driver_major(driver)
        if major is not None and major < MIN_DRIVER_FOR_PYPI_CUDA:
            reason += (
                f"; WARNING: that build needs driver {MIN_DRIVER_FOR_PYPI_CUDA} or newer: update the driver or "
                f'pick an older CUDA build, e.g. TORCH="{req} --index-url https://download.pytorch.org/whl/cu126"'
            )
        return Choice([req], reason)
    if cpu_index_reachable():
        return Choice(
            [req, "--extra-index-url", CPU_INDEX], f"no NVIDIA GPU: the CPU build, {req}+cpu from {CPU_INDEX}"
        )
    return Choice(
        [req],
        f"no NVIDIA GPU, but {CPU_INDEX} did not answer within {PROBE_TIMEOUT_S:g} s: {req} from the default "
        "index (on Linux x86_64 PyPI's is the CUDA build, several GB, which also runs on the CPU); "
        'set TORCH="torch==... --index-url URL" to choose',
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("torch", nargs="?", default="auto", help="auto, cpu, cuda or pip arguments")
    parser.add_argument("--version", default="2.13.0", help="torch version for auto, cpu and cuda")
    args = parser.parse_args(argv)
    choice = choose(args.torch, args.version, platform.system(), nvidia_driver(), index_reachable)
    print(f"torch: {choice.reason}", file=sys.stderr)
    print(shlex.join(choice.pip_args))
    return 0


if __name__ == "__main__":
    sys.exit(main())
