"""The player's windows: the main window and its panels, the compare window, run support (run folders,
follow mode), the record dialog, and the workers that step a session beside the GUI."""
