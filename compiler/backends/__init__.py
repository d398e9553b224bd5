"""Backends: turn the IR into something else (pictures, modules, files)."""
