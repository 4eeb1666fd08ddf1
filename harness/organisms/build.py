"""The organisms' histories, from one seed: world, tokenizer, vision tower, then each organism's stages.

    text-first  decoder on text only → stage 1 (projector learns captions) → stage 2 (projector + decoder on image QA)
    aligned     the same history and batches, plus the key-space MMD term in stages 1 and 2
    joint       decoder from scratch, projector and decoder on text, captions and image QA mixed from step one,
                as many steps and examples of each kind as text-first saw in its three stages together

All three start from the same initial weights and share the frozen vision tower. Each organism trains in
its own spawned process on one thread, repeating the shared start (world, tokenizer, vision tower; cheap and
deterministic) so that its weights are the same whatever the number of parallel jobs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing as mp
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from harness.models.layers import resolve_layers

from . import data, evaluate
from .alignment import BANDWIDTH_FACTORS, key_alignment
from .card import model_card
from .checkpoint import Sizes, build_model, build_processor, chat_template, load, save
from .tokenizer import train_tokenizer
from .train import Stage, patch_features, run_stage, train_vision

ORGANISMS = ("text-first", "aligned", "joint")
MEASURED_LAYERS = ("first", "mid", "last")  # the harness's default layers; the alignment term acts there
NOT_HASHED = ("timing.json",)  # wall and CPU times differ from run to run


@dataclass(frozen=True)
class Plan:
    seed: int = 20261130
    n_images: int = 2000
    n_text: int = 3000
    n_eval: int = 300
    vocab: int = 1024
    sizes: Sizes = field(default_factory=Sizes)
    batch: int = 32
    vision_steps: int = 400
    vision_lr: float = 2e-3
    text_steps: int = 600
    caption_steps: int = 200
    qa_steps: int = 600
    lr: float = 2e-3  # text pretraining, stage 1 and joint
    qa_lr: float = 1e-3  # stage 2
    mmd_weight: float = 1.0


QUICK = Plan(n_images=120, n_text=120, n_eval=30, vocab=400, sizes=Sizes(hidden=32, layers=2, vocab=400),
             batch=8, vision_steps=10, text_steps=10, caption_steps=5, qa_steps=10)


def train_all(out: Path, plan: Plan, *, jobs: int = 3, log: Callable[[str], None] = print) -> dict:
    """Train and save every organism under `out`/NAME (one spawned single-thread process each, `jobs` at a
    time, so that the weights do not depend on `jobs`); write `out`/MANIFEST and `out`/timing.json."""
    wall = time.perf_counter()
    ctx = mp.get_context("spawn")
    with ctx.Pool(min(jobs, len(ORGANISMS))) as pool:
        results = pool.starmap(train_one, [(name, out, plan) for name in ORGANISMS])
    for name, (record, laps) in zip(ORGANISMS, results):
        for lap in laps:
            log(f"{name}: {lap['part']}: wall {lap['wall_s']} s, cpu {lap['cpu_s']} s")
        log(f"{name}: held-out accuracy {record['heldout']['all']['accuracy']} (chance {record['heldout']['all']['chance']}); "
            f"hint probe {record['hint_probe']}")
    timing = {"jobs": jobs, "threads_per_job": 1, "wall_s": round(time.perf_counter() - wall, 1),
              "cpu_s": round(sum(lap["cpu_s"] for _, laps in results for lap in laps), 1),
              "organisms": {name: laps for name, (_, laps) in zip(ORGANISMS, results)}}
    log(f"all organisms: wall {timing['wall_s']} s, cpu {timing['cpu_s']} s")
    (out / "timing.json").write_text(json.dumps(timing, indent=1) + "\n", encoding="utf-8")
    write_manifest(out)
    return {"records": {n: r for n, (r, _) in zip(ORGANISMS, results)}, "timing": timing}


@dataclass
class _Shared:
    """What every organism starts from: the world, its tokenizer and processor, the trained vision tower."""

    world: data.World
    processor: Any
    pools: dict
    base: Any  # the model after the vision stage: frozen trained vision tower, initial projector and decoder
    features: torch.Tensor  # the frozen tower's patch features of every training image
    record: dict


def prepare(plan: Plan) -> _Shared:
    w = data.make_world(plan.seed, n_images=plan.n_images, n_text=plan.n_text, n_eval=plan.n_eval)
    tok = train_tokenizer(data.corpus_texts(w), vocab_size=plan.vocab, chat_template=chat_template())
    processor, enc = build_processor(tok), data.Encoder(tok)
    pixels = processor.image_processor(w.images, return_tensors="pt")["pixel_values"]
    pools = {"text": data.text_corpus(w, enc), "captions": data.captions(w, enc), "questions": data.image_questions(w, enc)}
    base = build_model(plan.sizes, tok, seed=plan.seed)
    losses = train_vision(base, pixels, w.scenes, steps=plan.vision_steps, batch=4 * plan.batch, lr=plan.vision_lr, seed=plan.seed + 1)
    with torch.no_grad():
        features = torch.cat([patch_features(base, pixels[i : i + 256]) for i in range(0, len(pixels), 256)])
    record = {"vision": {"steps": plan.vision_steps, "batch": 4 * plan.batch, "lr": plan.vision_lr,
                         "loss_first": round(losses[0], 4), "loss_last": round(sum(losses[-10:]) / len(losses[-10:]), 4)},
              "data": {"train_images": plan.n_images, "text_scenes": plan.n_text, "heldout_images": plan.n_eval,
                       **{f"{k}_examples": len(v) for k, v in pools.items()}, "vocab": len(tok)},
              "plan": asdict(plan), "seed": plan.seed}
    return _Shared(w, processor, pools, base, features, record)


def history(name: str, plan: Plan, shared: _Shared, clock: "_Clock") -> tuple[Any, list[dict]]:
    """Train organism `name` from the shared start; the model and its stage records."""
    model = copy.deepcopy(shared.base)
    pools = shared.pools
    run = dict(features=shared.features, batch=plan.batch, pad_id=shared.processor.tokenizer.pad_token_id)
    if name == "joint":
        share = {"text": plan.text_steps, "captions": plan.caption_steps, "questions": plan.qa_steps}
        weights = torch.cat([torch.full((len(pools[k]),), share[k] / len(pools[k]), dtype=torch.float64) for k in share])
        mixed = pools["text"] + pools["captions"] + pools["questions"]
        stages = [run_stage(model, Stage("joint-mixed", sum(share.values()), plan.lr, ("projector", "decoder")), mixed,
                            seed=plan.seed + 13, weights=weights, **run)]
        clock.lap("joint, mixed from the first step")
        return model, stages
    stages = [run_stage(model, Stage("text", plan.text_steps, plan.lr, ("decoder",)), pools["text"], seed=plan.seed + 10, **run)]
    stages[0]["decoder_sha256"] = _state_digest(model.model.language_model)  # identical for text-first and aligned
    clock.lap("text pretraining")
    weight = plan.mmd_weight if name == "aligned" else 0.0
    align = key_alignment(resolve_layers(MEASURED_LAYERS, plan.sizes.layers, model=name)) if weight else None
    stages.append(run_stage(model, Stage("projector-captions", plan.caption_steps, plan.lr, ("projector",), weight),
                            pools["captions"], seed=plan.seed + 11, alignment=align, **run))
    stages.append(run_stage(model, Stage("projector-decoder-qa", plan.qa_steps, plan.qa_lr, ("projector", "decoder"), weight),
                            pools["questions"], seed=plan.seed + 12, alignment=align, **run))
    clock.lap("stages 1-2")
    return model, stages


def train_one(name: str, out: Path, plan: Plan) -> tuple[dict, list[dict]]:
    """One organism, start to finish, in this (single-thread) process: its record and timing laps."""
    torch.set_num_threads(1)
    _quiet()
    clock = _Clock()
    shared = prepare(plan)
    clock.lap("world, tokenizer, vision tower")
    model, stages = history(name, plan, shared, clock)
    folder = out / name
    record = {"organism": name, "history": stages, **shared.record,
              "alignment_layers": resolve_layers(MEASURED_LAYERS, plan.sizes.layers, model=name),
              "alignment_bandwidth_factors": list(BANDWIDTH_FACTORS)}
    save(model, shared.processor, folder, "", record)
    saved, saved_processor = load(folder)
    w = shared.world
    record["heldout"] = evaluate.heldout_accuracy(saved, saved_processor, w.eval_scenes, w.eval_images)
    record["hint_probe"] = evaluate.hint_probe(saved, saved_processor, w.eval_scenes, w.eval_images, seed=plan.seed + 20)
    save(model, shared.processor, folder, model_card(record), record)
    clock.lap("save and evaluate")
    return record, clock.laps


def _state_digest(module: Any) -> str:
    h = hashlib.sha256()
    for k, v in sorted(module.state_dict().items()):
        h.update(k.encode())
        h.update(v.detach().contiguous().numpy().tobytes())
    return h.hexdigest()


def _quiet() -> None:
    from transformers.utils import logging

    logging.disable_progress_bar()
    logging.set_verbosity_error()


def manifest_lines(root: Path) -> list[str]:
    """`sha256  relative/path` of every file under `root` but the manifest and the timing record."""
    files = sorted(p for p in root.rglob("*") if p.is_file() and p.name != "MANIFEST" and p.name not in NOT_HASHED)
    return [f"{hashlib.sha256(p.read_bytes()).hexdigest()}  {p.relative_to(root).as_posix()}" for p in files]


def write_manifest(root: Path) -> None:
    (root / "MANIFEST").write_text("\n".join(manifest_lines(root)) + "\n", encoding="utf-8")


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu, self.laps = time.perf_counter(), time.process_time(), []

    def lap(self, what: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps.append({"part": what, "wall_s": round(wall - self.wall, 1), "cpu_s": round(cpu - self.cpu, 1)})
        self.wall, self.cpu = wall, cpu
