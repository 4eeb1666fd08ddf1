"""Tiny checkpoints of families the harness refuses, each with the reason its one line must give.

A family that gives vision to its decoder without writing token positions (cross-attention:
Mllama, IDEFICS v1) has no image keys; the harness must say so in one line instead of measuring
the image placeholder's own text embedding as "image".
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import zoo_batch_a, zoo_batch_b, zoo_batch_c, zoo_batch_d, zoo_glm5_inkling
from .zoo import small_text, template, tokenizer

REFUSED: dict[str, tuple[Callable[[], tuple[Any, Any]], str]] = {}  # family → (builder, pattern its one line matches)
REFUSED_NEEDS_TORCHVISION: set[str] = set()  # families whose processor loads only with torchvision


def refused(name: str, reason: str, *, torchvision: bool = False):
    def wrap(fn):
        REFUSED[name] = (fn, reason)
        if torchvision:
            REFUSED_NEEDS_TORCHVISION.add(name)
        return fn

    return wrap


@refused("mllama", r"by cross-attention .* wrote 0 of the \d+ positions labelled image")
def mllama():
    from transformers import MllamaConfig, MllamaForConditionalGeneration, MllamaImageProcessorPil, MllamaProcessor

    specials = (
        "<|begin_of_text|>", "<|end_of_text|>", "<|eot_id|>", "<|start_header_id|>", "<|end_header_id|>",
        "<|finetune_right_pad_id|>", "<|image|>", "<|python_tag|>",
    )
    chat = template(
        "{{ bos_token }}", "<|start_header_id|>{role}<|end_header_id|>\\n\\n", "<|image|>", "<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\\n\\n",
    )
    tok = tokenizer(specials, "<|begin_of_text|>", "<|eot_id|>", "<|finetune_right_pad_id|>", chat)
    text = {k: v for k, v in small_text(num_hidden_layers=3).items() if k != "head_dim"}
    config = MllamaConfig(
        vision_config=dict(
            hidden_size=32, intermediate_size=64, num_hidden_layers=2, num_global_layers=1, attention_heads=2, image_size=32,
            patch_size=8, vision_output_dim=64, max_num_tiles=2, intermediate_layers_indices=[0],
            supported_aspect_ratios=[[1, 1], [1, 2], [2, 1]],
        ),
        text_config=dict(**text, cross_attention_layers=[1], bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id),
        image_token_index=tok.convert_tokens_to_ids("<|image|>"),
    )
    image_processor = MllamaImageProcessorPil(size={"height": 32, "width": 32}, max_image_tiles=2)
    processor = MllamaProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return MllamaForConditionalGeneration(config), processor


def _blip(instruct: bool):
    """BLIP-2 / InstructBLIP with an OPT decoder: the processor adds its image token as an AddedToken and
    tokenizes the query tokens in a call of their own, prepended before BOS."""
    from transformers import (
        Blip2Config, Blip2ForConditionalGeneration, Blip2Processor, BlipImageProcessorPil, InstructBlipConfig,
        InstructBlipForConditionalGeneration, InstructBlipProcessor,
    )

    from .zoo import VOCAB

    chat = template("{{ bos_token }}", "", "", "\\n", "Answer:")
    tok = tokenizer(("</s>", "<pad>"), "</s>", "</s>", "<pad>", chat)
    sizes = dict(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        qformer_config=dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            encoder_hidden_size=32),
        text_config=dict(model_type="opt", vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, ffn_dim=128, num_attention_heads=4,
                         word_embed_proj_dim=64, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                         pad_token_id=tok.pad_token_id, max_position_embeddings=4096),
        num_query_tokens=4,
    )
    image_processor = BlipImageProcessorPil(size={"height": 32, "width": 32})
    if instruct:
        processor = InstructBlipProcessor(image_processor=image_processor, tokenizer=tok, num_query_tokens=4, chat_template=chat,
                                          qformer_tokenizer=tokenizer(("[PAD]",), None, "[PAD]", "[PAD]", None))
        config = InstructBlipConfig(**sizes, image_token_index=tok.convert_tokens_to_ids("<image>"))
        return InstructBlipForConditionalGeneration(config), processor
    processor = Blip2Processor(image_processor=image_processor, tokenizer=tok, num_query_tokens=4, chat_template=chat)
    config = Blip2Config(**sizes, image_token_index=tok.convert_tokens_to_ids("<image>"))
    return Blip2ForConditionalGeneration(config), processor


PIECES = r"tokenized its \d+ prompt\(s\) in 2 tokenizer calls, not one call for the whole batch"
refused("blip-2", PIECES)(lambda: _blip(False))
refused("instructblip", PIECES)(lambda: _blip(True))


@refused("idefics", r"IdeficsForVisionText2Text gives vision to its decoder by cross-attention .* wrote 0 of the \d+ positions")
def idefics():
    from transformers import IdeficsConfig, IdeficsForVisionText2Text, IdeficsImageProcessorPil, IdeficsProcessor

    from .zoo import VOCAB

    chat = template("{{ bos_token }}", "{role}:", "<image>", "<end_of_utterance>\\n", "Assistant:")
    tok = tokenizer(("<s>", "</s>", "<unk>", "<image>", "<fake_token_around_image>", "<end_of_utterance>"), "<s>", "</s>", "<unk>", chat)
    config = IdeficsConfig(
        vocab_size=VOCAB, hidden_size=64, intermediate_size=128, num_hidden_layers=2, num_attention_heads=4, cross_layer_interval=1,
        vision_config=dict(embed_dim=32, image_size=32, intermediate_size=64, patch_size=8, num_hidden_layers=1, num_attention_heads=2),
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, max_position_embeddings=4096,
    )
    processor = IdeficsProcessor(image_processor=IdeficsImageProcessorPil(image_size=32), tokenizer=tok, image_size=32, chat_template=chat)
    return IdeficsForVisionText2Text(config), processor


@refused("chameleon", r"has no chat template of its own .* plain prompt format was used; ChameleonProcessor takes no chat template .* "
                      r"so this family is not measured")
def chameleon():
    """Early fusion: a VQ-GAN turns each 16 px image into 16 codes, written as the embeddings of 16 image-code tokens
    (IMGIMG..Z in the vocabulary). Its processor takes no chat template: the one saved with it goes to the tokenizer, which
    processor.apply_chat_template does not use, and the plain prompt format places no image."""
    from transformers import ChameleonConfig, ChameleonForConditionalGeneration, ChameleonImageProcessorPil, ChameleonProcessor

    digits = "ABCDEFGHIJ"  # Chameleon spells a code's decimal digits as letters
    codes = tuple(f"IMGIMG{''.join(digits[int(c)] for c in str(i))}Z" for i in range(16))
    specials = ("<s>", "</s>", "<pad>", "<reserved08706>", "<image>", "<racm3:break>", "<eoss>") + codes
    chat = template("{{ bos_token }}", "", "<image>", "", "")
    tok = tokenizer(specials, "<s>", "</s>", "<pad>", chat, sep_token="<reserved08706>")
    config = ChameleonConfig(
        **small_text(), vocabulary_map={t: tok.convert_tokens_to_ids(t) for t in ("<image>",) + codes},
        vq_config=dict(embed_dim=8, num_embeddings=16, latent_channels=32, resolution=16, base_channels=32, channel_multiplier=[1, 1, 1],
                       num_res_blocks=1),
        bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    image_processor = ChameleonImageProcessorPil(size={"shortest_edge": 16}, crop_size={"height": 16, "width": 16})
    processor = ChameleonProcessor(image_processor=image_processor, tokenizer=tok, image_seq_length=16)
    return ChameleonForConditionalGeneration(config), processor


@refused("shieldgemma2", r"weight\(s\) of Gemma3ForConditionalGeneration are not in the checkpoint .* drawn at random when it "
                         r"loaded \(it was saved from ShieldGemma2ForImageClassification, whose weights Gemma3ForConditionalGeneration "
                         r"does not read\) .* so its keys would come from random weights")
def shieldgemma2():
    """An image classifier: its processor writes its own prompts (one per policy) around each image, so no token holds
    the benchmark's text ("ShieldGemma2Processor does not keep the benchmark text verbatim in its prompt", the line
    before 2026-12-05). Saved from ShieldGemma2ForImageClassification, as published (google/shieldgemma-2-4b-it):
    AutoModelForImageTextToText builds Gemma3ForConditionalGeneration from it, whose language model reads none of
    those weights (transformers 5.23: 28 of them drawn at random here), and the load stops on that first."""
    from transformers import Gemma3ImageProcessorPil, ShieldGemma2Config, ShieldGemma2ForImageClassification, ShieldGemma2Processor

    from .zoo import GEMMA_SPECIALS, siglip

    chat = template("{{ bos_token }}", "<start_of_turn>{role}\\n", "<start_of_image>", "<end_of_turn>\\n", "<start_of_turn>model\\n")
    tok = tokenizer(
        GEMMA_SPECIALS, "<bos>", "<eos>", "<pad>", chat,
        image_token="<image_soft_token>", boi_token="<start_of_image>", eoi_token="<end_of_image>",
    )
    config = ShieldGemma2Config(
        text_config=small_text(sliding_window=64, query_pre_attn_scalar=16), vision_config=siglip(32, 4), mm_tokens_per_image=16,
        boi_token_index=tok.boi_token_id, eoi_token_index=tok.eoi_token_id, image_token_index=tok.image_token_id,
    )
    image_processor = Gemma3ImageProcessorPil(size={"height": 32, "width": 32})
    processor = ShieldGemma2Processor(
        image_processor=image_processor, tokenizer=tok, chat_template=chat, image_seq_length=16,
        policy_definitions={"harm": "no harmful content"},
    )
    return ShieldGemma2ForImageClassification(config), processor


FUYU = ("|ENDOFTEXT|", "<s>", "</s>", "<unk>", "|SPEAKER|", "|NEWLINE|", "<0x00>", "<0x01>", "<0x02>", "<0x03>", "<0x04>")


def _fuyu_tokenizer():
    """Shaped like fuyu-8b's tokenizer.json (normalizer: Prepend("▁") then Replace(" ", "▁"); |SPEAKER|, |NEWLINE|, <s>
    whole vocabulary entries): what it tokenizes starts with a word-boundary token (a space byte here), which the
    processor strips from its placeholder call ([..., 1:]). One byte is one token elsewhere."""
    from tokenizers import Regex, Tokenizer, decoders, models, normalizers, pre_tokenizers
    from transformers import PreTrainedTokenizerFast
    from transformers.convert_slow_tokenizer import bytes_to_unicode

    whole = ("<s>", "|SPEAKER|", "|NEWLINE|")
    vocab = {ch: i for i, ch in enumerate(bytes_to_unicode().values())}
    vocab.update({t: 256 + i for i, t in enumerate(whole)})
    core = Tokenizer(models.BPE(vocab=vocab, merges=[], ignore_merges=True))
    core.normalizer = normalizers.Prepend(" ")
    core.pre_tokenizer = pre_tokenizers.Sequence([
        pre_tokenizers.Split(Regex("|".join(re.escape(t) for t in whole)), "isolated"),
        pre_tokenizers.ByteLevel(add_prefix_space=False, use_regex=False),
    ])
    core.decoder = decoders.ByteLevel()
    tok = PreTrainedTokenizerFast(tokenizer_object=core)
    tok.add_special_tokens({"additional_special_tokens": [t for t in FUYU if t not in whole]})
    tok.eos_token = tok.pad_token = "|ENDOFTEXT|"
    tok.unk_token = "<unk>"
    tok.bos_token = "<s>"
    tok.padding_side = "left"
    return tok


@refused("fuyu", r"^FuyuForCausalLM's self-attention computes queries, keys and values in one fused projection "
                 r"\(PersimmonAttention\.query_key_value\), with no k_proj .* this family is not measured$")
def fuyu():
    """adept/fuyu-8b (refused when loaded: its Persimmon decoder has a fused query_key_value projection) ships no chat template; its card calls processor(text=prompt, images=image).
    The processor writes |SPEAKER| per patch, |NEWLINE| per row, then <s>, the text, and <0x04> (boa)."""
    from transformers import FuyuConfig, FuyuForCausalLM, FuyuImageProcessorPil, FuyuProcessor

    tok = _fuyu_tokenizer()
    text = {k: v for k, v in small_text().items() if k not in ("num_key_value_heads", "head_dim")}
    config = FuyuConfig(
        text_config={"model_type": "persimmon", **text, "qk_layernorm": True, "hidden_act": "relu2",
                     "partial_rotary_factor": 0.5, "bos_token_id": tok.bos_token_id, "eos_token_id": tok.eos_token_id,
                     "pad_token_id": tok.pad_token_id},
        image_size=32, patch_size=8, image_token_id=tok.convert_tokens_to_ids("|SPEAKER|"),
    )
    image_processor = FuyuImageProcessorPil(size={"height": 32, "width": 32}, patch_size={"height": 8, "width": 8})
    processor = FuyuProcessor(image_processor=image_processor, tokenizer=tok)
    return FuyuForCausalLM(config), processor


KOSMOS = ("<s>", "<pad>", "</s>", "<unk>")


@refused("kosmos-2", r"^Kosmos2ForConditionalGeneration places image features where a mask \(image_embeds_position_mask\) "
                     r"says, .* this family is not measured$")
def kosmos2():
    """microsoft/kosmos-2-patch14-224 (refused when loaded: image positions come from a mask, not an image token id) ships no chat template; its card calls processor(text="<grounding>An image of",
    images=image). The processor writes <s><image> + 64 fake <image> + </image> before the text, then replaces the 64
    fake ids by unk_id+1 .. unk_id+64 after tokenizing."""
    from transformers import CLIPImageProcessorPil, Kosmos2Config, Kosmos2ForConditionalGeneration, Kosmos2Processor

    tok = tokenizer(KOSMOS, "<s>", "</s>", "<pad>", None)
    tok.unk_token = "<unk>"
    config = Kosmos2Config(
        text_config=dict(vocab_size=1600, embed_dim=64, layers=2, ffn_dim=128, attention_heads=4, max_position_embeddings=4096,
                         dropout=0.0, attention_dropout=0.0, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id),
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        latent_query_num=64,
    )
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    processor = Kosmos2Processor(image_processor=image_processor, tokenizer=tok)
    return Kosmos2ForConditionalGeneration(config), processor


# Builders written beside the measured families (their docstrings say what each is shaped from), refused here.
MLA = r"self-attention is multi-head latent attention: .*\.kv_a_proj_with_mqa\), with no k_proj .* this family is not measured$"
refused("kimi_k25", r"^Kimi_K25ForConditionalGeneration's " + MLA, torchvision=True)(zoo_batch_c.kimi_k25)
refused("mistral_large4", r"^MistralLarge4ForConditionalGeneration's " + MLA, torchvision=True)(zoo_batch_b.mistral_large4)
refused("dots3_note", r"^Dots3NoteForConditionalGeneration's " + MLA)(zoo_batch_d.dots3_note)
refused("nemotron_h_omni", r"attention blocks keep their key projection under `mixer` \(NemotronHAttention\.k_proj\), where "
        r"the harness reads self_attn\.k_proj; this family is not measured$", torchvision=True)(zoo_batch_d.nemotron_h_omni)
refused("pp_chart2table", r"^PPChart2TableProcessor places the image only in its own fixed prompt .* leaving that text out, so no "
        r"prompt holds both the benchmark text and the image; this family is not measured$")(zoo_batch_a.pp_chart2table)
refused("evolla", r"AutoModelForImageTextToText cannot build it \(Unrecognized configuration class .*EvollaConfig.*\); give a "
        r"checkpoint whose model class AutoModelForImageTextToText loads$")(zoo_batch_a.evolla)
refused("kosmos-2.5", r"^Kosmos2_5ForConditionalGeneration places image features where a mask \(image_embeds_position_mask\) "
        r"says, .* this family is not measured$")(zoo_batch_a.kosmos_2_5)
refused("got_ocr2", r"^GotOcr2Processor places the image only in its own fixed OCR prompt, .* this family is not measured$")(zoo_batch_a.got_ocr2)
refused("instructblipvideo", r"^InstructBlipVideoForConditionalGeneration takes video, not images: its config names a video token "
        r"\(video_token_id\) and no image token, .* this family is not measured$", torchvision=True)(zoo_batch_a.instructblipvideo)
refused("pi0", r"^PI0ForConditionalGeneration's forward requires `state`, which its processor does not make from a prompt of text "
        r"and images; this family is not measured$", torchvision=True)(zoo_batch_a.pi0)
refused("glm5_next", r"^Glm5NextForConditionalGeneration's " + MLA)(zoo_glm5_inkling.glm5_next)
refused("deepseek_ocr2", r"^DeepseekOcr2Processor rejected 2 prompt\(s\) with their images \(.*Found total 0 <image> tokens and 2 "
        r"images\.\); DeepseekOcr2Processor has no chat template of its own, so its plain prompt format was used; save the "
        r"checkpoint with processor\.chat_template set$")(zoo_batch_c.deepseek_ocr2)


from . import refused_prefix  # noqa: E402,F401  (registers blip, git and vision-encoder-decoder with `refused`, defined above)
from . import refused_encdec  # noqa: E402,F401  (registers florence2, pp_formulanet, t5gemma2 and udop with `refused`)
