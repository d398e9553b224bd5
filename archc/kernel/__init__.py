"""The shared kernel: what the front end, the compiler and the runtime all use.

Source spans (`span`), diagnostics and `ArchError` (`diagnostics`), symbolic values over
choices and their evaluation under a config (`symbolic`), and atomic file writes
(`files`). It imports nothing else of archc, so any layer may import it.
"""
