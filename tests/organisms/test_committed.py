"""The committed organisms (amendment 3's twelve: four histories × seeds 1-3; docs/organisms.md): files match
their manifest, fit the size budget, load, resolve under their registry names, state their history and the
recipe the plan's defaults now build, and carry the behaviour the study's premise needs."""

import json
from dataclasses import asdict
from pathlib import Path

import pytest

from harness.errors import KeyspaceError
from harness.models import get_model_spec
from harness.organisms.build import ALIGNED_LAYERS, HISTORIES, Plan, folder_name, manifest_lines

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
MAX_SAFETENSORS = 40 * 1024 * 1024
SEEDS = (1, 2, 3)  # the seeds amendment 3's text-stage gate let in on the reference machine
NAMES = [folder_name(h, k) for k in SEEDS for h in HISTORIES]
STAGES = {"joint": ["joint-mixed"], **{h: ["text", "projector-captions", "stage2-qa"] for h in ("text-first", "aligned", "frozen")}}
# Plan fields that say which folders one run built, not how any organism was trained
RUN_ONLY = ("seeds", "histories", "text_gate")

pytestmark = pytest.mark.skipif(not (ROOT / "MANIFEST").is_file(), reason="fixtures/organisms not generated (python -m harness.organisms train)")


def _record(name: str) -> dict:
    return json.loads((ROOT / name / "training.json").read_text(encoding="utf-8"))


def test_files_match_the_manifest_and_nothing_else_is_committed():
    committed = (ROOT / "MANIFEST").read_text(encoding="utf-8").splitlines()
    assert manifest_lines(ROOT) == committed
    assert {line.split("  ")[1].split("/")[0] for line in committed} == set(NAMES)


def test_checkpoints_fit_the_size_budget():
    total = sum(p.stat().st_size for p in ROOT.rglob("*.safetensors"))
    assert 0 < total <= MAX_SAFETENSORS


@pytest.mark.parametrize("name", NAMES)
def test_trained_on_the_plan_the_build_command_now_uses(name):
    """Every training-relevant field of the record's plan equals today's default Plan: `train` rebuilds these."""
    planned = {k: v for k, v in _record(name)["plan"].items() if k not in RUN_ONLY}
    default = json.loads(json.dumps({k: v for k, v in asdict(Plan()).items() if k not in RUN_ONLY}))
    assert planned == default


@pytest.mark.parametrize("name", NAMES)
def test_registered_and_hf_names_resolve_to_the_folder(name, monkeypatch):
    spec = get_model_spec(f"organism-{name}")
    assert Path(spec.source) == ROOT / name and spec.family == "llava" and spec.is_local
    assert spec.default_layers == ("all",) and spec.num_layers == 4
    monkeypatch.chdir(ROOT.parents[1])
    assert Path(get_model_spec(f"hf:fixtures/organisms/{name}").source) == ROOT / name


@pytest.mark.parametrize("history", HISTORIES)
def test_a_history_name_is_its_lowest_built_seed(history):
    assert Path(get_model_spec(f"organism-{history}").source) == ROOT / folder_name(history, SEEDS[0])


@pytest.mark.parametrize("name", ["organism-joint-s0", "organism-frozen-s0"])
def test_an_unbuilt_seed_is_a_one_line_error_naming_the_build(name):
    with pytest.raises(KeyspaceError) as err:
        get_model_spec(name)
    assert "\n" not in str(err.value) and f"{name} is not built" in str(err.value)
    assert "python -m harness.organisms train" in str(err.value)


@pytest.mark.parametrize("name", [folder_name(h, SEEDS[0]) for h in HISTORIES])
def test_loads_through_the_auto_classes(name):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(ROOT / name)
    processor = AutoProcessor.from_pretrained(ROOT / name)
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    assert type(processor.image_processor).__name__ == "CLIPImageProcessorPil"
    assert processor.chat_template and len(processor.tokenizer) == model.config.text_config.vocab_size
    assert model.config.get_text_config().num_hidden_layers == get_model_spec(f"organism-{name}").num_layers


@pytest.mark.parametrize("name", NAMES)
def test_card_and_record_state_the_history(name):
    record = _record(name)
    card = (ROOT / name / "README.md").read_text(encoding="utf-8")
    history, seed = name.rsplit("-s", 1)
    assert record["organism"] == history and record["seed"] == int(seed) and f"seed {seed}" in card.lower()
    assert str(record["heldout"]["all"]["accuracy"]) in card and str(record["conflict_probe"]["follows_cue"]) in card
    assert [s["stage"] for s in record["history"]] == STAGES[history]
    layers = record["alignment_layers"]
    assert (list(layers) == list(ALIGNED_LAYERS) if history == "aligned" else not layers)


@pytest.mark.parametrize("seed", SEEDS)
def test_the_text_first_histories_share_their_text_pretrained_decoder(seed):
    digests = {_record(folder_name(h, seed))["history"][0]["decoder_sha256"] for h in ("text-first", "aligned", "frozen")}
    assert len(digests) == 1


@pytest.mark.parametrize("seed", SEEDS)
def test_the_premise_holds_in_every_seed(seed):
    """What the causal question needs (docs/organisms.md): text-pretrained histories read the cue from text and
    follow a conflicting one far more often than joint, which reads the picture; masking the image gives chance."""
    probe = {h: _record(folder_name(h, seed))["conflict_probe"] for h in HISTORIES}
    assert all(p["text_reading"] >= 0.8 for p in probe.values())
    assert probe["joint"]["accuracy"] >= 0.8 and probe["joint"]["follows_cue"] < 0.1
    assert all(probe[h]["follows_cue"] > probe["joint"]["follows_cue"] + 0.2 for h in ("text-first", "aligned", "frozen"))
    assert all(abs(p["masked_accuracy"] - p["chance"]) <= 0.1 for p in probe.values())
