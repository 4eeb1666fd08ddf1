from pathlib import Path

import pytest

from harness.benchmarks import BenchmarkChoice
from harness.errors import KeyspaceError
from harness.run.options import OPTIONS, parse_config


def config(**overrides):
    values = {o.name: o.default for o in OPTIONS} | overrides
    return parse_config(lambda name: values[name], Path("/root"))


def test_defaults_are_offline_tiny_and_fixture():
    cfg = config()
    assert cfg.models == ("tiny-llava",) or all(m.startswith("tiny-") for m in cfg.models)
    assert cfg.benchmarks == (BenchmarkChoice("fixture"),)
    assert cfg.device == "cpu" and cfg.dtype == "float32"
    assert cfg.results == Path("/root/reports/results.jsonl")


@pytest.mark.parametrize(
    "name, value, needle",
    [
        ("samples", "0", "--ks-samples: 0 is too small"),
        ("samples", "1", "--ks-samples: 1 is too small; give a whole number in 2..1000000"),  # one prompt: no prompt-level test
        ("samples", "many", "--ks-samples: 'many' is not an integer"),
        ("device", "tpu", "--ks-device: 'tpu' is not a device"),
        ("dtype", "int8", "--ks-dtype: 'int8' is not a dtype"),
        ("alpha", "1.5", "--ks-alpha: 1.5 is out of range"),
        ("threshold", "-1", "--ks-threshold: -1 is out of range"),
        ("threshold", "abc", "--ks-threshold: 'abc' is not a number; give a number > 0, or 'model'"),
        ("alpha", "one", "--ks-alpha: 'one' is not a number; give a number > 0 and < 1, or 'model'"),
        ("models", " , ", "--ks-models: no model given"),
        ("threshold", "nan", "--ks-threshold: nan is not a finite number; give a number > 0"),
        ("threshold", "inf", "--ks-threshold: inf is not a finite number"),
        ("alpha", "NaN", "--ks-alpha: NaN is not a finite number; give a number > 0 and < 1"),
        ("alpha", "-inf", "--ks-alpha: -inf is not a finite number"),
        ("heads", "-1", "--ks-heads: -1 is too small"),
        ("benchmarks", " , ", "--ks-benchmarks: no benchmark given"),
        ("permutations", "100000000000", "--ks-permutations: 100000000000 is too large; give a whole number in 1..1000000"),
        ("permutations", "1e11", "--ks-permutations: '1e11' is not an integer; give a whole number in 1..1000000"),
        ("seed", str(10**23), "--ks-seed: 100000000000000000000000 is too large; give a whole number in 0..4294967295"),
        ("max-points", "10000000", "--ks-max-points: 10000000 is too large"),
        ("batch-size", "100000", "--ks-batch-size: 100000 is too large"),
        ("resume", "ture", "--ks-resume: 'ture' is not a yes/no value; use one of 1, true, yes, on, 0, false, no, off"),
        ("no-cache", "2", "--ks-no-cache: '2' is not a yes/no value"),
    ],
)
def test_bad_values_give_one_line_errors(name, value, needle):
    with pytest.raises(KeyspaceError) as info:
        config(**{name: value})
    assert needle in str(info.value)
    assert "\n" not in str(info.value)


def test_subsets_stay_with_their_benchmark():
    (choice,) = config(benchmarks="fixture:en,zh").benchmarks
    assert choice == BenchmarkChoice("fixture", ("en", "zh")) and choice.text == "fixture:en,zh"
    assert [b.text for b in config(benchmarks="mmmu:Art,Biology,world; fixture").benchmarks] == [
        "mmmu:Art,Biology", "world", "fixture"]


def test_config_id_ignores_output_paths_but_not_seed():
    a, b = config(), config(results="elsewhere.jsonl")
    assert a.config_id() == b.config_id()
    assert a.config_id() != config(seed="1").config_id()


