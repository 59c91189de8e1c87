"""The Setup window (window.py), its pages (account; queue, with the creator of a queue; check) and what they share (page.py)."""
