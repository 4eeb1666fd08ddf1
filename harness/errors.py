"""User-facing errors: one line that names what was wrong and what would be right."""


class KeyspaceError(Exception):
    """Bad input or an unusable environment; shown to the user as one line, never as a traceback."""
