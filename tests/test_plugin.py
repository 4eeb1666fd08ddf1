"""The plugin end to end, through pytester: options, one-line errors, results and report."""

import json
import shutil
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def suite(pytester):
    shutil.copy(ROOT / "suites" / "test_keyspace.py", pytester.path / "test_keyspace.py")
    return pytester


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    """Local checkpoints a user may point hf: at by mistake: empty, text-only (BERT), config without weights,
    an encoder-decoder."""
    from transformers import BertConfig, BertModel

    from harness.models.tiny import build_tiny

    root = tmp_path_factory.mktemp("checkpoints")
    (root / "empty").mkdir()
    BertModel(BertConfig(hidden_size=16, num_hidden_layers=1, num_attention_heads=2, intermediate_size=16,
                         vocab_size=40)).save_pretrained(root / "bert")
    build_tiny("llava", seed=0)[0].config.save_pretrained(root / "no-weights")
    from transformers import Pix2StructConfig

    Pix2StructConfig().save_pretrained(root / "pix2struct")  # an encoder-decoder: refused from its config alone
    from transformers import Mistral4Config

    Mistral4Config().save_pretrained(root / "mistral4")  # text-only, though listed for image-text-to-text
    model, processor = build_tiny("llava", seed=0)
    model.save_pretrained(root / "truncated")
    processor.save_pretrained(root / "truncated")
    weights = root / "truncated" / "model.safetensors"
    weights.write_bytes(weights.read_bytes()[:-1000])  # an interrupted copy
    return root


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--ks-heads", "99"], "--ks-heads: 99 is outside tiny-llava's 2 key-value heads for --ks-capture keys"),
        (["--ks-heads", "4", "--ks-capture", "queries", "--ks-models", "tiny-llava"], "--ks-heads: 4 is outside tiny-llava's 4 query heads"),
        (["--ks-report", "/proc/nope/r.html"], "--ks-report: cannot write in /proc/nope (in /proc)"),
        (["--ks-results", "/proc/nope/r.jsonl"], "--ks-results: cannot write in /proc/nope (in /proc)"),
        (["--ks-baselines", "/proc/nope"], "--ks-baselines: cannot write in /proc/nope (in /proc)"),
        (["--ks-cache", "/proc/nope"], "--ks-cache: cannot write in /proc/nope (in /proc)"),
        (["--ks-threshold", "nan"], "--ks-threshold: nan is not a finite number; give a number > 0"),
        (["--ks-alpha", "inf"], "--ks-alpha: inf is not a finite number; give a number > 0 and < 1"),
        (["--ks-models", "hf:{ckpt}/empty"], "empty has no config.json; give a directory written by save_pretrained"),
        (["--ks-models", "hf:{ckpt}/bert"], "is a 'bert' checkpoint, not an image-text-to-text model"),
        (["--ks-models", "hf:{ckpt}/no-weights"], "has a config but no weights"),
        (["--ks-models", "hf:{ckpt}/pix2struct"], "is an encoder-decoder ('pix2struct'): its decoder sees the image only through cross-attention"),
        (["--ks-models", "hf:{ckpt}/mistral4"], "is a 'mistral4' checkpoint whose model is text-only (its config has no vision side)"),
        (["--ks-models", "hf:{ckpt}/truncated"], "truncated/model.safetensors: truncated: "),
        (["--ks-models", "nope"], "unknown model 'nope'; valid models:"),
        (["--ks-benchmarks", "nope"], "unknown benchmark 'nope'; valid benchmarks: fixture"),
        (["--ks-layers", "9"], "layer 9 is outside tiny-llava's range 0..3"),
        (["--ks-samples", "0"], "--ks-samples: 0 is too small"),
        (["--ks-report", "/etc/hostname/report.html"], "--ks-report: cannot write /etc/hostname/report.html"),
        (["--ks-results", "/"], "--ks-results: / is a directory"),
        (["--ks-models", "hf:Org/Uncached"], "Org/Uncached is not in the local Hugging Face cache"),
        (["--ks-benchmarks=,"], "--ks-benchmarks: no benchmark given"),
        (["--ks-results", "out/x", "--ks-report", "out/./x"], "--ks-report and --ks-results are the same file"),
        (["--ks-intervene-results", "reports/results.jsonl"], "--ks-intervene-results and --ks-results are the same file"),
        (["--ks-results", "out/interventions.jsonl"],
         "--ks-intervene-results (auto: interventions.jsonl beside --ks-results) and --ks-results are the same file"),
        (["--ks-permutations", "100000000000"], "--ks-permutations: 100000000000 is too large"),
        (["-o", "ks_resume=ture"], "--ks-resume: 'ture' is not a yes/no value"),
        # the intervention suite's options are checked with the others, whichever suite runs
        (["--ks-intervene-results", "/proc/nope/iv.jsonl"], "--ks-intervene-results: cannot write in /proc/nope (in /proc)"),
        (["--ks-intervene-layers", "99"], "--ks-intervene-layers: layer 99 is outside tiny-llava's range 0..3"),
        (["--ks-intervene", "shift"], "--ks-intervene: unknown intervention 'shift'"),
        (["--ks-intervene-benchmarks", "nope"], "--ks-intervene-benchmarks: unknown benchmark 'nope'"),
        (["--ks-intervene-shrinkage", "oas"], "--ks-intervene-shrinkage: 'oas' is not a choice"),
    ],
)
def test_bad_input_is_one_line(suite, args, needle, monkeypatch, checkpoints):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    result = suite.runpytest_subprocess(*(a.format(ckpt=checkpoints) for a in args))
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in result.errlines if line.startswith("ERROR:")]
    assert len(errors) == 1 and needle in errors[0], result.errlines
    assert "Traceback" not in result.stderr.str()


