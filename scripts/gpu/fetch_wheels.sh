#!/usr/bin/env bash
# The GPU kit, part 1 (run HERE, with network): download the wheels the GPU machine lacks into
# scripts/gpu/wheels/ (git-ignored; the device tool carries it), for CPython 3.12 manylinux x86_64.
#
#   bash scripts/gpu/fetch_wheels.sh            # then: device run with carry ["scripts/gpu/wheels"]
#
# The GPU image already has numpy 2, torch (CUDA), opencv-python-headless, tensorboard, tqdm, rich,
# matplotlib, safetensors, imageio, pillow, cloudpickle, typing-extensions and the rest of what snd imports
# (/work/.library/device/KINDS.md). It lacks the emulator, the env API and the CLI parser, listed below
# with their own dependencies (each wheel's Requires-Dist checked). Versions are the ones the project's
# tests run with. Not fetched: PyQt6 (its Qt6 wheel alone is ~80 MB, over the 64 MiB the tree may weigh
# there; run_kit.py says how to make the dashboard gif here instead), pyqtgraph (useless without it), av
# (mp4 only; the kit writes gif) and procgen (Atari only).
set -euo pipefail
cd "$(dirname "$0")"
DEST=wheels
LIMIT_MIB=40
WHEELS=(
    ale-py==0.12.1              # the emulator with the ROMs
    gymnasium==1.4.0            # needs numpy, cloudpickle, typing-extensions (there) and:
    farama-notifications==0.0.6
    tyro==1.0.17                # needs typing-extensions (there) and:
    docstring-parser==0.18.0
    typeguard==4.6.1
)
rm -rf "$DEST"
mkdir -p "$DEST"
platforms=()
for p in manylinux_2_28_x86_64 manylinux_2_27_x86_64 manylinux_2_17_x86_64 manylinux2014_x86_64 manylinux1_x86_64; do
    platforms+=(--platform "$p")
done
python3 -m pip download -q --no-deps --only-binary=:all: --python-version 3.12 --implementation cp \
    "${platforms[@]}" --platform any -d "$DEST" "${WHEELS[@]}"
count=$(find "$DEST" -name '*.whl' | wc -l)
bytes=$(du -cb "$DEST"/*.whl | tail -1 | cut -f1)
mib=$(python3 -c "print(f'{$bytes / 2**20:.1f}')")
ls -l "$DEST"
if [ "$count" -ne "${#WHEELS[@]}" ]; then
    echo "fetch_wheels: expected ${#WHEELS[@]} wheels, got $count" >&2
    exit 1
fi
if [ "$bytes" -gt $((LIMIT_MIB * 1024 * 1024)) ]; then
    echo "fetch_wheels: $mib MiB of wheels, over the $LIMIT_MIB MiB the kit allows" >&2
    exit 1
fi
echo "fetch_wheels: $count wheels, $mib MiB in scripts/gpu/$DEST"
