"""Tray, notification and live-config tests against a real X server, tray host and D-Bus."""
