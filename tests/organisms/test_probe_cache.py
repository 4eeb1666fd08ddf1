"""The text-bias probe rides the key cache: a warm cache serves the figures of the same checkpoint, questions,
precision and code; anything else (another key, an unreadable or foreign file, no cache) computes them."""

import json

from harness.organisms.probe import cached_text_bias, probe_key
from harness.results.figures import TextBias

FIGS = TextBias(n=200, accuracy=0.9, hinted_accuracy=0.5, follows_hint=0.4, text_reading=0.95, chance=1 / 6, questions="q")


class Counting:
    def __init__(self, figures=FIGS):
        self.calls, self.figures = 0, figures

    def __call__(self):
        self.calls += 1
        return self.figures


def test_a_second_call_with_the_same_key_is_served_from_the_cache(tmp_path):
    key = probe_key({"files": "abc"}, 20261130, dtype="float32", device="cpu")
    compute = Counting()
    assert cached_text_bias(tmp_path, key, compute) == FIGS
    assert cached_text_bias(tmp_path, key, compute) == FIGS
    assert compute.calls == 1
    (stored,) = tmp_path.glob("text-bias-*.json")
    assert json.loads(stored.read_text())["key"] == key


def test_every_part_of_the_key_tells_results_apart(tmp_path):
    base = dict(checkpoint={"files": "abc"}, seed=1, dtype="float32", device="cpu")
    keys = {probe_key(base["checkpoint"], base["seed"], dtype=base["dtype"], device=base["device"]),
            probe_key({"files": "abd"}, 1, dtype="float32", device="cpu"),
            probe_key({"files": "abc"}, 2, dtype="float32", device="cpu"),
            probe_key({"files": "abc"}, 1, dtype="bfloat16", device="cpu"),
            probe_key({"files": "abc"}, 1, dtype="float32", device="cuda")}
    assert len(keys) == 5
    compute = Counting()
    for key in keys:
        cached_text_bias(tmp_path, key, compute)
    assert compute.calls == 5


def test_a_foreign_or_broken_file_is_recomputed_and_no_cache_stores_nothing(tmp_path):
    key = probe_key({"files": "abc"}, 1, dtype="float32", device="cpu")
    path = tmp_path / f"text-bias-{key[:16]}.json"
    compute = Counting()
    for text in ("{not json", json.dumps({"key": "another", "figures": FIGS.to_dict()}), json.dumps([1, 2])):
        path.write_text(text)
        assert cached_text_bias(tmp_path, key, compute) == FIGS
    assert compute.calls == 3
    link = tmp_path / "elsewhere.json"
    link.write_text(json.dumps({"key": key, "figures": FIGS.to_dict()}))
    path.unlink()
    path.symlink_to(link)  # a link is not followed: recomputed
    assert cached_text_bias(tmp_path, key, compute, write=False) == FIGS and compute.calls == 4
    assert cached_text_bias(None, key, compute) == FIGS and compute.calls == 5
    other = tmp_path / "none"
    cached_text_bias(other, key, compute, write=False)
    assert not other.exists()


def test_a_run_with_a_warm_cache_serves_the_organisms_probe_without_loading_it(tmp_path):
    from harness.run.options import OPTIONS, parse_config
    from harness.run.session import KeyspaceRun

    def run():
        values = {o.name: o.default for o in OPTIONS} | {
            "models": "organism-joint", "results": str(tmp_path / "r.jsonl"), "report": str(tmp_path / "r.html"),
            "cache": str(tmp_path / "cache")}
        return KeyspaceRun(parse_config(values.__getitem__, tmp_path))

    first, second = run(), run()
    measured = first.text_bias("organism-joint")
    assert first._loaded is not None and measured.n == 200
    assert second.text_bias("organism-joint") == measured
    assert second._loaded is None  # served from the cache: the model was never loaded
    assert run().text_bias("tiny-llava") is None  # not an organism: no probe, nothing stored
    assert len(list((tmp_path / "cache").glob("text-bias-*.json"))) == 1
