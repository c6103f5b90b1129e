"""`python main.py [CKPT] [options]` is `snd-player [CKPT] [options]`."""

import sys

from snd_player.cli import main

if __name__ == "__main__":
    sys.exit(main())
