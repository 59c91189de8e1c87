"""The hidden commands a frozen build runs its own child processes with (a PyInstaller executable has no `-m`)."""

DIALOG_COMMAND = "_dialog"
"""`s3-sqs-agent _dialog ...` runs a native dialog (agent.desktop.dialogs)."""
WINDOW_COMMAND = "_window"
"""`s3-sqs-agent _window KIND --config FILE` runs a window (agent.desktop.windows.child)."""
