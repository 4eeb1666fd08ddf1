"""Interventions on attention keys: move image keys into the text-key distribution at chosen layers
(before RoPE, per KV head) and measure what attention and answers do on held-out prompts.

fit.py names the interventions and fits them; apply.py puts them into a model's forward pass;
passes.py runs one pass per batch for everything a condition reads (prefix.py lets a pass with an
intervention at layer L start at L; continuation.py scores answers in words after the pass's KV
cache); measure.py reads the figures of one condition; run.py turns before/after into records.
"""
