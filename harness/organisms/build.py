"""The organisms' histories (docs/organisms.md, "Pre-registration"), from one world and several seeds.

    text-first  decoder on text only → stage 1 (projector learns captions) → stage 2 (projector + decoder, short, at
                1/10 of the rate, on image questions some of which carry a cue caption, plus text-only examples)
    aligned     the same text-pretrained decoder and batches, plus the key-space MMD term in stages 1 and 2 at
                ALIGNED_LAYERS (the harness's `text` tokens against the image tokens; HELD_OUT_LAYER left out)
    frozen      the same, but stage 2 trains the projector only (keys and queries purely text-trained)
    joint       decoder from scratch; text, captions and the stage-2 mix from the first step, as many steps and
                examples of each kind as text-first saw in its three stages together

The world (scenes, images, text corpus, held-out and probe scenes) comes from `Plan.seed`; a seed k of the
organisms draws everything else (vision tower, initial weights, cue assignment, batches) from
`Plan.seed + 1000 k`. All histories of one seed start from the same initial weights and share its frozen
vision tower. Each seed trains in its own spawned single-thread process, so the weights do not depend on
the number of parallel jobs.
"""

from __future__ import annotations

import copy
import hashlib
import json
import multiprocessing as mp
import os
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

import torch

from ..allocator import apply as apply_malloc, parse_malloc
from . import data, evaluate
from .cache import entry_key, text_pretrained_cached
from .alignment import BANDWIDTH_FACTORS, key_alignment
from .card import model_card
from .checkpoint import Sizes, build_model, build_processor, chat_template, load, save, write_record
from .environment import environment
from .probe import PROBE_SEED_OFFSET
from .tokenizer import train_tokenizer
from .train import Stage, patch_features, run_stage, train_vision

HISTORIES = ("text-first", "aligned", "frozen", "joint")
ALIGNED_LAYERS = (0, 1, 3)  # the alignment term's layers; HELD_OUT_LAYER shows whether it carries over
HELD_OUT_LAYER = 2
NOT_HASHED = ("timing.json", "study.json")  # wall and CPU times differ from run to run; the study is made from the hashed files


@dataclass(frozen=True)
class Plan:
    seed: int = 20261130  # the world's; organism seed k trains from seed + 1000 k
    seeds: tuple[int, ...] = (0, 1, 2, 3)  # candidates in order; amendment 3's gate lets in 1, 2, 3 on the reference machine
    histories: tuple[str, ...] = HISTORIES  # the histories trained (amendment 2 climbs its ladder on text-first alone)
    n_images: int = 2000
    n_text: int = 3000
    n_eval: int = 300
    n_probe: int = 300  # held-out one-colour scenes of the conflict probe (× 2 languages)
    n_log: int = 100  # of those, the scenes the per-stage log uses
    vocab: int = 1024
    sizes: Sizes = field(default_factory=Sizes)
    batch: int = 32
    vision_steps: int = 400
    vision_lr: float = 2e-3
    text_steps: int = 3000  # 600 in the pre-registered recipe; 3,000 by amendment 1 (docs/organisms.md), before training on it
    caption_steps: int = 2000  # 200 pre-registered; 400 after the pilot failed check 1; 2,000 by amendment 3 (rung B)
    qa_steps: int = 300  # stage 2: 10 % of text pretraining's steps (60 before amendment 1)
    lr: float = 2e-3  # text pretraining, stage 1 and joint
    qa_lr: float = 2e-4  # stage 2: 1/10 of text pretraining's rate (the decoder's; the projector's too unless projector_qa_lr)
    projector_qa_lr: float | None = 2e-3  # amendment 2's rung B, adopted by amendment 3: the projector's own stage-2 rate (None: qa_lr)
    caption_qa_share: float = 0.0  # amendment 2, rung C: share of stage-1 draws that are uncued image questions
    cue_share: float = 0.5  # share of stage-2 image questions with a cue caption
    cue_right: float = 0.8  # share of cues that are right (the image always is)
    text_share: float = 0.1  # share of stage-2 examples that are text only
    mmd_weight: float = 1.0
    text_gate: float | None = 0.8  # amendment 3: a seed whose text-pretrained decoder reads the cue caption below this is left out


# Amendment 2's ladder (docs/organisms.md), climbed in this order; each rung adds to the one before.
# Each rung names all three fields, so a rung means the same on top of any plan (the default plan is rung B).
RUNGS = {"A": {"caption_steps": 2000, "projector_qa_lr": None, "caption_qa_share": 0.0},
         "B": {"caption_steps": 2000, "projector_qa_lr": 2e-3, "caption_qa_share": 0.0},
         "C": {"caption_steps": 2000, "projector_qa_lr": 2e-3, "caption_qa_share": 0.5}}

