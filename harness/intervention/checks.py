"""What an intervention test asserts (`checks`) and when the data cannot decide a check (`undecided`).

Both read only an InterventionResult's figures (harness.intervention.run makes them), so a record can
be re-judged without a model.
"""

from __future__ import annotations

from .results import InterventionResult


def undecided(name: str, before: dict, *, threshold: float, alpha: float) -> dict:
    """Notes for the divergence checks the data cannot decide (see `checks`): both need the finding
    before, by the triple check's own verdict on the measured units (harness.analysis.verdict: the kernel-mean tier; p < alpha and each real split's lower bound
    ≥ the threshold); without it there is no gap beyond the intra-modal effects for a map to close."""
    if name == "random" or before["triple_passes"]:
        return {}
    outcome = f"{before['tier']} tier {before['outcome']}; " if "outcome" in before else ""
    why = (f"before, the triple check does not find the gap here ({outcome}p {before['p_value']:.3g}, ratio {before['ratio']:.3g} "
           f"[{before['low']:.3g}, {before['high']:.3g}]; it needs p < {alpha:g} and the lower bound ≥ {threshold:g}): "
           "there is no gap beyond the intra-modal effects to close, so ")
    notes = {"divergence_change": why + "whether the cross-modal MMD² falls is not checked"}
    if name == "moments":
        notes["divergence"] = why + "reaching the intra-modal level is not checked"
    return notes


# A map that does what it says matches the target's moments on its fitting data to rounding; 1e-6 leaves
# room for float64 eigendecompositions of ill-conditioned covariances and still catches a wrong map.
FIT_TOLERANCE = 1e-6


def checks(r: InterventionResult) -> dict[str, str]:
    """What must hold, as failure messages by check (empty: all hold):
    - fit: on each fold's fitting half, the mapped keys have the target's mean (`mean`, `moments` and
      their text controls) and covariance (`moments`), to FIT_TOLERANCE (harness.stats.recolour.fit_error):
      the map does what it says where it was fitted;
    - every intervention but `random` makes the cross-modal MMD² fall on the measured (held-out) units:
      the upper bound of the paired unit-bootstrap interval of MMD²_after − MMD²_before is under 0;
    - `moments` brings the image keys to the intra-modal level by the triple check's rule: the lower bound
      of the ratio cross-modal MMD² after / strongest intra-modal MMD² before (`_over_before_intra`: the
      intra-modal level is the model's own, which the map would change) is under the model's threshold;
      both decided where the triple check finds the gap before, on the same units (else a note: with
      no gap beyond the intra-modal effects, there is nothing for a map to close);
    - where `mean` moves the text queries' attention share (its interval excludes 0 and the change is at
      least run.MATERIAL of the share before), `random` does not move it the same way: the paired interval of
      Δshare(mean) − Δshare(random) excludes 0. Where `mean` does not move it, there is nothing the
      control must differ from, and the record's notes say so."""
    problems: dict[str, str] = {}
    for what, err in r.map.get("fit_error", {}).items():
        if not err <= FIT_TOLERANCE:
            problems[f"fit_{what}"] = (f"on its fitting half the map misses the target's {'covariance' if what == 'cov' else 'mean'} "
                                       f"by {err:.3g} (relative; tolerance {FIT_TOLERANCE:g})")
    b, a, c = r.divergence["before"], r.divergence["after"], r.divergence.get("change")
    if r.intervention != "random" and "divergence_change" not in r.notes and c is not None and not c["change_high"] < 0:
        problems["divergence_change"] = (f"cross-modal MMD² did not fall: {b['mmd2']:.4g} → {a['mmd2']:.4g}, change {c['change']:.3g} "
                                         f"[{c['change_low']:.3g}, {c['change_high']:.3g}] does not exclude 0")
    level = a.get("vs_before_intra", a)  # records before the ratio over the intra-modal effects before: the ratio after
    if r.intervention == "moments" and "divergence" not in r.notes and not level["low"] < r.settings["threshold"]:
        problems["divergence"] = (
            f"cross-modal MMD² after over the strongest intra-modal effect before {level['ratio']:.3g} "
            f"[{level['low']:.3g}, {level['high']:.3g}]: its lower bound is not under {r.settings['threshold']:g}, "
            "so the held-out image keys still lie beyond the intra-modal level"
        )
    vs = r.effects.get("random_vs_mean_attention")
    if vs is not None and vs.get("mean_moves") and vs["change_low"] <= 0 <= vs["change_high"]:
        problems["random_vs_mean_attention"] = (
            f"the random direction moves attention share as the mean shift does: Δ(mean) − Δ(random) "
            f"{vs['change']:.3g} [{vs['change_low']:.3g}, {vs['change_high']:.3g}] includes 0"
        )
    return problems
