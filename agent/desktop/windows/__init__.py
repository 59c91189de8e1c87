"""The Setup, Settings and Activity windows: tkinter in a child process, talking to the tray over its pipes."""
