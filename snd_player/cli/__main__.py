"""``python -m snd_player.cli [CKPT] [options]`` is ``snd-player [CKPT] [options]``."""

import sys

from snd_player.cli import main

sys.exit(main())
