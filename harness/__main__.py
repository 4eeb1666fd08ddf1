"""`python -m harness`: the harness without pytest.

    python -m harness report RESULTS.jsonl -o REPORT.html    # re-render the report; loads no model
    python -m harness report shards/ -o REPORT.html          # merge the shards' results into one report

Bad input ends with one line on stderr and exit status 2.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from harness.errors import KeyspaceError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (no usage dump); --help still shows the usage."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def _positive_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not an integer; give a positive integer such as 600") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"{value} is not positive; give a positive integer such as 600")
    return value


def _report(args: argparse.Namespace) -> int:
    from harness.report import console_table  # deferred: `python -m harness --help` answers before jinja2 and matplotlib load
    from harness.report.cli import report_command

    path, results, notes = report_command(args.results, args.output, meta=args.meta, tsne_cap=args.tsne_cap,
                                          interventions=args.interventions, baselines=args.baselines)
    if not args.quiet:
        print(console_table(results))
    for note in notes:
        print(f"note: {note}", file=sys.stderr)
    print(f"report: {path}")
    if not args.quiet:
        # deferred: `python -m harness --help` answers before jinja2 and matplotlib load
        from harness.report.cli import verdict_lines

        print("\n".join(verdict_lines(results, args.interventions, args.baselines)))
    return 0


def parser() -> argparse.ArgumentParser:
    p = _Parser(prog="python -m harness", description="keyspace harness: image vs text attention keys")
    sub = p.add_subparsers(dest="command", required=True, metavar="COMMAND")
    rep = sub.add_parser("report", help="render the HTML report from a results file (loads no model)",
                         description="Render the self-contained HTML report from a results .jsonl file.")
    rep.add_argument("results", type=Path, nargs="+", metavar="RESULTS.jsonl",
                     help="results written by a keyspace run; several files or a folder (shards of one run) merge into one report")
    rep.add_argument("-o", "--output", type=Path, metavar="REPORT.html",
                     help="where to write the report (default: RESULTS with the suffix .html)")
    rep.add_argument("--meta", type=Path, metavar="META.json",
                     help="run metadata (default: RESULTS' .meta.json sidecar when present)")
    rep.add_argument("--tsne-cap", type=_positive_int, default=600, metavar="N",
                     help="most points drawn per t-SNE map (default: 600)")
    rep.add_argument("--interventions", type=Path, nargs="+", default=(), metavar="INTERVENTIONS.jsonl",
                     help="intervention records (suites/test_intervention.py; files or folders) to show in their section")
    rep.add_argument("--baselines", type=Path, default=Path("reports/baselines"), metavar="DIR",
                     help="stored baselines; a failed intervention stored there reads as a known outcome (default: reports/baselines)")
    rep.add_argument("-q", "--quiet", action="store_true", help="do not print the summary table")
    rep.set_defaults(func=_report)
    return p


def main(argv: list[str] | None = None) -> int:
    args = parser().parse_args(argv)
    try:
        return args.func(args)
    except KeyspaceError as exc:
        print(f"python -m harness {args.command}: error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())
