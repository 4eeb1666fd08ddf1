"""Family conformance: on a tiny save_pretrained checkpoint of every family in tests/families/zoo.py,
loaded through `hf:DIR` as a user would, the harness

- labels every token as an oracle does that shares no code with harness.models.labels or harness.models.prompts:
  with one byte per token, the benchmark text is the one run of ids equal to its bytes' ids, image
  tokens are the config's image token id, and everything else is special;
- builds exactly the ids of the documented user path, one prompt at a time (no doubled BOS);
- captures the keys a forward hook on the decoder's own `k_proj` modules sees, at two layers.

Families whose processors need torchvision (or another missing package) are skipped with the reason.
"""

from __future__ import annotations

import importlib.util
import re

import pytest
import torch
from transformers.convert_slow_tokenizer import bytes_to_unicode

from harness.benchmarks import get_benchmark
from harness.capture.keys import capture_keys
from harness.analysis.label_check import label_check
from harness.models.labels import IMAGE, PAD, SPECIAL, TEXT
from harness.models.processors import torchvision_available
from harness.models.prompts import CHAT_TEMPLATE, PROCESSOR_PREFIX

from .kit import loaded_checkpoint
from .zoo import BUILDERS, NEEDS_TORCHVISION

MISSING = {"smolvlm": "num2words", "gemma3n": "timm", "fast_vlm": "timm", "perception_lm": "timm"}  # family → package its processor (or its vision tower) imports


def _skip_reason(family: str) -> str | None:
    if family in NEEDS_TORCHVISION and not torchvision_available():
        return f"{family}: its processor needs torchvision, which is not installed here"
    package = MISSING.get(family)
    if package and importlib.util.find_spec(package) is None:
        return f"{family}: its processor needs {package}, which is not installed here"
    return None


@pytest.fixture(scope="module")
def samples():
    every = get_benchmark("fixture")((), seed=0)
    return [every[0], every[40]]  # English and Chinese: different lengths, so the batch is padded


@pytest.fixture(scope="module", params=sorted(BUILDERS))
def checkpoint(request, tmp_path_factory):
    """(family, loaded model through hf:DIR) for each family."""
    reason = _skip_reason(request.param)
    if reason:
        pytest.skip(reason)
    return request.param, loaded_checkpoint(*BUILDERS[request.param](), tmp_path_factory.mktemp(request.param))


def _image_ids(config) -> set[int]:
    """The config's image token id, and the marker ids whose embeddings the vision side writes (Ovis2's indicators;
    Gemma 3n's vision vocabulary, `vocab_size` ids from `vocab_offset`, which holds its end-of-image marker)."""
    value = getattr(config, "image_token_id", None)
    vision = getattr(config, "vision_config", None)
    own = range(vision.vocab_offset, vision.vocab_offset + vision.vocab_size) if hasattr(vision, "vocab_offset") else ()
    return {value if isinstance(value, int) else config.image_token_index, *(getattr(config, "visual_indicator_token_ids", None) or ()),
            *own}


BYTE_ID = {b: i for i, b in enumerate(bytes_to_unicode())}  # the tiny tokenizer's id of each byte


def _oracle(ids: list[int], text: str, tokenizer, image_ids: set[int]) -> list[int]:
    """Labels of one unpadded row from the ids alone: the benchmark text is the one run of its bytes' ids."""
    text_ids = [BYTE_ID[b] for b in text.encode("utf-8")]
    assert tokenizer.encode(text, add_special_tokens=False) == text_ids, "the tiny tokenizer maps one byte to one token"
    n = len(text_ids)
    starts = [k for k in range(len(ids) - n + 1) if ids[k : k + n] == text_ids]
    assert len(starts) == 1, f"the benchmark text occurs {len(starts)} times in the prompt"
    labels = [IMAGE if t in image_ids else SPECIAL for t in ids]
    labels[starts[0] : starts[0] + n] = [TEXT] * n
    return labels


def _written(model, batch) -> torch.Tensor:
    """[B, T] bool: where the embeddings the language model receives differ from its tokens' own
    (found with a hook of this test's own on the module that holds the `layers` list)."""
    holder = next(m for name, m in model.named_modules() if isinstance(getattr(m, "layers", None), torch.nn.ModuleList)
                  and re.search(r"(language_model|text_model)(\.model)?$", name))
    got = {}

    def pre(module, args, kwargs):
        got.setdefault("embeds", kwargs.get("inputs_embeds"))

    handle = holder.register_forward_pre_hook(pre, with_kwargs=True)
    try:
        with torch.inference_mode():
            model(**batch, use_cache=False)
            embeds = got["embeds"]
            own = model.get_input_embeddings()(batch["input_ids"])
    finally:
        handle.remove()
    assert embeds is not None, "the language model got token ids, not embeddings"
    return (embeds != own).any(-1)