QUICK = Plan(seeds=(0,), text_gate=None, n_images=120, n_text=120, n_eval=30, n_probe=12, n_log=6, vocab=400,
             sizes=Sizes(hidden=32, layers=4, vocab=400), batch=8, vision_steps=10, text_steps=10, caption_steps=5, qa_steps=4)


def folder_name(history: str, seed: int) -> str:
    return f"{history}-s{seed}"


def organisms(plan: Plan) -> list[str]:
    return [folder_name(h, k) for k in plan.seeds for h in plan.histories]


def train_all(out: Path, plan: Plan, *, jobs: int = 2, cache: Path | None = None, log: Callable[[str], None] = print,
              device: str = "cpu", malloc: str = "keep") -> dict:
    """Train and save every history of every seed under `out`/HISTORY-sSEED (one spawned single-thread process
    per seed, `jobs` at a time); write `out`/MANIFEST and `out`/timing.json. `cache`: the folder of text-pretrained
    models (harness.organisms.cache; None: none). `device`: where the training steps run ("cpu", or "cuda": every
    process on the one GPU; evaluation and saving stay on the CPU). `malloc`: where each process's freed blocks go
    (harness.allocator: keep or system; the weights are the same either way)."""
    malloc = parse_malloc(malloc)  # here, not in the workers: a pool whose initializer raises restarts it for ever
    wall = time.perf_counter()
    with mp.get_context("spawn").Pool(min(jobs, len(plan.seeds)), initializer=apply_malloc, initargs=(malloc,)) as pool:
        results = pool.starmap(train_seed, [(k, out, plan, cache, device) for k in plan.seeds])
    records = {}
    for k, (recs, laps) in zip(plan.seeds, results):
        for lap in laps:
            log(f"seed {k}: {lap['part']}: wall {lap['wall_s']} s, cpu {lap['cpu_s']} s")
        for name, r in recs.items():
            log(f"{name}: held-out accuracy {r['heldout']['all']['accuracy']} (chance {r['heldout']['all']['chance']}); "
                f"conflict probe {r['conflict_probe']}")
        records.update(recs)
    timing = {"jobs": jobs, "threads_per_job": 1, "malloc": malloc, **({"device": device} if device != "cpu" else {}), "wall_s": round(time.perf_counter() - wall, 1),
              "cpu_s": round(sum(lap["cpu_s"] for _, laps in results for lap in laps), 1),
              "seeds": {str(k): laps for k, (_, laps) in zip(plan.seeds, results)}}
    log(f"all organisms: wall {timing['wall_s']} s, cpu {timing['cpu_s']} s")
    (out / "timing.json").write_text(json.dumps(timing, indent=1) + "\n", encoding="utf-8")
    write_manifest(out)
    return {"records": records, "timing": timing}


@dataclass
class _Shared:
    """What every history of one seed starts from: the world, its tokenizer and processor, the trained vision tower."""

    world: data.World
    processor: Any
    pools: dict
    weights: torch.Tensor  # the stage-2 mix's sampling weights
    stage1_weights: torch.Tensor | None  # stage 1's over pools["stage1"] (captions, then uncued image questions); None: uniform
    base: Any  # the model after the vision stage: frozen trained vision tower, initial projector and decoder
    features: torch.Tensor  # the frozen tower's patch features of every training image
    log_probe: evaluate.Probe
    record: dict
    device: str = "cpu"  # where the training steps run


def train_seed_of(plan: Plan, k: int) -> int:
    return plan.seed + 1000 * k


def prepare(plan: Plan, k: int = 0, device: str = "cpu") -> _Shared:
    seed = train_seed_of(plan, k)
    w = data.make_world(plan.seed, n_images=plan.n_images, n_text=plan.n_text, n_eval=plan.n_eval, n_probe=plan.n_probe)
    tok = train_tokenizer(data.corpus_texts(w), vocab_size=plan.vocab, chat_template=chat_template())
    processor, enc = build_processor(tok), data.Encoder(tok)
    pixels = processor.image_processor(w.images, return_tensors="pt")["pixel_values"]
    text = data.text_corpus(w, enc)
    mix, weights = data.stage2_mix(w, enc, seed=seed, cue_share=plan.cue_share, cue_right=plan.cue_right,
                                   text_share=plan.text_share, text=text)
    pools = {"text": text, "stage2": mix}
    pools["stage1"], stage1_weights = data.stage1_pool(w, enc, plan.caption_qa_share)
    base = build_model(plan.sizes, tok, seed=seed)
    losses = train_vision(base, pixels, w.scenes, steps=plan.vision_steps, batch=4 * plan.batch, lr=plan.vision_lr, seed=seed + 1,
                          device=device)
    with torch.no_grad():
        features = torch.cat([patch_features(base, pixels[i : i + 256]) for i in range(0, len(pixels), 256)])
    log_probe = evaluate.conflict_probe(w.probe_scenes[: plan.n_log], w.probe_images[: plan.n_log], seed=plan.seed + PROBE_SEED_OFFSET)
    record = {"vision": {"steps": plan.vision_steps, "batch": 4 * plan.batch, "lr": plan.vision_lr,
                         "loss_first": round(losses[0], 4), "loss_last": round(sum(losses[-10:]) / len(losses[-10:]), 4)},
              "data": {"train_images": plan.n_images, "text_scenes": plan.n_text, "heldout_images": plan.n_eval,
                       "probe_scenes": plan.n_probe, **{f"{k_}_examples": len(v) for k_, v in pools.items()}, "vocab": len(tok)},
              "data_sha256": {"tokenizer": hashlib.sha256(tok.backend_tokenizer.to_str().encode()).hexdigest(),
                              **{k_: data.digest(v) for k_, v in pools.items()}},
              "environment": environment(device),
              "plan": asdict(plan), "seed": k, "train_seed": seed, "world_seed": plan.seed}
    return _Shared(w, processor, pools, weights, stage1_weights, base, features, log_probe, record, device)


