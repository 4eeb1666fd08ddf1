"""Interventions on one (model, benchmark): cross-fitted on two halves of the prompts, measured
before and after each intervention, and turned into an InterventionResult.

The unit of sampling is the triple check's (harness.analysis.selection.sample_strata): a prompt, or the prompts
that share an image. The units are split into two halves; each half is measured with the maps
fitted on the other half (two folds), so every prompt is measured and none with a map fitted on its
own keys or its own image. Every interval resamples the measured units.

Figures:
- divergence: the triple check's own estimator (harness.stats.cross_modal_gap on the measured
  units, tokens kept as harness.analysis.triple keeps them): the between-prompt MMD² of image vs text
  pre-RoPE keys at the intervened layer, its sign-flip p-value over units, the intra-modal effects
  between real sub-populations (by language, by category; by position as the fallback), and the
  ratio cross / strongest intra with its unit-bootstrap (Fieller) interval; one RBF bandwidth — the
  one of the keys before — for before and after, so the MMD² are comparable; before and after; and
  the change of the cross-modal MMD² with a paired unit-bootstrap interval (harness.stats.change);
- the others with a paired percentile bootstrap over measured units (harness.stats.paired on
  per-unit weighted means, so the point is the weighted mean over prompts):
- attention_share, logit_gap (text queries) and last_attention_share, last_logit_gap (last prompt
  token) at the intervened layer (harness.intervention.measure);
- accuracy: share of prompts whose highest option letter is the correct one;
- hint_following: share of hinted prompts whose highest option letter is the hint's (wrong) one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace
from typing import Sequence

import numpy as np

from harness.analysis.selection import Selection, sample_strata, select
from harness.benchmarks.prompt import LETTERS
from harness.benchmarks.sample import Sample
from harness.capture.keys import Collector, LayerBank, TokenCaps
from harness.errors import KeyspaceError
from harness.models.labels import MODALITY_NAMES
from harness.models.placement import block_diffusion
from harness.models.adapter import LoadedModel
from harness.models.taps import layer_layout
from harness.analysis.tiers import kernel_figures
from harness.analysis.verdict import decide_gap
from harness.stats import cross_modal_gap
from harness.stats.kernels import MIXTURE_SCALES
from harness.stats.bootstrap import ratio_interval
from harness.stats.gap import GapResult
from harness.stats.change import comparison_change
from harness.stats.paired import paired_effect

from .apply import LabelBook, mapped_bank
from .fit import Intervention, fit_interventions, singular_source, split_prompts
from .measure import Condition, concat_conditions, hint_letter, hinted, measure_batches
from .passes import Batch, encode_batches
from .prefix import Prefixes
from .checks import checks, undecided
from .results import InterventionResult


# Why a block-diffusion model gets no intervention study (its keys are measured; its answers are not where the study reads them).
NOT_NEXT_TOKEN = ("a block-diffusion model writes its answer on a canvas of drawn tokens, not as the next token after the "
                  "prompt, so the intervention study's answers (accuracy, hint-following), read from next-token logits, "
                  "do not exist for it; its keys are measured by the keyspace suite, its interventions are not run")
# The smallest change of the attention share (relative to the share before) that the random-control
# check treats as an effect of `mean`: shares are in units of uniform attention, and 1 % of it is
# well above the bootstrap noise of 30+ prompts yet far below what the claim is about.
MATERIAL = 0.01


@dataclass(frozen=True)
class StudySettings:
    names: tuple[str, ...]  # interventions to run (harness.intervention.fit.KINDS)
    shrinkage: str = "ledoit-wolf"  # covariance of the `moments` target
    seed: int = 0
    batch_size: int = 8
    caps: TokenCaps | None = None  # token caps of the key captures (fit and held-out)
    n_boot: int = 1000  # replicates of the paired unit bootstrap
    ratio_boot: int = 200  # replicates of the divergence ratio interval (the triple check's n_boot)
    level: float = 0.90  # two-sided coverage of every interval
    max_points: int = 1500  # tokens per modality in the divergence (seeded subsample above, as the triple check)
    threshold: float = 1.0  # the model's ratio threshold: `moments` must bring the ratio's lower bound under it
    alpha: float = 0.01  # the model's p-value level (the triple verdict before and after is recorded)
    permutations: int = 1000  # sign flips of the divergence's prompt-level test


@dataclass(frozen=True)
class Fold:
    """Maps fitted on `fit`, measured on `held` (whose hinted forms are `probes`)."""

    fit: list[Sample]
    held: list[Sample]
    probes: list[Sample | None]


@dataclass(frozen=True)
class Encoded:
    """One fold's measured prompts and their hinted forms (those built), in batches encoded once per study."""

    held: list[Batch]
    asked: list[Batch]


