"""Load the keyspace plugin when the package is not installed (installed, its pytest11 entry point loads it)."""

pytest_plugins = ["harness.plugin"]
