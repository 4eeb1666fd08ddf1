"""The model card (README.md) of an organism, written from its training record."""

from __future__ import annotations

HISTORY = {
    "text-first": "Decoder trained on the world's text only; then LLaVA stage 1 (vision tower and decoder frozen, "
                  "the projector learns captioning); then stage 2 (projector and decoder tuned on image questions).",
    "aligned": "The text-first history (the same text-pretrained decoder, the same batches), with a key-space alignment "
               "term added to the loss in stages 1 and 2: multi-kernel MMD² between image-token and text-token keys "
               "at the layers the harness measures.",
    "joint": "Decoder trained from scratch with the projector on text, captions and image questions mixed from the "
             "first step (never text-only), as many steps and examples of each kind as text-first saw in total.",
}


def model_card(r: dict) -> str:
    name = r["organism"]
    lines = [
        f"# organism-{name}", "",
        "A miniature LLaVA-1.5 (CLIP vision tower, two-layer projector, Llama decoder) trained on the keyspace "
        "harness's procedurally generated world (`python -m harness.organisms train`). Made by the project; "
        "no downloaded data or weights.", "",
        f"History: {HISTORY[name]}", "",
        f"Seed {r['seed']}. Sizes: {r['plan']['sizes']}. Stored in float16.", "",
        "## Data", "",
        *(f"- {k.replace('_', ' ')}: {v}" for k, v in r["data"].items()), "",
        "## Steps and losses", "",
        "| stage | trains | steps | lr | MMD weight | loss (first 10 %) | loss (last 10 %) | MMD² (first → last 10 %) |",
        "|---|---|---|---|---|---|---|---|",
        f"| vision tower (attributes, then frozen) | vision | {r['vision']['steps']} | {r['vision']['lr']} | 0 | "
        f"{r['vision']['loss_first']} | {r['vision']['loss_last']} | |",
    ]
    for s in r["history"]:
        mmd = f"{s['mmd_first']} → {s['mmd_last']}" if "mmd_first" in s else ""
        lines.append(f"| {s['stage']} | {', '.join(s['trains'])} | {s['steps']} | {s['lr']} | {s['mmd_weight']} | "
                     f"{s['loss_first']} | {s['loss_last']} | {mmd} |")
    if name == "aligned":
        lines += ["", f"Alignment term at decoder layers {r['alignment_layers']}, Gaussian kernels at "
                      f"{r['alignment_bandwidth_factors']} × the median distance, weight {r['plan']['mmd_weight']}."]
    lines += ["", "## Held-out accuracy", "",
              f"On {r['data']['heldout_images']} held-out images of the world (never trained on), both languages; "
              "the answer is the likeliest candidate of the asked attribute.", "",
              "| question | n | accuracy | chance |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {v['accuracy']} | {v['chance']} |" for k, v in r["heldout"].items()]
    p = r["hint_probe"]
    lines += ["", "## Text-bias probe", "",
              f"Colour of a single shape, asked plainly and with a hint naming another colour ({p['n']} questions): "
              f"accuracy {p['accuracy']} without the hint, {p['hinted_accuracy']} with it; "
              f"{p['follows_hint']} of the hinted answers follow the hint (chance {p['chance']}).", ""]
    return "\n".join(lines)
