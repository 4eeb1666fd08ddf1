"""Trained miniature VLMs with known histories (text-first, aligned, joint), built offline from a procedural world."""
