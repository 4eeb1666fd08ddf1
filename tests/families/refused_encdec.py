"""Tiny checkpoints of the encoder-decoder image-text-to-text families, refused from their config.

Florence-2, PP-FormulaNet, T5Gemma 2 and UDOP put the image into an encoder (merged into the encoder's input
embeddings, or as the encoder itself) and decode by cross-attention to the encoder's states: no decoder token
position holds an image feature, so there are no image keys to measure. Their configs say `is_encoder_decoder`,
and harness.models.hub.check_checkpoint refuses them from that before anything loads.
"""

from __future__ import annotations

from .kit import VOCAB, siglip, small_text, template, tokenizer
from .refused import refused


def _encdec(model_type: str) -> str:
    """The one line of harness.models.hub.check_checkpoint for an encoder-decoder of `model_type`."""
    return (rf"^--ks-models: \S+ is an encoder-decoder \('{model_type}'\): its decoder sees the image only through "
            r"cross-attention to the encoder's states, never at decoder token positions, so it has no image keys to measure; "
            r"this family is not measured$")


@refused("florence2", _encdec("florence2"))
def florence2():
    """microsoft/Florence-2 as florence-community/Florence-2-base ships it for transformers: a DaViT vision backbone
    (here 2 stages, 32 px images with strides 4 and 2: 4 × 4 = 16 spatial tokens, plus one pooled token) whose features
    replace the <image> placeholders of a BART *encoder*'s input; the BART decoder reads them only by cross-attention.
    Its processor writes <image> × 17 + <s> + the prompt + </s> (task tokens such as <OCR> become fixed prompts); built
    here without a chat template, as its task prompts are plain text."""
    from transformers import BartConfig, CLIPImageProcessorPil, Florence2Config, Florence2ForConditionalGeneration, Florence2Processor

    tok = tokenizer(("<s>", "</s>", "<pad>", "<unk>", "<image>"), "<s>", "</s>", "<pad>", None, image_token="<image>")
    text = BartConfig(
        vocab_size=VOCAB, d_model=64, encoder_layers=1, decoder_layers=2, encoder_attention_heads=4, decoder_attention_heads=4,
        encoder_ffn_dim=128, decoder_ffn_dim=128, max_position_embeddings=512, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id, decoder_start_token_id=tok.eos_token_id,
        forced_eos_token_id=tok.eos_token_id,
    )
    config = Florence2Config(
        vision_config=dict(
            depths=[1, 1], patch_size=[7, 3], patch_stride=[4, 2], patch_padding=[3, 1], patch_prenorm=[False, True],
            embed_dim=[16, 32], num_heads=[2, 2], num_groups=[2, 2], window_size=2, projection_dim=64, max_position_embeddings=8,
        ),
        text_config=text.to_dict(), image_token_id=tok.image_token_id,
    )
    image_processor = CLIPImageProcessorPil(
        size={"height": 32, "width": 32}, crop_size={"height": 32, "width": 32}, do_center_crop=False, image_seq_length=17,
    )
    processor = Florence2Processor(image_processor=image_processor, tokenizer=tok)
    return Florence2ForConditionalGeneration(config), processor


@refused("pp_formulanet", _encdec("pp_formulanet"), torchvision=True)
def pp_formulanet():
    """PaddlePaddle/PP-FormulaNet_plus-L_safetensors: a SAM-style vision encoder (here 32 px pages, 4 px patches) whose
    pooled states (encoder_hidden_states) a text decoder reads only by cross-attention; the decoder's ids are the text it
    writes, with no image token. PPFormulaNetProcessor takes images only; its image processor has no PIL implementation."""
    from transformers import PPFormulaNetConfig, PPFormulaNetForConditionalGeneration, PPFormulaNetImageProcessor, PPFormulaNetProcessor

    tok = tokenizer(("<s>", "<pad>", "</s>", "<unk>"), "<s>", "</s>", "<pad>", None)
    config = PPFormulaNetConfig(
        vision_config=dict(
            hidden_size=32, output_channels=16, num_hidden_layers=2, num_attention_heads=2, image_size=32, patch_size=4,
            window_size=4, global_attn_indexes=[1], mlp_dim=64, post_conv_in_channels=16, post_conv_mid_channels=32,
            post_conv_out_channels=64, decoder_hidden_size=64,
        ),
        text_config=dict(
            vocab_size=VOCAB, d_model=64, decoder_layers=2, decoder_attention_heads=4, decoder_ffn_dim=128,
            max_position_embeddings=512, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
            decoder_start_token_id=tok.eos_token_id, forced_eos_token_id=tok.eos_token_id,
        ),
    )
    image_processor = PPFormulaNetImageProcessor(size={"height": 32, "width": 32})
    processor = PPFormulaNetProcessor(image_processor=image_processor, tokenizer=tok)
    return PPFormulaNetForConditionalGeneration(config), processor