def test_suite_writes_results_and_report(suite):
    results, report = suite.path / "out" / "r.jsonl", suite.path / "out" / "r.html"
    run = suite.runpytest_subprocess(
        "--ks-models", "tiny-llava", "--ks-samples", "8", "--ks-layers", "0,-1", "--ks-permutations", "200",
        "--ks-baselines", "none", "-ra",
        "--ks-results", str(results), "--ks-report", str(report), "-p", "no:cacheprovider",
    )
    outcomes = run.parseoutcomes()
    # One capture test and two triples ran; with 8 samples the verdicts may go either way.
    # every test reached an outcome; an "undecided" triple is a skip (docs/statistics.md)
    assert sum(outcomes.get(k, 0) for k in ("passed", "failed", "xfailed", "skipped")) == 3, outcomes
    table = [line.split() for line in run.outlines if line.startswith("tiny-llava ")]
    assert [row[1] for row in table] == ["0", "3"], "the terminal table lists the triples"
    lines = [json.loads(line) for line in results.read_text().splitlines()]
    assert {(r["model"], r["layer"], r["benchmark"]) for r in lines} == {("tiny-llava", 0, "fixture"), ("tiny-llava", 3, "fixture")}
    for r in lines:
        for key in ("n_image", "n_text", "mmd2", "p_value", "intra", "ratio", "threshold", "passed", "seconds"):
            assert key in r
        assert r["permutations"] == 200 and r["p_value"] >= 1 / 201
    assert "<html" in report.read_text() and "tiny-llava" in report.read_text()
    # the console ends with the verdict sentences: after pytest's short test summary, before its final count
    out = run.outlines
    verdict = max(i for i, line in enumerate(out) if "keyspace verdict" in line)
    assert all(i < verdict for i, line in enumerate(out) if "short test summary info" in line), out[-20:]
    assert out[verdict + 1].startswith("tiny-llava: ") and " in " in out[-1] and out[-1].startswith("="), out[-6:]
    assert not any("organisms study" in line for line in out), "the study's line only where organisms ran"


def test_an_organism_run_ends_with_the_studys_answer(suite):
    """The console's verdict block carries the organisms study's answer when the run measured an organism."""
    out = suite.path / "out"
    run = suite.runpytest_subprocess(
        "--ks-models", "organism-joint", "--ks-samples", "8", "--ks-layers", "0", "--ks-permutations", "200",
        "--ks-baselines", "none", "--ks-results", str(out / "r.jsonl"), "--ks-report", str(out / "r.html"), "-p", "no:cacheprovider",
    )
    verdict = max(i for i, line in enumerate(run.outlines) if "keyspace verdict" in line)
    study = [line for line in run.outlines[verdict:] if line.startswith("organisms study")]
    assert len(study) == 1 and "key-space gap tracks history: " in study[0], run.outlines[-8:]
    assert 'id="study"' in (out / "r.html").read_text()


