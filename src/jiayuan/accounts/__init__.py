"""Users, roles, scopes, login, sessions, tokens, lockout and the audit log."""