def _logged(model: Any, shared: _Shared, stage: dict) -> dict:
    """The stage record with the probe's image, conflict and text-only figures after it (pre-registered log)."""
    return {**stage, "probe_after": evaluate.conflict_figures(model, shared.processor, shared.log_probe, ("image", "conflict", "text"))}


def text_pretrained(plan: Plan, shared: _Shared, cache: Path | None = None) -> tuple[Any, dict]:
    """The base model after text pretraining (decoder only, on the text corpus) and that stage's record; from
    `cache` (a folder of harness.organisms.cache) when it holds this seed's under this plan."""
    k = shared.record["seed"]

    def compute() -> tuple[Any, dict]:
        model = copy.deepcopy(shared.base)
        stage = run_stage(model, Stage("text", plan.text_steps, plan.lr, ("decoder",)), shared.pools["text"],
                          seed=train_seed_of(plan, k) + 10, **_run(plan, shared))
        stage["decoder_sha256"] = _state_digest(model.model.language_model)  # identical for text-first, aligned, frozen
        return model, _logged(model, shared, stage)

    return text_pretrained_cached(cache, entry_key(plan, k, shared.device), shared.base, _state_digest(shared.base), compute)


def _run(plan: Plan, shared: _Shared) -> dict:
    return dict(features=shared.features, batch=plan.batch, pad_id=shared.processor.tokenizer.pad_token_id, device=shared.device)


def history(name: str, plan: Plan, shared: _Shared, pretrained: tuple[Any, dict] | None = None,
            stage1_memo: dict | None = None) -> tuple[Any, list[dict]]:
    """Train history `name` from the shared start (`pretrained`: the text-pretrained model and its record, reused
    by the histories that share it); the model and its stage records. `stage1_memo`: a dict that keeps stage 1's
    model and record for the next history whose stage 1 is the same computation (text-first and frozen: no
    alignment term; the same pool, seed and steps), which starts from a copy of it instead of recomputing it."""
    if name not in HISTORIES:
        raise ValueError(f"history: {name!r} is not a history; give one of {HISTORIES}")
    seed, pools, run = train_seed_of(plan, shared.record["seed"]), shared.pools, _run(plan, shared)
    if name == "joint":
        model = copy.deepcopy(shared.base)
        share = {"text": plan.text_steps, "stage1": plan.caption_steps, "stage2": plan.qa_steps}
        total = sum(share.values())
        stage1 = (shared.stage1_weights * share["stage1"] / total if shared.stage1_weights is not None
                  else _flat(len(pools["stage1"]), share["stage1"] / total))
        weights = torch.cat([_flat(len(pools["text"]), share["text"] / total), stage1, shared.weights * share["stage2"] / total])
        mixed = pools["text"] + pools["stage1"] + pools["stage2"]
        stage = run_stage(model, Stage("joint-mixed", total, plan.lr, ("projector", "decoder")), mixed, seed=seed + 13,
                          weights=weights, **run)
        return model, [_logged(model, shared, stage)]
    base, text_record = pretrained or text_pretrained(plan, shared)
    model = copy.deepcopy(base)
    weight = plan.mmd_weight if name == "aligned" else 0.0
    align = key_alignment(ALIGNED_LAYERS) if weight else None
    stage2_parts = ("projector",) if name == "frozen" else ("projector", "decoder")
    stages = [text_record]
    shares = stage1_memo is not None and not weight  # the alignment term makes stage 1 its own
    if shares and "model" in stage1_memo:
        model = copy.deepcopy(stage1_memo["model"])
        stages.append(stage1_memo["record"])
    else:
        stage1 = run_stage(model, Stage("projector-captions", plan.caption_steps, plan.lr, ("projector",), weight),
                           pools["stage1"], seed=seed + 11, alignment=align, weights=shared.stage1_weights, **run)
        stages.append(_logged(model, shared, {**stage1, "question_share": plan.caption_qa_share}))
        if shares:
            stage1_memo.update(model=copy.deepcopy(model), record=stages[-1])
    stage2 = Stage("stage2-qa", plan.qa_steps, plan.qa_lr, stage2_parts, weight, projector_lr=plan.projector_qa_lr)
    stages.append(_logged(model, shared, run_stage(model, stage2, pools["stage2"], seed=seed + 12, alignment=align,
                                                   weights=shared.weights, **run)))
    return model, stages


