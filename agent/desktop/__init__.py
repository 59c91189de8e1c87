"""The desktop app: the tray, its windows, notifications and start at login (what a person at a workstation sees)."""
