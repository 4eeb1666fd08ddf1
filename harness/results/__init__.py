"""Typed records of finished triples, their JSON-lines store, merging of parts and shards, run metadata, stored baselines."""
