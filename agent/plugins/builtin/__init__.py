"""The agent's own behaviours, written as plugins through the public hooks."""
