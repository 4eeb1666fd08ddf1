"""`python -m harness.organisms train --quick` end to end: the pre-registered recipe's HISTORY-sK layout on a
reduced set, trained, saved, loadable, manifest true, records and cards stating the history, names resolving."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from harness.models import get_model_spec
from harness.models import organisms as registered
from harness.organisms.build import HISTORIES, QUICK, Plan, manifest_lines, organisms

REPO = Path(__file__).resolve().parents[2]
STAGES = {"joint": ["joint-mixed"], **{h: ["text", "projector-captions", "stage2-qa"] for h in ("text-first", "aligned", "frozen")}}


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """(folder, stdout) of a quick build."""
    out = tmp_path_factory.mktemp("quick") / "organisms"
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--quick", "--out", str(out),
                          "--cache", str(out.parent / "cache")],
                         cwd=REPO, capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr[-2000:]
    return out, run.stdout


@pytest.mark.slow
def test_quick_train_end_to_end(built):
    out, stdout = built
    assert (out / "MANIFEST").read_text().splitlines() == manifest_lines(out)
    for name in organisms(QUICK):
        assert (out / name / "model.safetensors").is_file() and (out / name / "README.md").is_file()
        assert f"{name}: held-out accuracy" in stdout
    from harness.organisms.checkpoint import load

    model, processor = load(out / "joint-s0")
    assert processor.tokenizer.convert_tokens_to_ids("<image>") == model.config.image_token_id


@pytest.mark.slow
@pytest.mark.parametrize("name", organisms(QUICK))
def test_card_and_record_state_the_history(built, name):
    out, _ = built
    record = json.loads((out / name / "training.json").read_text(encoding="utf-8"))
    card = (out / name / "README.md").read_text(encoding="utf-8")
    history, seed = name.rsplit("-s", 1)
    assert record["organism"] == history and record["seed"] == int(seed) and f"seed {seed}" in card.lower()
    assert str(record["heldout"]["all"]["accuracy"]) in card and str(record["conflict_probe"]["follows_cue"]) in card
    assert [s["stage"] for s in record["history"]] == STAGES[history]
    assert all({"accuracy", "follows_cue", "text_reading"} <= set(s["probe_after"]) for s in record["history"])
    env = record["environment"]  # where it was trained: another CPU may give other weights from the same data
    assert env["packages"]["torch"] and env["cpu_capability"] in card and env["torch_threads"] == 1
    assert set(record["data_sha256"]) == {"tokenizer", "text", "stage1", "stage2"}
    mmd = [s["mmd_weight"] for s in record["history"]]
    assert (any(mmd) if history == "aligned" else not any(mmd))
    if history != "joint":  # stage 2 as planned; the frozen decoder's trains the projector only
        _, _, stage2 = record["history"]
        assert stage2["steps"] == QUICK.qa_steps and stage2["lr"] == QUICK.qa_lr
        assert stage2["trains"] == (["projector"] if history == "frozen" else ["projector", "decoder"])


@pytest.mark.slow
def test_the_text_first_histories_share_their_text_pretrained_decoder(built):
    out, _ = built
    digests = {json.loads((out / f"{h}-s0" / "training.json").read_text())["history"][0]["decoder_sha256"]
               for h in ("text-first", "aligned", "frozen")}
    assert len(digests) == 1


@pytest.mark.slow
def test_built_histories_resolve_by_seed_and_seed_0_by_history(built, monkeypatch):
    out, _ = built
    monkeypatch.setattr(registered, "ROOT", out)
    assert registered.HISTORIES == HISTORIES
    for h in HISTORIES:
        assert get_model_spec(f"organism-{h}-s0").source == str(out / f"{h}-s0")
        spec = get_model_spec(f"organism-{h}")
        assert spec.source == str(out / f"{h}-s0") and spec.default_layers == ("all",)


def test_the_plan_keeps_stage_2_short_and_slow():
    plan = Plan()
    assert plan.qa_steps <= 0.1 * plan.text_steps and plan.qa_lr <= 0.1 * plan.lr + 1e-12


def test_bad_jobs_is_one_line():
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--jobs", "0"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--jobs: 0 is not a process count" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--seeds", "0,x"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--seeds: '0,x' is not a list of seeds" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--histories", "text-first,late"], cwd=REPO,
                         capture_output=True, text=True)
    assert run.returncode == 2 and "--histories: 'text-first,late' is not a list of histories" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--rung", "D"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--rung: 'D' is not a rung; give one of A, B, C" in run.stderr
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--device", "tpu"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--device: 'tpu' is not a device; give cpu or cuda" in run.stderr


@pytest.mark.skipif(__import__("torch").cuda.is_available(), reason="a CUDA device is visible")
def test_cuda_without_a_gpu_is_one_line(tmp_path):
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--quick", "--device", "cuda", "--out", str(tmp_path)],
                         cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--device cuda: no CUDA device is visible to torch here" in run.stderr
    assert not any(tmp_path.iterdir())


def test_the_cpu_records_and_cache_keys_do_not_name_a_training_device():
    from harness.organisms.cache import entry_key
    from harness.organisms.environment import numerics

    assert "training_device" not in numerics() and numerics("cpu") == numerics()
    assert entry_key(Plan(), 1) == entry_key(Plan(), 1, "cpu")


@pytest.mark.skipif(not __import__("torch").cuda.is_available(), reason="needs a CUDA device")
def test_quick_train_on_the_gpu_is_reproducible(tmp_path):
    """On a GPU machine: the quick plan trained twice on the GPU gives the same weights (MANIFEST) and records the
    device; it need not equal the CPU's weights."""
    from harness.organisms.build import train_all

    manifests = []
    for run in ("a", "b"):
        out = tmp_path / run
        out.mkdir()
        train_all(out, QUICK, jobs=1, cache=None, log=lambda _: None, device="cuda")
        manifests.append((out / "MANIFEST").read_text())
        record = json.loads((out / "text-first-s0" / "training.json").read_text())
        assert record["environment"]["training_device"]["device"] == "cuda"
    assert manifests[0] == manifests[1]


def test_the_text_stage_gate_leaves_out_a_seed_before_any_image_is_trained(tmp_path):
    """Amendment 3: a seed whose text-pretrained decoder reads the cue caption below the gate writes nothing and
    says why (its text stage runs even for joint alone, which has none of its own); at or above it, it trains."""
    from dataclasses import replace

    from harness.organisms.build import train_seed

    plan = replace(QUICK, histories=("joint",))
    records, laps = train_seed(0, tmp_path / "out", replace(plan, text_gate=1.01), None)
    assert records == {} and not (tmp_path / "out").exists()
    assert "left out by the text-stage gate: text reading" in laps[-1]["part"] and "< 1.01" in laps[-1]["part"]
    records, _ = train_seed(0, tmp_path / "out", replace(plan, text_gate=0.0), None)
    assert list(records) == ["joint-s0"] and (tmp_path / "out" / "joint-s0" / "model.safetensors").is_file()
    run = subprocess.run([sys.executable, "-m", "harness.organisms", "train", "--text-gate", "2"], cwd=REPO, capture_output=True, text=True)
    assert run.returncode == 2 and "--text-gate: 2.0 is not a share; give a number from 0 to 1" in run.stderr
