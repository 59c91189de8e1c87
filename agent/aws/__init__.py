"""The AWS side for users and admins: profiles, SSO sign-in, queue helpers, checks (used by the CLI and the windows)."""
