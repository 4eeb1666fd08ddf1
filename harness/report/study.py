"""The organisms study's section of the report: the pre-registered answers (docs/organisms.md) with the figures
they rest on, from the summary the run recorded (harness.results.study; run metadata "organisms_study").
Everything is formatted here; the template only places it."""

from __future__ import annotations

from .table import fmt

QUESTIONS = {"q1": "Does the key-space gap track history (text-first's image–text MMD² above joint's)?",
             "q2": "Is excess text reliance caused by where image keys lie?"}
ANSWERS = {"refuted": "refuted as stated"}  # the rule's own words (docs/organisms.md)
FIGURE_NAMES = {"mmd2": "MMD² image–text", "auc": "held-out AUC image vs text",
                "attention_share": "image attention share (text queries)", "last_attention_share": "image attention share (answer position)"}


def _answer(q: dict) -> str:
    return _word(q["answer"])


def _word(answer: str) -> str:
    return ANSWERS.get(answer, answer)


def _ci(d: dict, digits: int = 3) -> str:
    return f"{fmt(d['value'], digits)} [{fmt(d['low'], digits)}, {fmt(d['high'], digits)}]"


def sentence(study: dict | None) -> str | None:
    """The one line the report's answer block carries; None without a study."""
    if not study:
        return None
    if "problem" in study:
        return f"organisms study: {study['source']} {study['problem']}."
    where = "" if study["matches"] else " (WARNING: of other files than the organisms' folder holds now)"
    return (f"organisms study{where}, {len(study['organisms'])} organisms, pre-registered rule: "
            f"key-space gap tracks history: {_answer(study['q1'])}; text reliance caused by where image keys lie: "
            f"{_answer(study['q2'])}{_amended_clause(study.get('amended'))} (section \"Causal study\").")


def _amended_clause(amended: dict | None) -> str:
    if not amended:
        return ""
    if "problem" in amended:
        return f"; amendment 4's study {amended['source']} {amended['problem']}"
    pooled = amended["readings"][0] if amended["readings"] else None
    if pooled is None:
        return ""
    where = "" if amended["matches"] else " (WARNING: of other files than its manifest)"
    return (f"; with amendment 4's seeds{where} ({amended['n']} organisms): gap tracks history: {_word(pooled['q1'])}, "
            f"text reliance caused by where image keys lie: {_word(pooled['q2'])}")


def amended_view(amended: dict | None) -> dict | None:
    """Amendment 4's readings side by side, as the section shows them; None without them."""
    if not amended:
        return None
    if "problem" in amended:
        return {"problem": f"{amended['source']}: {amended['problem']}"}
    return {"source": amended["source"], "matches": amended["matches"], "n": amended["n"],
            "rows": [{"reading": r["reading"], "seeds": r["seeds"], "q1": _word(r["q1"]),
                      "q2": _word(r["q2"]), "relative": _ci(r["relative"], 2), "layers_above": r["layers_above"],
                      "premise": _ci(r["premise"], 2), "rho_mmd2": _ci(r["rho_mmd2"], 2), "rho_attention": _ci(r["rho_attention"], 2),
                      "alignment": (_ci(r["aligned_follows"], 2) if "aligned_follows" in r else r["aligned_not_run"]),
                      "intervention": ", ".join(r["intervention"]) if isinstance(r["intervention"], list) else r["intervention"]}
                     for r in amended["readings"]]}


def study_view(study: dict | None) -> dict | None:
    """What the "Causal study" section shows; None without a study."""
    if not study:
        return None
    if "problem" in study:
        return {"problem": f"{study['source']}: {study['problem']}"}
    q1, q2 = study["q1"], study["q2"]
    arms = q2["intervention"]
    return {
        "source": study["source"], "matches": study["matches"], "n": len(study["organisms"]),
        "amended": amended_view(study.get("amended")),
        "answers": [
            {"question": QUESTIONS["q1"], "answer": _answer(q1),
             "because": f"text-first above joint at {q1['layers_above']} of {len(q1['per_layer'])} layers (supported needs 3); "
                        f"relative difference, layer mean, {_ci(q1['relative'], 2)} (refuted as stated when its upper bound < +0.10)"},
            {"question": QUESTIONS["q2"], "answer": _answer(q2),
             "because": f"premise (text-first − joint cue-following) {_ci(q2['premise'], 2)}; "
                        f"ρ(MMD², cue-following) {_ci(q2['correlations']['mmd2'], 2)} (supports needs it above 0); "
                        + (f"aligned − text-first: MMD² {_ci(q2['aligned_mmd2'], 2)}, cue-following {_ci(q2['aligned_follows'], 2)}; "
                           if "aligned_mmd2" in q2 else f"alignment arm {q2['aligned_not_run']}; ")
                        + f"intervention arm per text-first seed: {', '.join(arms) if isinstance(arms, list) else arms}"
                        + ("; at the floor (cue-following < 0.05)" if q2["at_floor"] else "")},
        ],
        "layers": [f"L{d['layer']}" for d in q1["per_layer"]],
        "q1_rows": [{"layer": f"L{d['layer']}", "text_first": fmt(d["text_first"], 3), "joint": fmt(d["joint"], 3), "diff": _ci(d)}
                    for d in q1["per_layer"]],
        "histories": [{"history": h["history"], "seeds": h["seeds"], "mmd2_layers": [fmt(x, 3) for x in h["mmd2_layers"]],
                       "mmd2": fmt(h["mmd2"], 3), "auc": fmt(h["auc"], 3),
                       "follows": f"{fmt(h['follows_cue'], 2)} ({fmt(h['follows_range'][0], 2)}–{fmt(h['follows_range'][1], 2)})",
                       "accuracy": fmt(h["accuracy"], 2), "text_reading": fmt(h["text_reading"], 2),
                       "image_reliance": fmt(h["image_reliance"], 2)} for h in study["histories"]],
        "correlations": [{"figure": FIGURE_NAMES.get(f, f), "rho": _ci(d, 2)} for f, d in q2["correlations"].items()],
        "arms": [{"organism": a["organism"], "before": fmt(a["before"], 2), "ot": _ci(a["ot"], 2),
                  "accuracy": fmt(a["ot_accuracy"], 2), "beyond_random": _ci(a["beyond_random"], 2),
                  "beyond_logit": _ci(a["beyond_logit"], 2), "reversed": fmt(a["reversed"], 2),
                  "early": fmt(a["early"], 2), "late": fmt(a["late"], 2), "floor": a["floor"],
                  "bias": "; ".join(f"{b}: {_ci(d, 2)}" for b, d in a.get("bias", {}).items()) or "not run"} for a in study["arms"]],
    }