def test_each_xdist_worker_takes_its_own_gpu():
    import torch

    from harness.run.options import worker_device

    cuda = torch.device("cuda")
    assert [str(worker_device(cuda, f"gw{i}", count=2)) for i in range(4)] == ["cuda:0", "cuda:1", "cuda:0", "cuda:1"]
    assert worker_device(torch.device("cuda:1"), "gw0", count=2) == torch.device("cuda:1")  # an explicit index stays
    assert worker_device(torch.device("cpu"), "gw1", count=2) == torch.device("cpu")
    assert worker_device(cuda, None, count=2) == cuda


def test_baselines_auto_reads_the_committed_store_and_writes_beside_the_results():
    auto = config().baselines
    assert auto.stored == Path("/root/reports/baselines") and not auto.strict
    assert auto.own == Path("/root/reports/results.jsonl.baselines")
    named = config(baselines="reports/baselines").baselines
    assert named.own == Path("/root/reports/baselines") and named.strict
    assert config(baselines="none").baselines is None


def test_config_id_is_the_one_written_before_options_were_typed():
    """Typed values (token caps, benchmark choices, shard) must not move the config id: results files
    written earlier still resume (these digests were computed by the string-valued options; --ks-per-head,
    added later, adds figures to every triple, so it moved them once: 0d3ba25749e1 before it)."""
    assert config(device="cpu").config_id() == "a279f0838ab1"
    assert config(device="cpu", **{"max-tokens": "100"}).config_id() == "512f57dcb71b"


def test_an_empty_value_means_the_documented_default():
    """`--ks-max-tokens=` is the balanced default, not every token; so for every option."""
    assert config(**{o.name: "" for o in OPTIONS}) == config()
    assert config(**{"max-tokens": " "}).max_tokens.balanced == 1500


@pytest.mark.parametrize("value, expected", [("1", True), ("Yes", True), ("on", True), ("0", False), ("off", False), ("", False)])
def test_switch_spellings(value, expected):
    assert config(resume=value).resume is expected


def test_too_few_sign_flips_for_alpha_end_the_run_before_any_model(tmp_path):
    """With P draws the p-value is at least 1/(1 + P): at or above alpha no triple could ever pass, whatever its
    figures, and the verdict would only say "not significant"; one line names the least P that can."""
    import pytest
    from harness.errors import KeyspaceError
    from harness.run.options import OPTIONS, parse_config

    defaults = {o.name: o.default for o in OPTIONS}

    def config(**given):
        values = {**defaults, **{k.replace("_", "-"): v for k, v in given.items()}}
        return parse_config(lambda name: values[name], tmp_path)

    with pytest.raises(KeyspaceError, match=r"--ks-permutations: 20 draws give p ≥ 1/21 .* never under alpha 0.01.* at least 100"):
        config(permutations="20")
    with pytest.raises(KeyspaceError, match="at least 20$"):
        config(permutations="19", alpha="0.05")
    assert config(permutations="100").permutations == 100 and config(permutations="20", alpha="0.05").alpha == 0.05


def test_a_model_or_benchmark_named_twice_is_one_line(tmp_path):
    """Named twice, a pair would be measured twice and every verdict sentence would count its layers twice."""
    import pytest
    from harness.errors import KeyspaceError
    from harness.run.options import OPTIONS, parse_config

    defaults = {o.name: o.default for o in OPTIONS}

    def config(**given):
        values = {**defaults, **given}
        return parse_config(lambda name: values[name], tmp_path)

    with pytest.raises(KeyspaceError, match="^--ks-models: organism-joint named more than once; name each model once$"):
        config(models="organism-joint,tiny-llava,organism-joint")
    with pytest.raises(KeyspaceError, match="^--ks-benchmarks: fixture named more than once"):
        config(benchmarks="fixture,world,fixture")
    with pytest.raises(KeyspaceError, match=r"mmmu named more than once; .* \(mmmu:Art,Biology\)$"):
        config(benchmarks="mmmu:Art;mmmu:Biology")
    assert [b.text for b in config(benchmarks="mmmu:Art,Biology,world").benchmarks] == ["mmmu:Art,Biology", "world"]
