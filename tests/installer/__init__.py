"""Tests of the frozen app and the Linux .deb (slow: they build with PyInstaller once per session)."""
