"""The committed organisms (the first recipe's three, one seed each; docs/organisms.md): files match their
manifest, fit the size budget, load, resolve under their registry names, and state their history. The
pre-registered recipe's HISTORY-sK layout is tested on a quick build in test_quick_train.py."""

import json
from pathlib import Path

import pytest

from harness.errors import KeyspaceError
from harness.models import get_model_spec
from harness.models.organisms import FIRST_RECIPE, HISTORIES
from harness.organisms.build import manifest_lines

ROOT = Path(__file__).resolve().parents[2] / "fixtures" / "organisms"
MAX_SAFETENSORS = 40 * 1024 * 1024

pytestmark = pytest.mark.skipif(not (ROOT / "MANIFEST").is_file(), reason="fixtures/organisms not generated (python -m harness.organisms train)")


def test_files_match_the_manifest():
    committed = (ROOT / "MANIFEST").read_text(encoding="utf-8").splitlines()
    assert manifest_lines(ROOT) == committed
    assert {line.split("  ")[1].split("/")[0] for line in committed} == set(FIRST_RECIPE)


def test_checkpoints_fit_the_size_budget():
    total = sum(p.stat().st_size for p in ROOT.rglob("*.safetensors"))
    assert 0 < total <= MAX_SAFETENSORS


@pytest.mark.parametrize("name", FIRST_RECIPE)
def test_registered_and_hf_names_resolve_to_the_folder(name, monkeypatch):
    spec = get_model_spec(f"organism-{name}")
    assert Path(spec.source) == ROOT / name and spec.family == "llava" and spec.is_local
    assert spec.default_layers == ("first", "mid", "last")
    monkeypatch.chdir(ROOT.parents[1])
    assert Path(get_model_spec(f"hf:fixtures/organisms/{name}").source) == ROOT / name


@pytest.mark.parametrize("name", ["organism-frozen", *(f"organism-{h}-s{k}" for h in HISTORIES for k in (0, 2))])
def test_an_unbuilt_history_is_a_one_line_error_naming_the_build(name):
    if (ROOT / name.removeprefix("organism-")).is_dir() or (ROOT / f"{name.removeprefix('organism-')}-s0").is_dir():
        pytest.skip(f"{name} is built here")
    with pytest.raises(KeyspaceError) as err:
        get_model_spec(name)
    assert "\n" not in str(err.value) and f"{name} is not built" in str(err.value)
    assert "python -m harness.organisms train" in str(err.value)


@pytest.mark.parametrize("name", FIRST_RECIPE)
def test_loads_through_the_auto_classes(name):
    from transformers import AutoModelForImageTextToText, AutoProcessor

    model = AutoModelForImageTextToText.from_pretrained(ROOT / name)
    processor = AutoProcessor.from_pretrained(ROOT / name)
    assert type(model).__name__ == "LlavaForConditionalGeneration"
    assert type(processor.image_processor).__name__ == "CLIPImageProcessorPil"
    assert processor.chat_template and len(processor.tokenizer) == model.config.text_config.vocab_size
    assert model.config.get_text_config().num_hidden_layers == get_model_spec(f"organism-{name}").num_layers


@pytest.mark.parametrize("name", FIRST_RECIPE)
def test_card_and_record_state_the_history(name):
    record = json.loads((ROOT / name / "training.json").read_text(encoding="utf-8"))
    card = (ROOT / name / "README.md").read_text(encoding="utf-8")
    assert record["organism"] == name and str(record["seed"]) in card
    assert str(record["heldout"]["all"]["accuracy"]) in card
    stages = [s["stage"] for s in record["history"]]
    assert stages == (["joint-mixed"] if name == "joint" else ["text", "projector-captions", "projector-decoder-qa"])
    mmd = [s["mmd_weight"] for s in record["history"]]
    assert (any(mmd) if name == "aligned" else not any(mmd))


def test_text_first_and_aligned_share_their_text_pretrained_decoder():
    digests = {json.loads((ROOT / n / "training.json").read_text())["history"][0]["decoder_sha256"] for n in ("text-first", "aligned")}
    assert len(digests) == 1
