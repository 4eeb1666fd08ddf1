"""Tiny checkpoints of the image-text-to-text families whose text model is not a decoder-only `layers` list, each
refused with the reason its one line must give:

- BLIP: a BERT text decoder whose layers cross-attend to the vision states (BlipTextLayer.crossattention); its
  self-attention runs over text tokens only, so there are no image keys.
- GIT: not cross-attention. GitModel.forward (transformers/models/git/modeling_git.py) prepends the projected image
  features to the text embeddings and runs one self-attention stack (git.encoder.layer) over both: the image
  positions ARE keyed (GitSelfAttention.key; 17 of 23 key rows for a 6-token prompt here), but no input id stands
  for them (GitProcessor writes no image token), and the stack is no `layers` list with self_attn.k_proj.
- vision-encoder-decoder: an encoder-decoder, refused from its config when a run is planned; its GPT-2 decoder reads
  the ViT states by cross-attention (GPT2Block.crossattention).

The patterns are the lines after /tmp/s17/h7/adapter.patch (the reason read from what the text model's forward takes)
and, for vision-encoder-decoder, /tmp/s17/h7/test_refusals_planned.patch (the config check a run's plan makes).
Registered into tests/families/refused.py's REFUSED when imported (as a pytest plugin: `-p families.refused_prefix`)."""

from __future__ import annotations

from .kit import VOCAB, siglip, tokenizer
from .refused import refused

# Every GIT and BLIP checkpoint ships a BERT tokenizer ([CLS] text [SEP]) and no chat template; here one byte is one
# token, with BERT's specials and [CLS] as BOS.
BERT = ("[CLS]", "[SEP]", "[PAD]", "[UNK]")


def _bert_tokenizer():
    tok = tokenizer(BERT, "[CLS]", "[SEP]", "[PAD]", None)
    tok.unk_token = "[UNK]"
    return tok


def _text(tok) -> dict:
    """A BERT-style text model at tiny size (hidden 64, 2 layers, 4 heads) in `tok`'s vocabulary."""
    return dict(vocab_size=VOCAB, hidden_size=64, num_hidden_layers=2, num_attention_heads=4, intermediate_size=128,
                bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)


@refused("blip", r"^cannot find the decoder layers of BlipForConditionalGeneration: its text model \(BlipTextLMHeadModel\) reads "
                 r"the image by cross-attention to the vision states .* there are no image keys; this family is not measured$")
def blip():
    """Salesforce/blip-image-captioning-base shaped: BlipVisionModel's states go to BlipTextLMHeadModel as
    encoder_hidden_states (a BERT decoder whose layers cross-attend to them); BlipProcessor with BLIP's image
    processor (384 px there, 32 here)."""
    from transformers import BlipConfig, BlipForConditionalGeneration, BlipImageProcessorPil, BlipProcessor

    tok = _bert_tokenizer()
    config = BlipConfig(vision_config=siglip(32, 8), text_config=dict(**_text(tok), sep_token_id=tok.eos_token_id),
                        projection_dim=32, image_text_hidden_size=32)
    processor = BlipProcessor(image_processor=BlipImageProcessorPil(size={"height": 32, "width": 32}), tokenizer=tok)
    return BlipForConditionalGeneration(config), processor


@refused("git", r"^cannot find the decoder layers of GitForCausalLM: its text model \(GitModel\) takes the pixels and prepends the "
                r"image features to the text embeddings itself: they are keyed by its self-attention, but at positions no input "
                r"id stands for .*; this family is not measured$")
def git():
    """microsoft/git-base shaped: a CLIP vision tower whose projected states GitModel prepends to the text
    embeddings, one BERT-style self-attention stack (git.encoder.layer) over both; GitProcessor with CLIP's image
    processor (224 px there, 32 here: 16 patches + CLS = 17 image positions)."""
    from transformers import CLIPImageProcessorPil, GitConfig, GitForCausalLM, GitProcessor

    tok = _bert_tokenizer()
    config = GitConfig(vision_config=siglip(32, 8), **_text(tok))
    image_processor = CLIPImageProcessorPil(size={"shortest_edge": 32}, crop_size={"height": 32, "width": 32})
    return GitForCausalLM(config), GitProcessor(image_processor=image_processor, tokenizer=tok)


class _ImageProcessorAndTokenizer:
    """What a vision-encoder-decoder checkpoint ships when it has no processor class of its own
    (nlpconnect/vit-gpt2-image-captioning: ViT's preprocessor_config.json beside GPT-2's tokenizer files)."""

    def __init__(self, image_processor, tokenizer):
        self.image_processor, self.tokenizer = image_processor, tokenizer

    def save_pretrained(self, directory):
        self.image_processor.save_pretrained(directory)
        self.tokenizer.save_pretrained(directory)


# From the config, as a run's plan checks it (hub.check_checkpoint); the second line where only the model is loaded.
ENCODER_DECODER = r"--ks-models: hf:\S+ is an encoder-decoder \('vision-encoder-decoder'\): its decoder sees the image only through"
LOADED = r"cannot find the decoder layers of VisionEncoderDecoderModel: its text model \(GPT2LMHeadModel\) reads the image by"


@refused("vision-encoder-decoder", rf"^({ENCODER_DECODER}|{LOADED}) cross-attention .*; this family is not measured$")
def vision_encoder_decoder():
    """nlpconnect/vit-gpt2-image-captioning shaped: a ViT encoder, a GPT-2 decoder with cross-attention to it
    (what VisionEncoderDecoderConfig.from_encoder_decoder_configs makes of a GPT-2 config), ViT's image processor
    and a tokenizer."""
    from transformers import GPT2Config, VisionEncoderDecoderConfig, VisionEncoderDecoderModel, ViTConfig, ViTImageProcessorPil

    tok = tokenizer(("<|endoftext|>",), None, "<|endoftext|>", "<|endoftext|>", None)
    encoder = ViTConfig(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32,
                        patch_size=8)
    decoder = GPT2Config(vocab_size=VOCAB, n_embd=64, n_layer=2, n_head=4, n_positions=512, bos_token_id=tok.eos_token_id,
                         eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id)
    config = VisionEncoderDecoderConfig.from_encoder_decoder_configs(encoder, decoder)
    image_processor = ViTImageProcessorPil(size={"height": 32, "width": 32})
    return VisionEncoderDecoderModel(config), _ImageProcessorAndTokenizer(image_processor, tok)
