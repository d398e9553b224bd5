"""The `archc` command line: argument parsing, rendering, exit codes only."""
