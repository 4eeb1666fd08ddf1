"""Interventions on attention keys: move image keys into the text-key distribution at chosen layers
(before RoPE, per KV head) and measure what attention and answers do on held-out prompts.

fit.py names the interventions and fits them; apply.py puts them into a model's forward pass;
measure.py reads the figures of one condition; run.py turns before/after into records.
"""
