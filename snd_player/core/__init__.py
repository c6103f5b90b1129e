"""The Qt-free core of the player: a session (env + agent from a checkpoint) stepped frame by frame, its
timeline and rooms, the feature projection, the stepper that drives it for the window, and the comparison of
two agents. Imports neither Qt nor pyqtgraph nor the layers above (pyproject.toml's import contracts)."""
