"""Interventions on one (model, benchmark): fit on one half of the prompts, measure the other half
before and after each intervention, and turn each into an InterventionResult.

Figures (each with a paired percentile bootstrap interval over held-out prompts, harness.stats.paired):
- divergence: cross-modal MMD² and ratio to the strongest intra-modal baseline of the pre-RoPE keys at
  the intervened layer (harness.stats.bootstrap_ratio_interval, one RBF bandwidth — the one of the
  keys before — for before and after, so the MMD² are comparable), before and after;
- attention_share, logit_gap (text queries) and last_attention_share, last_logit_gap (last prompt
  token) at the intervened layer (harness.intervention.measure);
- accuracy: share of prompts whose highest option letter is the correct one;
- hint_following: share of hinted prompts whose highest option letter is the hint's (wrong) one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from harness.benchmarks.prompt import LETTERS
from harness.benchmarks.sample import Sample
from harness.capture import TokenCaps, capture_keys
from harness.errors import KeyspaceError
from harness.labels import IMAGE, MODALITY_NAMES, TEXT
from harness.models.adapter import LoadedModel
from harness.stats import bootstrap_ratio_interval
from harness.stats.paired import paired_difference, paired_effect

from .apply import LabelBook
from .fit import Intervention, fit_interventions, split_prompts
from .measure import Condition, hint_letter, hinted, measure
from .results import InterventionResult


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
    n_boot: int = 1000  # replicates of the paired prompt bootstrap
    ratio_boot: int = 200  # replicates of the divergence ratio interval
    level: float = 0.90  # two-sided coverage of every interval
    max_points: int = 1500  # pooled tokens in the divergence's kernel matrix (seeded subsample above)
    threshold: float = 1.0  # the model's ratio threshold: `moments` must bring the ratio's lower bound under it


@dataclass
class PairStudy:
    """Fitted interventions and measured conditions of one (model, benchmark), filled layer by layer."""

    loaded: LoadedModel
    benchmark: str
    settings: StudySettings
    fit: list[Sample]
    held: list[Sample]
    probes: list[Sample | None]  # hinted form of each held-out prompt
    book: LabelBook
    interventions: dict[int, dict[str, Intervention]] = field(default_factory=dict)
    conditions: dict[tuple[int, str], Condition] = field(default_factory=dict)  # (layer, name or "") → figures
    seconds: dict[tuple[int, str], float] = field(default_factory=dict)
    _before_divergence: dict[int, dict] = field(default_factory=dict)

    @classmethod
    def start(cls, loaded: LoadedModel, samples: Sequence[Sample], benchmark: str, settings: StudySettings) -> "PairStudy":
        fit, held = split_prompts(list(samples), seed=settings.seed)
        probes = [hinted(s, c) if (c := hint_letter(s, seed=settings.seed)) else None for s in held]
        book = LabelBook().add(loaded, [*fit, *held, *[p for p in probes if p is not None]])
        return cls(loaded, benchmark, settings, fit, held, probes, book)

    def fit_layers(self, layers: Sequence[int]) -> None:
        """Fit every intervention at `layers` from one capture of the fitting half."""
        todo = sorted(set(layers) - set(self.interventions))
        if not todo:
            return
        start = time.perf_counter()
        bank = capture_keys(self.loaded, self.fit, todo, benchmark=self.benchmark, batch_size=self.settings.batch_size,
                            kind="keys", max_tokens=self.settings.caps, seed=self.settings.seed)
        for layer in todo:
            self.interventions[layer] = fit_interventions(
                bank.layers[layer], layer, bank.num_key_value_heads, self.settings.names,
                shrinkage=self.settings.shrinkage, seed=self.settings.seed,
            )
        self.seconds[(-1, "fit")] = time.perf_counter() - start

    def condition(self, layer: int, name: str = "") -> Condition:
        """Figures at `layer` with intervention `name` ('' = none), measured once."""
        if (layer, name) not in self.conditions:
            self.fit_layers([layer])
            iv = self.interventions[layer][name] if name else None
            start = time.perf_counter()
            self.conditions[(layer, name)] = measure(
                self.loaded, self.held, self.probes, layer, self.book, iv, batch_size=self.settings.batch_size,
                caps=self.settings.caps, seed=self.settings.seed, benchmark=self.benchmark,
            )
            self.seconds[(layer, name)] = time.perf_counter() - start
        return self.conditions[(layer, name)]

    def result(self, layer: int, name: str) -> InterventionResult:
        """The record of intervention `name` at `layer`, with its checks decided (see `checks`)."""
        self.fit_layers([layer])
        iv = self.interventions[layer][name]
        before, after = self.condition(layer), self.condition(layer, name)
        s = self.settings
        if layer not in self._before_divergence:
            self._before_divergence[layer] = _divergence(before, s, sigma=None)
        div_before = self._before_divergence[layer]
        div_after = _divergence(after, s, sigma=div_before["sigma"])
        effects, notes = _effects(before, after, self.held, self.probes, s)
        record = InterventionResult(
            model=self.loaded.spec.name, layer=layer, benchmark=self.benchmark, intervention=name,
            control=iv.kind.control, modality=MODALITY_NAMES[iv.kind.modality], description=iv.kind.description,
            n_fit_prompts=len(self.fit), n_held_prompts=len(self.held),
            divergence={"before": div_before, "after": div_after}, effects=effects, notes=notes,
            map={"description": iv.map.description, "shift_norm": [float(v) for v in iv.map.shift_norms()],
                 "shrinkage": s.shrinkage if iv.kind.how == "moments" else None},
            seconds={"before": self.seconds.get((layer, "")), "after": self.seconds.get((layer, name)),
                     "fit": self.seconds.get((-1, "fit"))},
            settings={"seed": s.seed, "level": s.level, "n_boot": s.n_boot, "ratio_boot": s.ratio_boot,
                      "threshold": s.threshold, "max_points": s.max_points},
        )
        if name == "random" and "mean" in self.interventions[layer]:
            vs = _against(self.condition(layer, "mean"), after, before, s)
            record.effects["random_vs_mean_attention"] = vs
            if not vs["mean_moves"]:
                record.notes["random_vs_mean_attention"] = (
                    f"`mean` moves the attention share by less than {MATERIAL:.0%} of it (or not significantly); "
                    "the random control has no effect to differ from"
                )
        return record.decided(checks(record))


def _divergence(cond: Condition, s: StudySettings, *, sigma: float | None) -> dict:
    bank = cond.keys
    image, text = bank.select(IMAGE), bank.select(TEXT)
    if len(np.unique(image.sample)) < 2 or len(np.unique(text.sample)) < 2:
        raise KeyspaceError("intervention: the held-out half needs image and text tokens in at least 2 prompts each")
    r = bootstrap_ratio_interval(
        image.vectors, text.vectors, image.sample.numpy(), text.sample.numpy(), n_boot=s.ratio_boot, level=s.level,
        seed=s.seed, sigma=sigma, max_points=s.max_points,
    )
    return {"mmd2": r.cross_mmd2, "intra": r.intra_mmd2, "ratio": r.ratio, "low": r.low, "high": r.high,
            "sigma": r.sigma, "n_points": r.n_points}


def _share_change(before: Condition, after: Condition) -> tuple[np.ndarray, np.ndarray]:
    return after.share - before.share, np.minimum(before.share_weight, after.share_weight)


def _against(mean: Condition, other: Condition, before: Condition, s: StudySettings) -> dict:
    """Paired effect whose `change` is Δshare(mean) − Δshare(other), per prompt, with its interval."""
    d_mean, w_mean = _share_change(before, mean)
    d_other, w_other = _share_change(before, other)
    out = paired_difference(d_mean, d_other, np.minimum(w_mean, w_other), n_boot=s.n_boot, level=s.level, seed=s.seed).as_dict()
    moved = paired_effect(before.share, mean.share, w_mean, n_boot=s.n_boot, level=s.level, seed=s.seed)
    out["mean_moves"] = bool(
        not moved.change_low <= 0 <= moved.change_high and abs(moved.change) >= MATERIAL * abs(moved.before)
    )
    return out


def _effects(before: Condition, after: Condition, held: list[Sample], probes: list, s: StudySettings) -> tuple[dict, dict]:
    def eff(a, b, w=None):
        return paired_effect(a, b, w, n_boot=s.n_boot, level=s.level, seed=s.seed).as_dict()

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


def checks(r: InterventionResult) -> list[str]:
    """What must hold, as failure messages (empty: all hold):
    - every intervention but `random` makes the cross-modal MMD² fall;
    - `moments` brings the image keys to the intra-modal level by the triple check's own rule: the lower
      bound of the ratio (cross-modal / strongest intra-modal MMD²) is under the model's threshold, so
      the gap is no longer told apart from the intra-modal baselines (a point ratio near 1 is noise-level:
      at layer 0 of two twins it was 1.02 and 1.11 with lower bounds 0.1 and 0.2);
    - where `mean` moves the text queries' attention share (its interval excludes 0 and the change is at
      least MATERIAL of the share before), `random` does not move it the same way: the paired interval of
      Δshare(mean) − Δshare(random) excludes 0. Where `mean` does not move it, there is nothing the
      control must differ from, and the record's notes say so."""
    problems = []
    b, a = r.divergence["before"], r.divergence["after"]
    if r.intervention != "random" and not a["mmd2"] < b["mmd2"]:
        problems.append(f"cross-modal MMD² did not fall: {b['mmd2']:.4g} → {a['mmd2']:.4g}")
    if r.intervention == "moments" and not a["low"] < r.settings["threshold"]:
        problems.append(
            f"ratio after {a['ratio']:.3g} [{a['low']:.3g}, {a['high']:.3g}]: its lower bound is not under "
            f"{r.settings['threshold']:g}, so the image keys still lie beyond the intra-modal level"
        )
    vs = r.effects.get("random_vs_mean_attention")
    if vs is not None and vs.get("mean_moves") and vs["change_low"] <= 0 <= vs["change_high"]:
        problems.append(
            f"the random direction moves attention share as the mean shift does: Δ(mean) − Δ(random) "
            f"{vs['change']:.3g} [{vs['change_low']:.3g}, {vs['change_high']:.3g}] includes 0"
        )
    return problems
