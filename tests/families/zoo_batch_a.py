"""Tiny checkpoints of more image-text-to-text model types (see tests/families/zoo.py for the conventions).

Builders registered with `family` are measured exactly. Builders without it are families the harness cannot
measure; each docstring says why and what a user of such a checkpoint gets.
"""

from __future__ import annotations

from .kit import VOCAB, siglip, small_text, template, tokenizer, video_processor

QWEN_GOT = ("<|endoftext|>", "<|im_start|>", "<|im_end|>", "<img>", "</img>", "<imgpad>")


def _got_config(config_class, tok):
    """GOT-OCR 2.0's composite config at tiny size: a SAM-style vision side (windowed attention, one global layer) whose neck
    and two stride-2 convolutions turn 128 px pages (2 px patches: a 64 × 64 grid, as the real 1024 px pages with 16 px
    patches) into 16 × 16 = 256 image tokens, before a Qwen2 decoder."""
    return config_class(
        text_config={"model_type": "qwen2", **small_text()},
        vision_config=dict(
            hidden_size=32, output_channels=16, num_hidden_layers=2, num_attention_heads=2, image_size=128, patch_size=2,
            window_size=8, global_attn_indexes=[1], mlp_dim=64,
        ),
        image_token_index=tok.convert_tokens_to_ids("<imgpad>"), image_seq_length=256,
    )


def pp_chart2table():
    """PP-Chart2Table (not registered: refused). GOT-OCR 2.0's model class
    (GotOcr2ForConditionalGeneration: a SAM-style vision side, here 128 px pages with 2 px patches, whose neck and two
    stride-2 convolutions give 16 × 16 = 256 image tokens, before a Qwen2 decoder) under the pp_chart2table config.
    PPChart2TableProcessor expands no placeholder: its chat template writes the whole fixed prompt PaddleX trained on
    (ChatML system prompt "You should follow the instructions carefully and explain your answers in detail.", then the
    user turn <img> + 256 × <imgpad> + </img> + "\\nChart to table"), whatever the messages hold: transformers' own
    processor test renders a conversation with empty contents into that 287-token prompt, and skips the chat-template
    tests ("PPChart2Table relies on a predetermined input format"). The exact published template was not at hand: its
    shape (one fixed prompt, the messages' text and images not read) is taken from that test and from PaddleX's
    PPChart2TableProcessor; whether it writes the system turn without a system message is guessed (yes).

    Refused (harness.models.prompts.OWN_PROMPT_ONLY, tests/families/refused.py): the template does not rewrite the text,
    it leaves it out, like GOT-OCR 2.0's own fixed OCR prompt (before 2026-12-05 the line said "rewrites")."""
    from transformers import GotOcr2ForConditionalGeneration, PPChart2TableConfig, PPChart2TableImageProcessorPil, PPChart2TableProcessor

    chat = (
        "<|im_start|>system\nYou should follow the instructions carefully and explain your answers in detail.<|im_end|>"
        "<|im_start|>user\n<img>" + "<imgpad>" * 256 + "</img>\nChart to table<|im_end|>"
        "{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
    )
    tok = tokenizer(QWEN_GOT, None, "<|im_end|>", "<|endoftext|>", chat)
    config = _got_config(PPChart2TableConfig, tok)
    image_processor = PPChart2TableImageProcessorPil(size={"height": 128, "width": 128})
    processor = PPChart2TableProcessor(image_processor=image_processor, tokenizer=tok, chat_template=chat)
    return GotOcr2ForConditionalGeneration(config), processor


def instructblipvideo():
    """InstructBLIP-Video (refused). A BLIP-2 vision side and Q-Former whose 4
    query tokens per frame (4 frames, as the processor hard-codes) fill 16 <video> positions before a Llama decoder.
    As published (Salesforce/instructblip-vicuna-7b with InstructBlipVideoProcessor) there is no chat template: the card
    calls processor(text=prompt, images=clip); the processor's constructor drops a chat_template it is given. It
    tokenizes the text and the <video> run in two tokenizer calls and joins the ids, and tokenizes the text a third time
    with the Q-Former's tokenizer; the video processor needs torchvision.

    Refused (tests/families/refused.py): with torchvision, "InstructBlipVideoForConditionalGeneration takes video, not
    images: its config names a video token (video_token_id) and no image token, ..."; without it, "the processor of DIR
    needs torchvision, ..." (its processor holds a video processor and no image processor). Before 2026-12-05 these
    read "has no known image token id ...; a family adapter must name it" and "cannot load DIR (Can't load image
    processor for 'DIR'. ...)"."""
    from transformers import InstructBlipVideoProcessor

    model, tok = instructblipvideo_model()
    processor = InstructBlipVideoProcessor(
        video_processor=video_processor("InstructBlipVideoVideoProcessor", size={"height": 32, "width": 32}), tokenizer=tok,
        qformer_tokenizer=tokenizer(("[PAD]",), None, "[PAD]", "[PAD]", None), num_query_tokens=4,
    )
    return model, processor