@dataclass
class PairStudy:
    """Fitted interventions and measured conditions of one (model, benchmark), filled layer by layer.

    Each prompt is encoded once (`encoded`); the keys are read once per layer, on the condition without
    intervention, and serve both the fits (fold f fits on the keys fold 1 − f measures) and, through each
    map, the conditions with one (harness.intervention.apply.mapped_bank)."""

    loaded: LoadedModel
    benchmark: str
    settings: StudySettings
    folds: tuple[Fold, Fold]  # fold f measures half 1 − f with the maps fitted on half f
    encoded: tuple[Encoded, Encoded]  # per fold
    book: LabelBook
    strata: dict[str, dict[str, str]]  # sample id -> unit, language, category (harness.analysis.selection.sample_strata)
    interventions: dict[int, dict[str, tuple[Intervention, ...]]] = field(default_factory=dict)  # one per fold
    conditions: dict[tuple[int, str], Condition] = field(default_factory=dict)  # (layer, name or "") → figures
    seconds: dict[tuple[int, str], float] = field(default_factory=dict)
    _before_keys: dict[int, tuple[LayerBank, LayerBank]] = field(default_factory=dict)  # layer → each fold's keys before
    _prefixes: dict[int, Prefixes] = field(default_factory=dict)  # the latest layer → states entering it, recorded before
    _before_divergence: dict[int, tuple[tuple, GapResult, dict]] = field(default_factory=dict)  # layer → sides, gap, figures

    @classmethod
    def start(cls, loaded: LoadedModel, samples: Sequence[Sample], benchmark: str, settings: StudySettings) -> "PairStudy":
        if block_diffusion(loaded.model.config):
            raise KeyspaceError(f"{loaded.spec.name}: {NOT_NEXT_TOKEN}")
        strata = sample_strata(samples)
        halves = split_prompts(list(samples), seed=settings.seed, units=[strata[s.id]["unit"] for s in samples])
        folds, encoded, book = [], [], LabelBook()
        for f in (0, 1):
            held = halves[1 - f]
            probes = [hinted(s, c) if (c := hint_letter(s, seed=settings.seed)) else None for s in held]
            folds.append(Fold(halves[f], held, probes))
            encoded.append(Encoded(*(encode_batches(loaded, prompts, batch_size=settings.batch_size)
                                     for prompts in (held, [p for p in probes if p is not None]))))
            for batch in (*encoded[-1].held, *encoded[-1].asked):
                book.add_encoded(batch.inputs, batch.labels, [s.id for s in batch.samples])
        return cls(loaded, benchmark, settings, tuple(folds), tuple(encoded), book, strata)

    @property
    def held(self) -> list[Sample]:
        """Every measured prompt, in the order of the conditions' arrays (fold 0's, then fold 1's)."""
        return [s for fold in self.folds for s in fold.held]

    @property
    def probes(self) -> list[Sample | None]:
        return [p for fold in self.folds for p in fold.probes]

    @property
    def blocks(self) -> dict[str, int]:
        """unit -> fold that measures it: every figure pairs only units measured in one fold, so no
        comparison puts a half's keys beside the keys its own map was fitted on (the other half's)."""
        return {self.strata[x.id]["unit"]: f for f, fold in enumerate(self.folds) for x in fold.held}

    @property
    def held_units(self) -> np.ndarray:
        """[P] unit code of each measured prompt (prompts sharing an image share a code)."""
        return np.unique([self.strata[x.id]["unit"] for x in self.held], return_inverse=True)[1].ravel()

    def fit_layers(self, layers: Sequence[int]) -> None:
        """Fit every intervention at `layers` on each fold's fitting half, from the keys the condition without
        intervention read (fold f's fitting half is the half fold 1 − f measures)."""
        todo = sorted(set(layers) - set(self.interventions))
        config = self.loaded.model.config.get_text_config()
        for layer in todo:
            self.condition(layer)
            start = time.perf_counter()
            heads = layer_layout(self.loaded.adapter, self.loaded.layers[layer], "keys", config)[0]  # the layer's own KV heads
            fitted = [fit_interventions(self._before_keys[layer][1 - f], layer, heads, self.settings.names,
                                        shrinkage=self.settings.shrinkage, seed=self.settings.seed)
                      for f in range(len(self.folds))]
            self.interventions[layer] = {name: tuple(f[name] for f in fitted) for name in self.settings.names}
            self.seconds[(-1, "fit")] = self.seconds.get((-1, "fit"), 0.0) + time.perf_counter() - start

    def condition(self, layer: int, name: str = "") -> Condition:
        """Figures at `layer` with intervention `name` ('' = none), measured once: each fold's held-out
        half with that fold's map (no map for ''). The keys are read without intervention only; with one,
        they are the keys before through the fold's map (harness.intervention.apply.mapped_bank)."""
        if (layer, name) not in self.conditions:
            if name:
                self.fit_layers([layer])
            maps = self.interventions[layer][name] if name else (None,) * len(self.folds)
            start = time.perf_counter()
            s = self.settings
            if layer not in self._prefixes:  # one layer's states at a time (the session asks for a layer's records together);
                self._prefixes = {layer: Prefixes(layer)}  # a layer asked for again is passed in full
            parts = []
            for f, (enc, iv) in enumerate(zip(self.encoded, maps)):
                keys = Collector([layer], s.caps or TokenCaps(), s.seed, prompts=len(self.folds[f].held)) if iv is None else None
                part = measure_batches(self.loaded, enc.held, enc.asked, [p is not None for p in self.folds[f].probes],
                                       layer, self.book, iv, keys=keys, prefix=self._prefixes[layer])
                if iv is not None:
                    part = replace(part, keys=mapped_bank(self._before_keys[layer][f], iv, self.loaded.model.dtype))
                parts.append(part)
            if not name:
                self._before_keys[layer] = tuple(p.keys for p in parts)
            self.conditions[(layer, name)] = concat_conditions(parts)
            self.seconds[(layer, name)] = time.perf_counter() - start
        return self.conditions[(layer, name)]

    def result(self, layer: int, name: str) -> InterventionResult:
        """The record of intervention `name` at `layer`, with its checks decided (see `checks`)."""
        self.fit_layers([layer])
        ivs = self.interventions[layer][name]
        if (why := singular_source(ivs, layer)) is not None:  # an error record with its one line, not a failed fit
            raise KeyspaceError(why)
        kind = ivs[0].kind
        before, after = self.condition(layer), self.condition(layer, name)
        s = self.settings
        if layer not in self._before_divergence:
            sides = _sides(before, self.held, self.strata, s)
            gap = _gap(sides, s, sigma=None, blocks=self.blocks)
            self._before_divergence[layer] = (sides, gap, _figures(gap, s))  # the layer's records share them
        sides_before, gap_before, div_before = self._before_divergence[layer]
        div_before = dict(div_before)
        sides_after = _sides(after, self.held, self.strata, s)
        for side in ("image", "text"):  # the change pairs each token with itself: the same rows must be kept
            (b, b_sample), (a, a_sample) = (getattr(sides_before[0], side), sides_before[1][side]), (getattr(sides_after[0], side), sides_after[1][side])
            if not (np.array_equal(b_sample, a_sample) and np.array_equal(b.position, a.position)):
                raise KeyspaceError(f"intervention {name} at layer {layer}: the {side} tokens kept before and after differ; "
                                    "the token caps must keep the same tokens in both captures (use --ks-max-tokens none or balanced=N)")
        gap_after = _gap(sides_after, s, sigma=div_before["sigma"], blocks=self.blocks)
        div_after = _figures(gap_after, s)
        div_after["vs_before_intra"] = _over_before_intra(gap_after, gap_before, s)
        # the cross-modal Comparisons the two gaps already built: same units, same σ, pairs within a half
        change = comparison_change(gap_before.comparisons[0], gap_after.comparisons[0], n_boot=s.n_boot, level=s.level,
                                   seed=s.seed)
        units = self.held_units
        effects, notes = _effects(before, after, self.held, self.probes, units, s)
        notes.update(undecided(name, div_before, threshold=s.threshold, alpha=s.alpha))
        errors = [iv.fit_error for iv in ivs if iv.fit_error]
        record = InterventionResult(
            model=self.loaded.spec.name, layer=layer, benchmark=self.benchmark, intervention=name,
            control=kind.control, modality=MODALITY_NAMES[kind.modality], description=kind.description,
            n_fit_prompts=[len(f.fit) for f in self.folds], n_held_prompts=len(self.held),
            n_fit_units=[len({self.strata[x.id]["unit"] for x in f.fit}) for f in self.folds], n_held_units=int(units.max()) + 1,
            divergence={"before": div_before, "after": div_after, "change": change.as_dict()}, effects=effects, notes=notes,
            map={"description": ivs[0].map.description, "shift_norm": [[float(v) for v in iv.map.shift_norms()] for iv in ivs],
                 "shrinkage": s.shrinkage if kind.how == "moments" else None,
                 "fit_error": {k: max(e[k] for e in errors) for k in errors[0]} if errors else {}},
            seconds={"before": self.seconds.get((layer, "")), "after": self.seconds.get((layer, name)),
                     "fit": self.seconds.get((-1, "fit"))},
            settings={"seed": s.seed, "level": s.level, "n_boot": s.n_boot, "ratio_boot": s.ratio_boot, "folds": len(self.folds),
                      "threshold": s.threshold, "alpha": s.alpha, "permutations": s.permutations, "max_points": s.max_points},
        )
        if name == "random" and "mean" in self.interventions[layer]:
            vs = _against(self.condition(layer, "mean"), after, before, units, s)
            record.effects["random_vs_mean_attention"] = vs
            if not vs["mean_moves"]:
                record.notes["random_vs_mean_attention"] = (
                    f"`mean` moves the attention share by less than {MATERIAL:.0%} of it (or not significantly); "
                    "the random control has no effect to differ from"
                )
        return record.decided(checks(record))


