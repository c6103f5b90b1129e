"""What the player draws offscreen and writes to files: the dashboard painter, the video writers, the
evolution and side-by-side videos, and the headless evaluation. Paints with QtGui on images; never a window,
never a command line (those are ``snd_player.app`` and ``snd_player.cli``)."""