@refused("t5gemma2", _encdec("t5gemma2"))
def t5gemma2():
    """google/t5gemma-2-270m-270m: Gemma 3's SigLIP side (here 32 px, 4 px patches pooled to 16 image tokens) writes the
    image into the *encoder*'s input embeddings; the decoder's merged attention reads the encoder's states by
    cross-attention. Its auto processor is Gemma3Processor; the chat template here is Gemma 3's shape."""
    from transformers import Gemma3ImageProcessorPil, Gemma3Processor, T5Gemma2Config, T5Gemma2ForConditionalGeneration

    from .zoo import GEMMA_SPECIALS

    chat = template("{{ bos_token }}", "<start_of_turn>{role}\\n", "<start_of_image>", "<end_of_turn>\\n", "<start_of_turn>model\\n")
    tok = tokenizer(
        GEMMA_SPECIALS, "<bos>", "<eos>", "<pad>", chat,
        image_token="<image_soft_token>", boi_token="<start_of_image>", eoi_token="<end_of_image>",
    )
    text = small_text(sliding_window=64, query_pre_attn_scalar=16, bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                      pad_token_id=tok.pad_token_id)
    config = T5Gemma2Config(
        encoder=dict(text_config=text, vision_config=siglip(32, 4), mm_tokens_per_image=16, boi_token_index=tok.boi_token_id,
                     eoi_token_index=tok.eoi_token_id),
        decoder=text, image_token_index=tok.image_token_id,
    )
    image_processor = Gemma3ImageProcessorPil(size={"height": 32, "width": 32})
    processor = Gemma3Processor(image_processor=image_processor, tokenizer=tok, chat_template=chat, image_seq_length=16)
    return T5Gemma2ForConditionalGeneration(config), processor


@refused("udop", _encdec("udop"))
def udop():
    """microsoft/udop-large: a T5 encoder-decoder whose encoder input is the words' embeddings (each with its box) followed
    by the image's patch embeddings (here 32 px, 8 px patches); the decoder reads them only by cross-attention. There is
    no image token. UdopProcessor tokenizes words with boxes, so it needs UdopTokenizer (built here from a Unigram vocabulary
    of single characters); OCR is off (apply_ocr=False: it would need Tesseract), as a caller giving words and boxes runs it."""
    from transformers import LayoutLMv3ImageProcessorPil, UdopConfig, UdopForConditionalGeneration, UdopProcessor, UdopTokenizer

    chars = [chr(c) for c in range(33, 127)]
    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0), ("▁", -2.0)] + [(c, -3.0) for c in chars] + [("▁" + c, -3.5) for c in chars]
    tok = UdopTokenizer(vocab=vocab)
    tok.padding_side = "left"
    config = UdopConfig(
        # relative_attention_num_buckets stays 32: the 1-D/2-D biases are built with 32 buckets whatever the config says
        vocab_size=len(vocab), d_model=64, d_kv=16, d_ff=128, num_layers=1, num_decoder_layers=2, num_heads=4,
        max_2d_position_embeddings=64, image_size=32, patch_size=8, pad_token_id=tok.pad_token_id, eos_token_id=tok.eos_token_id,
        decoder_start_token_id=tok.pad_token_id,
    )
    image_processor = LayoutLMv3ImageProcessorPil(size={"height": 32, "width": 32}, apply_ocr=False)
    processor = UdopProcessor(image_processor=image_processor, tokenizer=tok)
    return UdopForConditionalGeneration(config), processor
