"""What a record's vectors are (`--ks-capture`, kept in `extra["kind"]`; `--ks-heads`, kept in `extra["head"]`),
in the words the report and the console use for them, so that a run of values or queries is never described
as keys, nor one head's slice as the whole vector.

The kinds are harness.models.taps.KINDS (kept in step by a test; repeated here so that reading records
loads no model library). Records written before the kind was recorded are keys, the only kind then.
"""

from __future__ import annotations

from typing import Iterable, NamedTuple

from .records import TripleResult

DEFAULT = "keys"
SYNTHETIC = "synthetic"  # the model name of the synthetic-shift control's records: generated data, captured from no model
SPECIAL_AS_TEXT = "text with template and special tokens"  # extra["text_side"] under --ks-special-as-text
QUERY_KINDS = ("queries", "rotated-queries")  # cut into query heads; every other kind into key/value heads


class Words(NamedTuple):
    """How the report and the console speak of one capture kind."""

    noun: str  # plural, as in "image keys"
    term: str  # the Definitions' entry
    what: str  # what one vector is
    source: str  # where it is read, short


WORDS = {
    "keys": Words("keys", "Key", "the output of a decoder layer's k_proj for one token, before rotary position embedding, "
                  "all key/value heads concatenated (num_key_value_heads × head_dim numbers)", "k_proj outputs"),
    "queries": Words("queries", "Query", "the output of a decoder layer's q_proj for one token, before rotary position "
                     "embedding, all query heads concatenated (num_attention_heads × head_dim numbers)", "q_proj outputs"),
    "values": Words("values", "Value", "the output of a decoder layer's v_proj for one token, all key/value heads "
                    "concatenated (num_key_value_heads × head_dim numbers)", "v_proj outputs"),
    "rotated-keys": Words("rotated keys", "Rotated key", "the key states of one token exactly as the attention function "
                          "receives them (after rotary or multimodal rotary position embedding, before GQA repetition), "
                          "all key/value heads concatenated", "keys after RoPE"),
    "rotated-queries": Words("rotated queries", "Rotated query", "the query states of one token exactly as the attention "
                             "function receives them (after rotary or multimodal rotary position embedding), all query "
                             "heads concatenated", "queries after RoPE"),
}


def kind_of(r: TripleResult) -> str:
    """The record's capture kind (keys where it names none, or one this version does not know)."""
    kind = r.extra.get("kind") if isinstance(r.extra, dict) else None
    return kind if kind in WORDS else DEFAULT


def kinds_of(results: Iterable[TripleResult]) -> list[str]:
    """The capture kinds of `results` (the synthetic control's left out), each once, in WORDS' order (["keys"] for
    none)."""
    found = {kind_of(r) for r in results if r.model != SYNTHETIC}
    return [k for k in WORDS if k in found] or [DEFAULT]


def noun(results: Iterable[TripleResult]) -> str:
    """What the records' vectors are called, plural: "keys", "values", or "keys and values" for a mix."""
    return named(kinds_of(results))


def head_of(r: TripleResult) -> int | None:
    """The one head whose slice of the vector the record measured (`--ks-heads`), None for the whole vector."""
    head = r.extra.get("head") if isinstance(r.extra, dict) else None
    return head if isinstance(head, int) and not isinstance(head, bool) else None


def _heads_said(kinds: Iterable[str], heads: list[int]) -> str:
    """"KV head 1 only", "query heads 0 and 2 only" ("query" where every kind is one of QUERY_KINDS)."""
    which = "query" if set(kinds) <= set(QUERY_KINDS) else "KV"
    return f"{which} head{'s' if len(heads) > 1 else ''} {' and '.join(map(str, heads))} only"


def scope(results: Iterable[TripleResult]) -> str:
    """What the records measured beyond the defaults, "" for none (whole vectors, text tokens as labelled):
    which head ("KV head 1 only"; query heads for queries; "KV heads 0 and 1 only" for several) and whether
    the text side held the template and special tokens (--ks-special-as-text); "some records ..." for a mix;
    joined by "; "."""
    rs = [r for r in results if r.model != SYNTHETIC]
    parts = []
    heads = sorted({h for h in map(head_of, rs) if h is not None})
    if heads:
        said = _heads_said(kinds_of(rs), heads)
        parts.append(said if all(head_of(r) is not None for r in rs) else f"some records {said}")
    special = [r.extra.get("text_side") == SPECIAL_AS_TEXT for r in rs]
    if any(special):
        parts.append(SPECIAL_AS_TEXT if all(special) else f"some records {SPECIAL_AS_TEXT}")
    return "; ".join(parts)


def measured(kind: str, head: int | None, special_as_text: bool) -> str:
    """What a run measures, for the line at its start: "values (v_proj outputs) of KV head 1 only; text side: the
    benchmark's text tokens"."""
    heads = _heads_said([kind], [head]) if head is not None else f"all {'query' if kind in QUERY_KINDS else 'KV'} heads"
    text = SPECIAL_AS_TEXT if special_as_text else "the benchmark's text tokens"
    return f"{WORDS[kind].noun} ({WORDS[kind].source}) of {heads}; text side: {text}"


def named(kinds: Iterable[str]) -> str:
    """The plural noun of these capture kinds, joined ("keys and values")."""
    names = [WORDS[k].noun for k in kinds]
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