def instructblipvideo_model():
    """InstructBLIP-Video's tiny model and its tokenizer (both build without torchvision; its processor does not)."""
    from transformers import InstructBlipVideoConfig, InstructBlipVideoForConditionalGeneration

    tok = tokenizer(("<s>", "</s>", "<unk>", "<pad>", "<video>"), "<s>", "</s>", "<pad>", None, unk_token="<unk>")
    config = InstructBlipVideoConfig(
        vision_config=dict(hidden_size=32, intermediate_size=64, num_hidden_layers=1, num_attention_heads=2, image_size=32, patch_size=8),
        qformer_config=dict(vocab_size=VOCAB, hidden_size=32, num_hidden_layers=2, num_attention_heads=2, intermediate_size=64,
                            encoder_hidden_size=32),
        text_config={"model_type": "llama", **small_text(bos_token_id=tok.bos_token_id, eos_token_id=tok.eos_token_id,
                                                          pad_token_id=tok.pad_token_id)},
        num_query_tokens=4, video_token_index=tok.convert_tokens_to_ids("<video>"),
    )
    return InstructBlipVideoForConditionalGeneration(config), tok


def kosmos_2_5():
    """Kosmos-2.5 (model type kosmos-2.5; not registered: refused, tests/families/refused.py). A Pix2Struct-style vision
    side (16 px flattened patches, up to 4096 as the processor asks) whose 16 latent queries fill the positions of 16 image tokens
    before a Kosmos text decoder. As published (microsoft/kosmos-2.5) there is no chat template (Kosmos2_5Processor's
    constructor takes none); the card calls processor(text="<ocr>" or "<md>", images=image). The processor writes
    <s><image> + 16 × <s> + </image> before the text: the image token is <s>, the BOS token itself, and the positions
    the model fills are those its image_embeds_position_mask marks (written from the start of each row, so a row of a
    left-padded batch has it over pad tokens). Whether the published tokenizer adds a BOS of its own is guessed (no).

    A user gets Kosmos-2's refusal, right here too: "Kosmos2_5ForConditionalGeneration places image features where a mask
    (image_embeds_position_mask) says, over ids its processor writes, not at one image token id; ..."."""
    from transformers import Kosmos2_5Config, Kosmos2_5ForConditionalGeneration, Kosmos2_5ImageProcessorPil, Kosmos2_5Processor

    tok = tokenizer(("<s>", "<pad>", "</s>", "<unk>", "<image>", "</image>"), None, "</s>", "<pad>", None,
                    unk_token="<unk>", boi_token="<image>", eoi_token="</image>", image_token="<s>")
    tok.bos_token = "<s>"  # written by the processor before each prompt; the tokenizer adds none (guessed)
    config = Kosmos2_5Config(
        text_config=dict(vocab_size=VOCAB, embed_dim=64, layers=2, ffn_dim=128, attention_heads=4, max_position_embeddings=4096,
                         dropout=0.0, attention_dropout=0.0, pad_token_id=tok.pad_token_id, bos_token_id=tok.bos_token_id,
                         eos_token_id=tok.eos_token_id),
        vision_config=dict(hidden_size=32, patch_embed_hidden_size=768, intermediate_size=64, head_dim=16, num_hidden_layers=1,
                           num_attention_heads=2, max_num_patches=4096),
        latent_query_num=16,
    )
    image_processor = Kosmos2_5ImageProcessorPil()  # the processor asks for 4096 patches whatever the image processor says
    processor = Kosmos2_5Processor(image_processor=image_processor, tokenizer=tok, num_image_tokens=16)
    return Kosmos2_5ForConditionalGeneration(config), processor


LLAMA3 = ("<|begin_of_text|>", "<|end_of_text|>", "<|start_header_id|>", "<|end_header_id|>", "<|eot_id|>",
          "<|reserved_special_token_0|>")


def evolla():
    """Evolla (not registered: not an image-text model; refused). A protein-language model listed by transformers for
    image-text-to-text: EvollaForProteinText2Text reads protein sequences (amino-acid letters with Foldseek structure
    letters, through a SaProt encoder and a resampler) that its decoder reaches by cross-attention aligners, and has no
    vision side, no image input and no image token. EvollaProcessor takes proteins and chat messages, not images; it
    renders each conversation with its tokenizer's chat template (Llama 3's, as Evolla-10B ships: BOS, header-wrapped
    roles, <|eot_id|>), which it takes from the tokenizer (its own constructor takes none). The SaProt vocabulary here is
    a guessed few tokens (written to a temporary file: EsmTokenizer reads its vocabulary from a file).

    Refused in one line (tests/families/refused.py): AutoModelForImageTextToText cannot build it (transformers' own
    "Unrecognized configuration class EvollaConfig ..."; before 2026-12-05 that error came with its traceback)."""
    import tempfile
    from pathlib import Path

    from transformers import EsmTokenizer, EvollaConfig, EvollaForProteinText2Text, EvollaProcessor

    chat = template(
        "{{ bos_token }}", "<|start_header_id|>{role}<|end_header_id|>\\n\\n", "", "<|eot_id|>",
        "<|start_header_id|>assistant<|end_header_id|>\\n\\n",
    )
    tok = tokenizer(LLAMA3, "<|begin_of_text|>", "<|eot_id|>", "<|reserved_special_token_0|>", chat)
    vocab = Path(tempfile.mkdtemp(prefix="saprot-vocab")) / "vocab.txt"
    residues = [a + f for a in "ACDEFGHIKLMNPQRSTVWY" for f in "#acdefghiklmnpqrstvwy"]
    vocab.write_text("\n".join(["<cls>", "<pad>", "<eos>", "<unk>", *residues, "<mask>"]) + "\n")
    protein_tokenizer = EsmTokenizer(str(vocab))
    config = EvollaConfig(
        protein_encoder_config=dict(vocab_size=len(residues) + 5, mask_token_id=len(residues) + 4, pad_token_id=1, hidden_size=32,
                                    num_hidden_layers=1, num_attention_heads=2, intermediate_size=64),
        **{k: v for k, v in small_text().items() if k != "head_dim"}, aligner_num_add_layers=1, resampler_depth=1,
        resampler_dim_head=16, resampler_heads=2, resampler_num_latents=8, bos_token_id=tok.bos_token_id,
        eos_token_id=tok.eos_token_id, pad_token_id=tok.pad_token_id,
    )
    processor = EvollaProcessor(protein_tokenizer=protein_tokenizer, tokenizer=tok)
    return EvollaForProteinText2Text(config), processor