def _flat(n: int, mass: float) -> torch.Tensor:
    """`mass` spread evenly over `n` examples (float64 sampling weights)."""
    return torch.full((n,), mass / n, dtype=torch.float64)


def train_seed(k: int, out: Path, plan: Plan, cache: Path | None = None, device: str = "cpu") -> tuple[dict, list[dict]]:
    """Every history of seed `k` in `plan.histories`, start to finish, in this (single-thread) process: records and
    timing laps (`cache`: the folder of text-pretrained models, or None; `device`: where the training steps run)."""
    torch.set_num_threads(1)
    _quiet()
    if device != "cpu":
        _deterministic_gpu()
    clock = _Clock()
    shared = prepare(plan, k, device)
    clock.lap("world, tokenizer, vision tower")
    gated = plan.text_gate is not None
    pretrained = text_pretrained(plan, shared, cache) if set(plan.histories) - {"joint"} or gated else None
    clock.lap("text pretraining" + (" (from the cache)" if pretrained and "cached" in pretrained[1] else ""))
    reading = pretrained[1]["probe_after"]["text_reading"] if gated else None
    if gated and reading < plan.text_gate:  # amendment 3's gate, read before any image is trained
        clock.lap(f"left out by the text-stage gate: text reading {reading} < {plan.text_gate}")
        return {}, clock.laps
    w, records = shared.world, {}
    probe = evaluate.conflict_probe(w.probe_scenes, w.probe_images, seed=plan.seed + PROBE_SEED_OFFSET)
    stage1_memo: dict = {}
    for name in plan.histories:
        model, stages = history(name, plan, shared, pretrained, stage1_memo)
        clock.lap(f"{name}: stages")
        folder = out / folder_name(name, k)
        record = {"organism": name, "history": stages, **shared.record,
                  "alignment_layers": list(ALIGNED_LAYERS) if name == "aligned" else [],
                  "alignment_held_out_layer": HELD_OUT_LAYER if name == "aligned" else None,
                  "alignment_bandwidth_factors": list(BANDWIDTH_FACTORS)}
        save(model, shared.processor, folder, "", record)
        records[folder.name] = evaluate_saved(folder, record, w, probe)
        clock.lap(f"{name}: save and evaluate")
    return records, clock.laps


def evaluate_saved(folder: Path, record: dict, world: data.World, probe: evaluate.Probe) -> dict:
    """Evaluate the organism saved in `folder` as it loads (held-out accuracy on `world`'s held-out scenes, the
    conflict probe), then write those figures into its record and its card (the weights stay as saved); the record."""
    saved, saved_processor = load(folder)
    record["heldout"] = evaluate.heldout_accuracy(saved, saved_processor, world.eval_scenes, world.eval_images)
    record["conflict_probe"] = evaluate.conflict_figures(saved, saved_processor, probe)
    write_record(folder, model_card(record), record)
    return record


def _deterministic_gpu() -> None:
    """Reproducible steps on a GPU (the same weights from run to run on one GPU and software stack; not the CPU's
    weights): deterministic cuBLAS workspaces, deterministic kernels where torch has them (a warning where it has
    none), no TF32."""
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # before the first cuBLAS call of this process
    torch.use_deterministic_algorithms(True, warn_only=True)
    torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.allow_tf32 = False
    torch.backends.cudnn.benchmark = False


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


def manifest_text(root: Path) -> str:
    return "\n".join(manifest_lines(root)) + "\n"


def manifest_digest(root: Path) -> str:
    """sha256 of the manifest `root`'s files have now: what a study of them records, to be matched later."""
    return hashlib.sha256(manifest_text(root).encode()).hexdigest()


def write_manifest(root: Path) -> None:
    (root / "MANIFEST").write_text(manifest_text(root), encoding="utf-8")


class _Clock:
    def __init__(self) -> None:
        self.wall, self.cpu, self.laps = time.perf_counter(), time.process_time(), []

    def lap(self, what: str) -> None:
        wall, cpu = time.perf_counter(), time.process_time()
        self.laps.append({"part": what, "wall_s": round(wall - self.wall, 1), "cpu_s": round(cpu - self.cpu, 1)})
        self.wall, self.cpu = wall, cpu
