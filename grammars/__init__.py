"""The lark grammar of the .arch language and the standard library written in it."""

from pathlib import Path

GRAMMAR_PATH = Path(__file__).with_name("arch.lark")
STD_DIR = Path(__file__).with_name("std")