def _sides(cond: Condition, held: list[Sample], strata: dict[str, dict[str, str]], s: StudySettings) -> tuple[Selection, dict]:
    """The keys of `cond` as the triple check keeps them (``analysis.selection.select``), and the kept tokens'
    sample indices per side (so two captures can be shown to keep the same tokens)."""
    sel = select(cond.keys, [x.id for x in held], strata, max_points=s.max_points, seed=s.seed)
    sample = cond.keys.sample.cpu()
    return sel, {"image": sample[sel.image_rows].numpy(), "text": sample[sel.text_rows].numpy()}


def _divergence(cond: Condition, held: list[Sample], strata: dict[str, dict[str, str]], s: StudySettings, *,
                sigma: float | None, blocks: dict | None = None) -> dict:
    """The triple check's figures (harness.analysis.triple.analyze_layer) of the measured keys in `cond`, with
    the RBF σ given (None: the median heuristic on these keys); `blocks`: unit -> fold (see PairStudy.blocks)."""
    return _figures(_gap(_sides(cond, held, strata, s), s, sigma=sigma, blocks=blocks), s)


def _gap(sides: tuple[Selection, dict], s: StudySettings, *, sigma: float | None, blocks: dict | None) -> GapResult:
    image, text = sides[0].image, sides[0].text
    if len(image.x) < 4 or len(text.x) < 4 or len(set(image.units) & set(text.units)) < 2:
        raise KeyspaceError("intervention: the measured prompts need image and text tokens (4 or more each) in at least 2 units holding both")
    return cross_modal_gap(
        image, text, sigma=sigma, permutations=s.permutations, n_boot=s.ratio_boot, level=s.level, seed=s.seed, blocks=blocks,
        kernel_scales=MIXTURE_SCALES,  # the verdict's kernel (harness.analysis.verdict)
    )


