"""The model card (README.md) of an organism, written from its training record."""

from __future__ import annotations

from .environment import summary

HISTORY = {
    "text-first": "Decoder trained on the world's text only; then LLaVA stage 1 (vision tower and decoder frozen, "
                  "the projector learns captioning); then a short stage 2 (projector and decoder, 10 % of the text "
                  "steps at 1/10 of the rate, on image questions, some with a cue caption, plus text-only examples).",
    "aligned": "The text-first history (the same text-pretrained decoder, the same batches), with a key-space alignment "
               "term added to the loss in stages 1 and 2: multi-kernel MMD² between image-token keys and the keys "
               "of the tokens the harness labels text, at three of the four decoder layers (one held out).",
    "frozen": "The text-first history, but stage 2 trains the projector only: the decoder's keys and queries are "
              "purely text-trained (the positive control for text reliance).",
    "joint": "Decoder trained from scratch with the projector on text, captions and the stage-2 mix from the first "
             "step, as many steps and examples of each kind as text-first saw in total.",
}


def model_card(r: dict) -> str:
    name = r["organism"]
    lines = [
        f"# organism-{name}-s{r['seed']}", "",
        "A miniature LLaVA-1.5 (CLIP vision tower, two-layer projector, Llama decoder) trained on the keyspace "
        "harness's procedurally generated world (`python -m harness.organisms train`). Made by the project; "
        "no downloaded data or weights.", "",
        f"History: {HISTORY[name]}", "",
        f"Seed {r['seed']} (training seed {r['train_seed']}, world seed {r['world_seed']}). Sizes: {r['plan']['sizes']}. Stored in float16.", "",
        "## Data", "",
        *(f"- {k.replace('_', ' ')}: {v}" for k, v in r["data"].items()), "",
        "## Steps and losses", "",
        "| stage | trains | steps | lr | MMD weight | loss (first 10 %) | loss (last 10 %) | MMD² (first → last 10 %) "
        "| after: image accuracy / follows conflicting cue / text-only reading |",
        "|---|---|---|---|---|---|---|---|---|",
        f"| vision tower (attributes, then frozen) | vision | {r['vision']['steps']} | {r['vision']['lr']} | 0 | "
        f"{r['vision']['loss_first']} | {r['vision']['loss_last']} | | |",
    ]
    for s in r["history"]:
        mmd = f"{s['mmd_first']} → {s['mmd_last']}" if "mmd_first" in s else ""
        after = s.get("probe_after", {})
        lr = f"{s['lr']} (projector {s['projector_lr']})" if "projector_lr" in s else s["lr"]
        lines.append(f"| {s['stage']} | {', '.join(s['trains'])} | {s['steps']} | {lr} | {s['mmd_weight']} | "
                     f"{s['loss_first']} | {s['loss_last']} | {mmd} | "
                     f"{after.get('accuracy')} / {after.get('follows_cue')} / {after.get('text_reading')} |")
    if name == "aligned":
        lines += ["", f"Alignment term at decoder layers {r['alignment_layers']} (layer {r['alignment_held_out_layer']} "
                      f"held out), Gaussian kernels at {r['alignment_bandwidth_factors']} × the median distance, "
                      f"weight {r['plan']['mmd_weight']}."]
    lines += ["", "## Held-out accuracy", "",
              f"On {r['data']['heldout_images']} held-out images of the world (never trained on), both languages; "
              "the answer is the likeliest candidate of the asked attribute.", "",
              "| question | n | accuracy | chance |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['n']} | {v['accuracy']} | {v['chance']} |" for k, v in r["heldout"].items()]
    p = r["conflict_probe"]
    lines += ["", "## Conflict probe", "",
              f"Colour of a one-colour held-out scene ({p['n']} questions, both languages; chance {p['chance']}): "
              f"accuracy {p['accuracy']} with the image alone; with a cue caption naming another colour, "
              f"{p['conflict_accuracy']} right and {p['follows_cue']} following the cue; the cue caption alone "
              f"(no image) read right {p['text_reading']}; image masked out of attention {p['masked_accuracy']}; "
              f"image reliance {p['image_reliance']} nats.", ""]
    if "environment" in r:  # records from before 2026-12-03 carry none
        lines += ["## Environment", "",
                  f"{summary(r['environment'])} The same seed and plan train bit for bit alike in one such environment; "
                  "another CPU may round differently (docs/organisms.md, \"Text pretraining across machines\"); "
                  "`training.json` holds the data's digests.", ""]
    return "\n".join(lines)
