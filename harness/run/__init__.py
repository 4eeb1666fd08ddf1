"""One run without pytest: options parsed once, the plan, the session, controls, shards, output paths."""