def pi0():
    """π0 (refused: a robot policy, not a text generator). PI0ForConditionalGeneration runs a PaliGemma prefix (here
    a 32 px SigLIP with 8 px patches: 16 <image> tokens per camera image, then BOS, the task text and a newline, as
    PI0Processor writes it: no chat template, like PaliGemma) into a key-value cache, and a Gemma action expert (the DiT)
    that denoises a chunk of robot actions from the robot's state; its forward requires `state` and returns action
    velocities, not text. PI0Processor pads every prompt on the right to 48 tokens by default; its image processor has
    no PIL implementation (torchvision only).

    Refused (tests/families/refused.py): with torchvision, "PI0ForConditionalGeneration's forward requires `state`, which
    its processor does not make from a prompt of text and images; ..."; without it, "the processor of DIR needs
    torchvision, ...". Before 2026-12-05 the first read "cannot find the decoder layers ...: it has no decoder-only
    language model ... (vision reaches its text model by cross-attention or as a prefix ...)", wrong about the vision:
    the PaliGemma prefix writes image features at token positions."""
    from transformers import PI0Config, PI0ForConditionalGeneration, PI0ImageProcessor, PI0Processor

    tok = tokenizer(("<pad>", "<eos>", "<bos>", "<unk>", "<image>"), "<bos>", "<eos>", "<pad>", None, image_token="<image>")
    config = PI0Config(
        vlm_config=dict(
            model_type="paligemma", text_config={"model_type": "gemma", **small_text()},
            vision_config={"model_type": "siglip_vision_model", **siglip(), "vision_use_head": False},
            projection_dim=64, hidden_size=64, image_token_id=tok.image_token_id, vocab_size=VOCAB,
        ),
        dit_config=dict(model_type="gemma", **{k: v for k, v in small_text().items() if k != "vocab_size"}),
        chunk_size=4, max_state_dim=8, max_action_dim=8,
    )
    image_processor = PI0ImageProcessor(size={"max_height": 32, "max_width": 32}, pad_size={"height": 32, "width": 32})
    image_processor.image_seq_length = 16
    processor = PI0Processor(image_processor=image_processor, tokenizer=tok, max_state_dim=8, chunk_size=4)
    return PI0ForConditionalGeneration(config), processor


def got_ocr2():
    """GOT-OCR 2.0, refused (harness.models.prompts.OWN_PROMPT_ONLY; tests/families/refused.py). A SAM-style vision side (windowed
    attention, one global layer) whose neck and two stride-2 convolutions turn 128 px pages (2 px patches, a 64 × 64 grid as
    the real 1024 px pages with 16 px patches) into 16 × 16 = 256 image tokens, the processor's fixed count (a class default
    that save_pretrained does not keep), before a Qwen2 decoder. As published (stepfun-ai/GOT-OCR-2.0-hf) the processor has
    no chat template: it writes its own ChatML prompt, with the image and a fixed "OCR: " query, only when given no text;
    given text it tokenizes it verbatim with no image placeholder. Its processor also rejects the per-prompt image lists
    that both the harness's plain path and processor.apply_chat_template hand it ("Nested images are only supported with
    `multi_page` set to `True`."), so saving a chat template does not help either."""
    from transformers import GotOcr2Config, GotOcr2ForConditionalGeneration, GotOcr2ImageProcessorPil, GotOcr2Processor

    tok = tokenizer(QWEN_GOT, None, "<|im_end|>", "<|endoftext|>", None)
    config = _got_config(GotOcr2Config, tok)
    image_processor = GotOcr2ImageProcessorPil(size={"height": 128, "width": 128})
    processor = GotOcr2Processor(image_processor=image_processor, tokenizer=tok)
    return GotOcr2ForConditionalGeneration(config), processor