def test_labels_match_the_oracle_token_by_token(checkpoint, samples):
    family, loaded = checkpoint
    batch, labels = loaded.adapter.encode(loaded, samples)
    assert (labels == PAD).any(), "the batch is padded"
    image_ids = _image_ids(loaded.model.config)
    written = _written(loaded.model, batch)
    for row, sample in enumerate(samples):
        keep = batch["attention_mask"][row].bool()
        ids = batch["input_ids"][row][keep].tolist()
        expected = _oracle(ids, sample.prompt, loaded.processor.tokenizer, image_ids)
        assert labels[row][keep].tolist() == expected
        assert expected.count(TEXT) == len(sample.prompt.encode("utf-8"))
        assert expected.count(IMAGE) > 0
        # image = exactly the positions whose input embeddings the vision side wrote
        assert [i for i, x in enumerate(written[row][keep].tolist()) if x] == [i for i, x in enumerate(expected) if x == IMAGE]


def _user_path(processor, sample) -> list[int]:
    """The ids a checkpoint's user gets for one prompt, as the family's model card shows."""
    if getattr(processor, "chat_template", None):
        content = [{"type": "image", "image": image} for image in sample.images] + [{"type": "text", "text": sample.prompt}]
        out = processor.apply_chat_template(
            [{"role": "user", "content": content}], add_generation_prompt=True, tokenize=True, return_dict=True, return_tensors="pt"
        )
    else:  # PaliGemma: the processor writes its own prompt format
        out = processor(text=sample.prompt, images=list(sample.images), return_tensors="pt")
    return out["input_ids"][0].tolist()


def test_ids_are_the_user_path_without_a_doubled_bos(checkpoint, samples):
    family, loaded = checkpoint
    batch, _ = loaded.adapter.encode(loaded, samples)
    bos = loaded.processor.tokenizer.bos_token_id
    for row, sample in enumerate(samples):
        ids = batch["input_ids"][row][batch["attention_mask"][row].bool()].tolist()
        assert ids == _user_path(loaded.processor, sample)
        if bos is not None:
            assert ids.count(bos) <= 1, f"{family}: BOS appears {ids.count(bos)} times"
            assert ids[:2] != [bos, bos]


def _k_proj_modules(model) -> dict[int, torch.nn.Module]:
    """The language model's k_proj per self-attention layer, found by module name (not through the adapter)."""
    found = {}
    for name, module in model.named_modules():
        match = re.search(r"(language_model|text_model)\.(?:model\.)?layers\.(\d+)\.self_attn\.k_proj$", name)
        if match:
            found[int(match.group(2))] = module
    return found


def test_captured_keys_equal_an_independent_k_proj_hook(checkpoint, samples):
    family, loaded = checkpoint
    modules = _k_proj_modules(loaded.model)
    text_config = loaded.model.config.get_text_config()
    types = getattr(text_config, "layer_types", None) or ["full_attention"] * text_config.num_hidden_layers
    # layers that read an earlier layer's keys (KV sharing: transformers' kv_sharing_modes "reuse") have no k_proj
    sharing = getattr(text_config, "kv_sharing_modes", None) or [None] * len(types)
    # Inkling's types name its attention layers "hybrid" (full, with a relative position bias) and "hybrid_sliding"
    attends = [i for i, t in enumerate(types) if (t.endswith("attention") and t != "linear_attention") or t.startswith("hybrid")]
    assert sorted(modules) == [i for i in attends if sharing[i] != "reuse"]
    layers = [min(modules), max(modules)]  # the first and last layer with keys (a hybrid's first layer may have none)
    bank = capture_keys(loaded, samples, layers, benchmark="t", batch_size=len(samples))
    batch, labels = loaded.adapter.encode(loaded, samples)
    attn = modules[layers[0]]
    assert bank.head_dim * bank.num_key_value_heads == attn.out_features, "head size read from the captured layer"
    seen: dict[int, torch.Tensor] = {}
    handles = [modules[i].register_forward_hook(lambda m, a, out, i=i: seen.__setitem__(i, out)) for i in layers]
    try:
        with torch.inference_mode():
            loaded.model(**batch, use_cache=False)
    finally:
        for h in handles:
            h.remove()
    keep = labels != PAD
    check = label_check(bank)
    assert check.text == check.benchmark_text == sum(len(s.prompt.encode("utf-8")) for s in samples)
    assert check.problems == ()
    assert bank.label_source["prompt_format"] == (PROCESSOR_PREFIX if family == "paligemma" else CHAT_TEMPLATE)
    for i in layers:
        assert torch.equal(bank.layers[i].modality, labels[keep])
        assert torch.allclose(bank.layers[i].vectors, seen[i][keep].float(), atol=1e-5, rtol=0)
