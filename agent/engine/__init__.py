"""The sync engine: queue messages in, files on disk out. Never imports the desktop; the facade is agent.engine.engine."""
