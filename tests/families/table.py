"""docs/families.md's table of families, measured as a user runs them: each tiny checkpoint of
tests/families (saved, then loaded through `hf:DIR`) through the default suite's triple and control tests at
its first self-attention layer, over the fixture's 72 prompts.

    python tests/families/table.py --update docs/families.md        # every family (torchvision ones need it)
    python tests/families/table.py gemma4 molmo2                     # print these rows only

Per family: text tokens labelled / the benchmark text's own count and special tokens (the triple's label
check, before token caps), image tokens (the adapter's labels over all 72 prompts, before caps), and the
text-as-image control's outcome with its lower bound. The first three columns (the family with its note, the
processor class, whether it runs without torchvision) are kept from the document where it has the row; a
new family's are its model type, its processor class and "yes" / "no" from its builder's torchvision mark.
"""

from __future__ import annotations

import argparse
import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

REPO = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(REPO))  # run as a file: the repository's harness and tests.families

HEADER = "| family (model_type) | processor | without torchvision | text tokens labelled / expected | image tokens | special tokens | text-as-image |"


def measure(family: str, work: Path) -> dict:
    """The figures of one family's row (module doc)."""
    import torch

    from harness.benchmarks import get_benchmark
    from harness.models import adapter_for, get_model_spec
    from harness.models.labels import IMAGE
    from tests.families.zoo import BUILDERS

    checkpoint = work / "checkpoint"
    torch.manual_seed(0)  # the builders draw random weights: the same row on every run
    model, processor = BUILDERS[family]()
    model.save_pretrained(checkpoint)
    processor.save_pretrained(checkpoint)
    spec = get_model_spec(f"hf:{checkpoint}")
    loaded = adapter_for(spec.family).load(spec, device=torch.device("cpu"), dtype=torch.float32, seed=0)
    samples = get_benchmark("fixture")((), seed=0)
    image = sum(int((loaded.adapter.encode(loaded, samples[i : i + 8])[1] == IMAGE).sum()) for i in range(0, len(samples), 8))
    layer = (loaded.attention_layers or [0])[0]
    results = work / "results.jsonl"
    run = subprocess.run(
        [sys.executable, "-m", "pytest", "suites/test_keyspace.py", "suites/test_keyspace_controls.py", "--ks-models",
         f"hf:{checkpoint}", "--ks-layers", str(layer), "-p", "no:cacheprovider", "-q", "--ks-results", str(results),
         "--ks-report", str(work / "report.html"), "--ks-cache", str(work / "cache")],
        cwd=REPO, capture_output=True, text=True,
    )
    records = [json.loads(line) for line in results.read_text().splitlines()] if results.is_file() else []
    triple = [r for r in records if r["model"].startswith("hf:") and r["extra"].get("control") is None]
    control = [r for r in records if r["extra"].get("control") == "text-as-image"]
    if not triple or not control:
        raise SystemExit(f"{family}: the suite gave no triple or no text-as-image record:\n{run.stdout[-2000:]}{run.stderr[-2000:]}")
    check = triple[0]["extra"]["label_check"]
    return {"family": family, "processor": type(loaded.processor).__name__, "layer": layer, "text": check["text"],
            "expected": check["benchmark_text"], "special": check["special"], "problems": check["problems"], "image": image,
            "control": control[0]["status"], "control_low": control[0]["extra"]["ratio_interval"]["low"]}


def row(figures: dict, kept: list[str] | None, torchvision: bool) -> str:
    first = kept or [figures["family"], figures["processor"], "no: its processor needs torchvision" if torchvision else "yes"]
    problems = f" ({'; '.join(figures['problems'])})" if figures["problems"] else ""
    return (f"| {' | '.join(first)} | {figures['text']} / {figures['expected']}{problems} | {figures['image']} | "
            f"{figures['special']} | {figures['control']} (lower bound {figures['control_low']:.2g}) |")


def document_rows(text: str) -> dict[str, list[str]]:
    """model type → the first three cells of its row in the document's table."""
    rows = {}
    for line in text.splitlines():
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        if line.startswith("| ") and len(cells) == 7 and not line.startswith(HEADER[:20]) and not cells[0].startswith("---"):
            rows[re.split(r"[ (]", cells[0], maxsplit=1)[0]] = cells[:3]
    return rows


def main(argv: list[str] | None = None) -> int:
    from tests.families.zoo import BUILDERS, NEEDS_TORCHVISION

    p = argparse.ArgumentParser(prog="python tests/families/table.py", description=__doc__.splitlines()[0])
    p.add_argument("families", nargs="*", help=f"model types (default: all {len(BUILDERS)})")
    p.add_argument("--update", type=Path, default=None, help="rewrite the table in this file (docs/families.md)")
    args = p.parse_args(argv)
    unknown = sorted(set(args.families) - set(BUILDERS))
    if unknown:
        p.error(f"no tiny checkpoint of {', '.join(unknown)}; give some of {', '.join(sorted(BUILDERS))}")
    doc = (args.update or REPO / "docs" / "families.md").read_text(encoding="utf-8")
    kept = document_rows(doc)
    order = list(kept) + sorted(set(BUILDERS) - set(kept))  # the document's order, new families after it
    lines = {}
    for family in [f for f in order if f in (args.families or BUILDERS)]:
        with tempfile.TemporaryDirectory() as work:
            lines[family] = row(measure(family, Path(work)), kept.get(family), family in NEEDS_TORCHVISION)
        print(lines[family], flush=True)
    if args.update:
        table = [HEADER, "|---|---|---|---|---|---|---|"]
        old = re.search(re.escape(HEADER) + r"\n\|[-|]+\|\n((?:\|.*\|\n)+)", doc)
        previous = {re.split(r"[ (]", l.strip("| "), maxsplit=1)[0]: l for l in old.group(1).splitlines()}
        table += [lines.get(f, previous.get(f)) for f in order if f in BUILDERS and (f in lines or f in previous)]
        args.update.write_text(doc[: old.start()] + "\n".join(table) + "\n" + doc[old.end():], encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
