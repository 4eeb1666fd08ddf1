"""The committed organisms: files match their manifest, fit the size budget, load, resolve, and learned."""

import json
from pathlib import Path

import pytest

from harness.models import get_model_spec
from harness.models.organisms import HISTORIES as REGISTERED
from harness.organisms.build import HISTORIES, Plan, manifest_lines, organisms

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
MAX_SAFETENSORS = 40 * 1024 * 1024
ORGANISMS = organisms(Plan())
STAGES = {"joint": ["joint-mixed"], **{h: ["text", "projector-captions", "stage2-qa"] for h in ("text-first", "aligned", "frozen")}}

pytestmark = pytest.mark.skipif(not (ROOT / "MANIFEST").is_file(), reason="fixtures/organisms not generated (python -m harness.organisms train)")


def test_files_match_the_manifest():
    committed = (ROOT / "MANIFEST").read_text(encoding="utf-8").splitlines()
    assert manifest_lines(ROOT) == committed
    assert {line.split("  ")[1].split("/")[0] for line in committed} == set(ORGANISMS)


def test_the_registry_names_every_history():
    assert REGISTERED == HISTORIES
    for h in HISTORIES:
        assert Path(get_model_spec(f"organism-{h}").source) == ROOT / f"{h}-s0"
        assert get_model_spec(f"organism-{h}").default_layers == ("all",)


def test_checkpoints_fit_the_size_budget():
    total = sum(p.stat().st_size for p in ROOT.rglob("*.safetensors"))
    assert 0 < total <= MAX_SAFETENSORS


@pytest.mark.parametrize("name", ORGANISMS)
def test_registered_and_hf_names_resolve_to_the_folder(name, monkeypatch):
    spec = get_model_spec(f"organism-{name}")
    assert Path(spec.source) == ROOT / name and spec.family == "llava" and spec.is_local
    monkeypatch.chdir(ROOT.parents[1])
    assert Path(get_model_spec(f"hf:fixtures/organisms/{name}").source) == ROOT / name


@pytest.mark.parametrize("name", ORGANISMS)
def test_loads_through_the_auto_classes(name):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(ROOT / name)
    processor = AutoProcessor.from_pretrained(ROOT / name)
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    assert type(processor.image_processor).__name__ == "CLIPImageProcessorPil"
    assert processor.chat_template and len(processor.tokenizer) == model.config.text_config.vocab_size
    assert model.config.get_text_config().num_hidden_layers == get_model_spec(f"organism-{name}").num_layers


@pytest.mark.parametrize("name", ORGANISMS)
def test_card_and_record_state_the_history(name):
    record = json.loads((ROOT / name / "training.json").read_text(encoding="utf-8"))
    card = (ROOT / name / "README.md").read_text(encoding="utf-8")
    history, seed = name.rsplit("-s", 1)
    assert record["organism"] == history and record["seed"] == int(seed) and f"seed {seed}" in card.lower()
    assert str(record["heldout"]["all"]["accuracy"]) in card and str(record["conflict_probe"]["follows_cue"]) in card
    assert [s["stage"] for s in record["history"]] == STAGES[history]
    assert all({"accuracy", "follows_cue", "text_reading"} <= set(s["probe_after"]) for s in record["history"])
    mmd = [s["mmd_weight"] for s in record["history"]]
    assert (any(mmd) if history == "aligned" else not any(mmd))
    if history != "joint":  # stage 2: short, slow, and the frozen decoder's trains the projector only
        text, _, stage2 = record["history"]
        assert stage2["steps"] <= 0.1 * text["steps"] and stage2["lr"] <= 0.1 * text["lr"] + 1e-12
        assert stage2["trains"] == (["projector"] if history == "frozen" else ["projector", "decoder"])


@pytest.mark.parametrize("seed", Plan().seeds)
def test_the_text_first_histories_share_their_text_pretrained_decoder(seed):
    digests = {json.loads((ROOT / f"{h}-s{seed}" / "training.json").read_text())["history"][0]["decoder_sha256"]
               for h in ("text-first", "aligned", "frozen")}
    assert len(digests) == 1