def _figures(gap: GapResult, s: StudySettings) -> dict:
    """The gap's figures and the one verdict on them, as the triple check records them: the ratio and its
    interval are the kernel-mean tier's (harness.analysis.tiers.kernel_figures; the gap's own where no
    real split exists, then a figure only)."""
    r = gap.interval
    verdict, kernel = decide_gap(gap, threshold=s.threshold, alpha=s.alpha, n_boot=s.ratio_boot, level=s.level, seed=s.seed)
    fig = kernel_figures(kernel, gap)
    ci = fig["interval"] or {"low": r.low, "high": r.high, "saturated": r.saturated}
    return {"mmd2": gap.mmd2, "mmd2_low": r.cross_low, "mmd2_high": r.cross_high, "p_value": gap.p_value,
            "intra": r.intra_mmd2, "strongest": kernel.binding if kernel.splits else r.strongest, "intra_effects": dict(gap.intra),
            "intra_basis": gap.intra_basis, "ratio": fig["ratio"], "low": ci["low"], "high": ci["high"], "saturated": ci["saturated"],
            "sigma": gap.sigma, "units": gap.units, "n_image": gap.n_image, "n_text": gap.n_text,
            "triple_passes": verdict.passed, "tier": verdict.tier, "outcome": verdict.outcome}