def test_ids_are_readable(suite):
    run = suite.runpytest_subprocess("--collect-only", "-q")
    assert "test_keyspace.py::test_keyspace[tiny-llava-L0-fixture]" in run.stdout.str()
    assert "test_keyspace.py::test_capture[tiny-llava-fixture]" in run.stdout.str()


def test_help_lists_every_option(pytester):
    """`pytest --help` renders every --ks-* option (argparse %-formats help strings)."""
    from harness.intervention.options import INTERVENTION_OPTIONS
    from harness.run.options import OPTIONS

    result = pytester.runpytest_subprocess("--help")
    assert result.ret == 0, result.stderr.str()
    text = result.stdout.str()
    assert all(f"--ks-{o.name.replace('_', '-')}" in text for o in OPTIONS + INTERVENTION_OPTIONS)


def test_missing_checkpoint_fails_its_pair_once_and_spares_the_rest(suite, monkeypatch):
    """A registered hub model that is not cached offline: its capture test fails with the download
    command, its triples and controls skip pointing at it, the tiny model beside it still runs, and
    both reach the results file."""
    shutil.copy(ROOT / "suites" / "test_keyspace_controls.py", suite.path / "test_keyspace_controls.py")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(suite.path / "empty-hub"))
    results = suite.path / "out" / "r.jsonl"
    run = suite.runpytest_subprocess(
        "--ks-models", "llava-1.5-7b,tiny-llava", "--ks-layers", "0", "--ks-samples", "8", "--ks-permutations", "100",
        "--ks-results", str(results), "--ks-report", str(suite.path / "out" / "r.html"), "--ks-no-cache",
        "--ks-no-mechanism", "--ks-baselines", "none", "-p", "no:cacheprovider", "-ra",
    )
    text = run.stdout.str()
    failed = [line for line in run.outlines if line.startswith("FAILED")]
    assert [line.split(" - ")[0] for line in failed if "llava-1.5-7b" in line] == [
        "FAILED test_keyspace.py::test_capture[llava-1.5-7b-fixture]"], failed
    assert "hf download llava-hf/llava-1.5-7b-hf --revision b234b804b114d9e37bb655e11cbbb5f5e971b7a9" in text
    skipped = [line for line in run.outlines if line.startswith("SKIPPED")]
    of_pair = [line for line in skipped if "llava-1.5-7b" in line]
    assert of_pair and all("llava-1.5-7b-fixture: not run, its capture failed" in line for line in of_pair), skipped
    assert all("undecided" in line for line in skipped if line not in of_pair), skipped  # the other model's own outcomes
    assert run.parseoutcomes().get("passed", 0) >= 2  # tiny-llava's capture and the synthetic control
    assert "Traceback" not in text and "OSError" not in text and "INTERNALERROR" not in text
    rows = [json.loads(line) for line in results.read_text().splitlines()]
    status = {r["model"]: r["status"] for r in rows if "control" not in r["extra"]}
    assert status["llava-1.5-7b"] == "error" and status["tiny-llava"] in ("passed", "failed", "undecided")


@pytest.mark.parametrize("broken", ["schema", "bug"])
def test_a_pair_failing_at_capture_never_fails_its_triples(suite, tmp_path, broken):
    """A parquet file of another schema (one line naming it), or an unforeseen error at capture (its
    traceback, once): the capture test fails, every triple of the pair skips pointing at it."""
    if broken == "schema":
        import datasets

        shard = tmp_path / "MMMU" / "MMMU" / "Art" / "validation-00000-of-00001.parquet"
        shard.parent.mkdir(parents=True)
        datasets.Dataset.from_list([{"text": "hello", "label": 1}]).to_parquet(str(shard))
        benchmarks = "mmmu:Art"
    else:
        suite.makeconftest(
            "from harness.run.session import KeyspaceRun\n"
            "def boom(*args, **kwargs):\n    raise RuntimeError('a bug at capture')\n"
            "KeyspaceRun._capture_with_backoff = boom\n"
        )
        benchmarks = "fixture"
    run = suite.runpytest_subprocess(
        "--ks-models", "tiny-llava", "--ks-benchmarks", benchmarks, "--ks-data-dir", str(tmp_path),
        "--ks-layers", "0,1", "--ks-samples", "8", "--ks-permutations", "100", "--ks-no-cache", "--ks-no-mechanism",
        "--ks-baselines", "none", "--ks-results", str(suite.path / "r.jsonl"), "--ks-report", str(suite.path / "r.html"),
        "-p", "no:cacheprovider", "-ra",
    )
    failed = [line.split(" - ")[0] for line in run.outlines if line.startswith("FAILED")]
    assert failed == [f"FAILED test_keyspace.py::test_capture[tiny-llava-{benchmarks}]"], run.outlines
    skipped = [line for line in run.outlines if line.startswith("SKIPPED")]
    assert run.parseoutcomes().get("skipped") == 2 and skipped, run.outlines
    assert all("not run, its capture failed" in line for line in skipped), skipped
    text = run.stdout.str()
    if broken == "schema":
        assert "Traceback" not in text and "KeyError" not in text and f"{shard} is not MMMU/MMMU's validation split" in text


