"""IR passes: pure functions from a graph to a new graph (or to a finding), one per module."""