def _over_before_intra(after: GapResult, before: GapResult, s: StudySettings) -> dict:
    """Ratio of the cross-modal MMD² after over the strongest intra-modal effect BEFORE, with its unit
    bootstrap (Fieller) interval, both on the same resampled units (harness.stats.bootstrap.ratio_interval).

    The intra-modal level is a property of the model's own keys (how much text keys differ between
    languages, image keys between categories); a map that moves image keys also changes the image
    intra-modal effects measured after it, so the level the gap must reach is the one before."""
    r, _ = ratio_interval(after.comparisons[0], before.comparisons[1], n_boot=s.ratio_boot, level=s.level, seed=s.seed)
    return {"ratio": r.ratio, "low": r.low, "high": r.high, "intra": r.intra_mmd2, "strongest": r.strongest,
            "saturated": r.saturated}


def _unit_effect(before, after, weights, units: np.ndarray, s: StudySettings) -> dict:
    """paired_effect over units: each unit's weighted mean of its prompts' figures (prompts where
    either figure is missing left out of both), weighted by its prompts' total weight, so the point is
    the weighted mean over prompts and the interval resamples units."""
    b, a = np.asarray(before, dtype=np.float64), np.asarray(after, dtype=np.float64)
    w = np.ones_like(b) if weights is None else np.asarray(weights, dtype=np.float64)
    w = np.where(np.isfinite(b) & np.isfinite(a), w, 0.0)
    n = int(units.max()) + 1 if len(units) else 0
    total = np.bincount(units, w, minlength=n)
    with np.errstate(invalid="ignore", divide="ignore"):
        ub, ua = (np.bincount(units, w * np.nan_to_num(v), minlength=n) / total for v in (b, a))
    return paired_effect(ub, ua, total, n_boot=s.n_boot, level=s.level, seed=s.seed).as_dict()


def _share_change(before: Condition, after: Condition) -> tuple[np.ndarray, np.ndarray]:
    return after.share - before.share, np.minimum(before.share_weight, after.share_weight)


def _against(mean: Condition, other: Condition, before: Condition, units: np.ndarray, s: StudySettings) -> dict:
    """Paired effect whose `change` is Δshare(mean) − Δshare(other), per unit, with its interval."""
    d_mean, w_mean = _share_change(before, mean)
    d_other, w_other = _share_change(before, other)
    out = _unit_effect(d_other, d_mean, np.minimum(w_mean, w_other), units, s)
    moved = _unit_effect(before.share, mean.share, w_mean, units, s)
    out["mean_moves"] = bool(
        not moved["change_low"] <= 0 <= moved["change_high"] and abs(moved["change"]) >= MATERIAL * abs(moved["before"])
    )
    return out


def _effects(before: Condition, after: Condition, held: list[Sample], probes: list, units: np.ndarray,
             s: StudySettings) -> tuple[dict, dict]:
    """`units[i]`: unit code of held-out prompt i (0..U-1); every interval resamples units."""
    def eff(a, b, w=None):
        return _unit_effect(a, b, w, units, s)

    effects = {
        "attention_share": eff(before.share, after.share, np.minimum(before.share_weight, after.share_weight)),
        "logit_gap": eff(before.logit_gap, after.logit_gap, np.minimum(before.share_weight, after.share_weight)),
        "last_attention_share": eff(before.last_share, after.last_share),
        "last_logit_gap": eff(before.last_logit_gap, after.last_logit_gap),
    }
    notes = {}
    if before.answers is None or after.answers is None:
        notes["accuracy"] = notes["hint_following"] = "the benchmark's prompts have no options to answer with"
    elif (before.answers.plain < 0).all():
        notes["accuracy"] = notes["hint_following"] = "an option letter is not one token of this tokenizer"
    else:
        correct = np.array([_letter_index(x) for x in held])
        known = (correct >= 0) & (before.answers.plain >= 0)
        effects["accuracy"] = eff(np.where(known, before.answers.plain == correct, np.nan),
                                  np.where(known, after.answers.plain == correct, np.nan))
        if known.any():  # what guessing scores: the mean of 1 / options over the prompts counted
            effects["accuracy"]["chance"] = float(np.mean([1.0 / len(x.options) for x, k in zip(held, known) if k]))
        hint = np.array([-1 if p is None else LETTERS.find(p.meta["hint_letter"]) for p in probes])
        asked = hint >= 0
        if asked.any():
            effects["hint_following"] = eff(np.where(asked, before.answers.hinted == hint, np.nan),
                                            np.where(asked, after.answers.hinted == hint, np.nan))
        else:
            notes["hint_following"] = "no held-out prompt has options and a known correct letter to contradict"
    return effects, notes


def _letter_index(sample: Sample) -> int:
    """Index of the sample's answer among its option letters; -1 for an open or unknown answer."""
    letters = LETTERS[: len(sample.options)]
    return letters.index(sample.answer) if sample.answer and len(sample.answer) == 1 and sample.answer in letters else -1