def test_unreadable_dataset_fails_its_pair_once_and_spares_the_rest(suite, tmp_path):
    """A corrupt parquet file in a local MMMU copy: one line for the pair, advising `hf download`; the
    fixture pair of the same model runs (without the by-benchmark baseline it would have shared)."""
    shard = tmp_path / "MMMU" / "MMMU" / "Art" / "validation-00000-of-00001.parquet"
    shard.parent.mkdir(parents=True)
    shard.write_bytes(b"PAR1 not parquet" * 8)
    run = suite.runpytest_subprocess(
        "--ks-models", "tiny-llava", "--ks-benchmarks", "fixture,mmmu:Art", "--ks-data-dir", str(tmp_path),
        "--ks-layers", "0", "--ks-samples", "8", "--ks-permutations", "100", "--ks-no-cache", "--ks-no-mechanism",
        "--ks-baselines", "none", "--ks-results", str(suite.path / "r.jsonl"), "--ks-report", str(suite.path / "r.html"),
        "-p", "no:cacheprovider", "-ra",
    )
    failed = [line for line in run.outlines if line.startswith("FAILED")]
    assert [line.split(" - ")[0] for line in failed if "mmmu" in line] == [
        "FAILED test_keyspace.py::test_capture[tiny-llava-mmmu:Art]"], failed
    text = run.stdout.str()
    assert "hf download MMMU/MMMU --repo-type dataset" in text and "huggingface-cli" not in text
    assert "Traceback" not in text and "ArrowInvalid: Parquet" in text
    records = list(map(json.loads, (suite.path / "r.jsonl").read_text().splitlines()))
    rows = {(r["benchmark"], r["status"]) for r in records}
    assert ("mmmu:Art", "error") in rows and {s for b, s in rows if b == "fixture"} <= {"passed", "failed", "undecided"}
    # the fixture triple's verdict stands without its by-benchmark splits, and says so
    fixture = [r for r in records if r["benchmark"] == "fixture" and not r.get("extra", {}).get("control")]
    assert fixture and all("by-benchmark splits not formed: mmmu:Art could not be captured" in r["message"] for r in fixture)
    assert "note: tiny-llava L0 fixture: by-benchmark splits not formed: mmmu:Art could not be captured" in text


STUB_CONFTEST = '''
import types
import pytest

@pytest.fixture
def ks_triple():
    return types.SimpleNamespace(id="m-L0-b", pair=None)

@pytest.fixture
def ks_run():
    verdict = types.SimpleNamespace(status="undecided", passed=False, extra={},
                                    message="kernel mean tier: undecided: intra-modal effects not bounded")
    return types.SimpleNamespace(judge=lambda triple: verdict)

@pytest.fixture
def benchmark():
    return types.SimpleNamespace(pedantic=lambda f, args, rounds, iterations: f(*args))
'''


def test_an_undecided_triple_is_a_skip_reported_in_the_suite_file(suite):
    """The short summary points at the suite's own file, not at pytest's internals (the test's frame is hidden)."""
    suite.makeconftest(STUB_CONFTEST)
    run = suite.runpytest_subprocess("-p", "no:harness.plugin", "-p", "no:benchmark", "-p", "no:cacheprovider", "-rs", "-k", "test_keyspace")
    skipped = [line for line in run.outlines if line.startswith("SKIPPED")]
    assert len(skipped) == 1 and skipped[0].startswith("SKIPPED [1] test_keyspace.py:"), run.outlines[-10:]
    assert skipped[0].endswith("m-L0-b: kernel mean tier: undecided: intra-modal effects not bounded")
