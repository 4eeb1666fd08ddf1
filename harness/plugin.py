"""The pytest plugin: --ks-* options, triple parametrization, the session run, results and report.

Logic lives in the library (harness.run.session, harness.report); this module only wires it to pytest.
"""

from __future__ import annotations

import time
from pathlib import Path

import pytest

from harness.errors import KeyspaceError
from harness.run.paths import check_intervention_outputs, check_outputs
from harness.intervention.options import INTERVENTION_OPTIONS, InterventionConfig, parse_intervention_config
from harness.intervention.suite import InterventionSession
from harness.run.options import OPTIONS, ini_name, parse_config, parse_flag
from harness.results.records import merge_parts, part_paths, read_results
from harness.run.session import KeyspaceRun

RUN_KEY = pytest.StashKey[KeyspaceRun]()
INTERVENE_KEY = pytest.StashKey[InterventionConfig]()  # the parsed --ks-intervene* options
STARTED_KEY = pytest.StashKey[float]()  # when this session configured (wall clock)


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("keyspace", "keyspace harness (image vs text attention keys)")
    for opt in OPTIONS + INTERVENTION_OPTIONS:
        flag = f"--ks-{opt.name}"
        help_text = f"{opt.help} (default: {opt.default}; ini: {ini_name(opt)})"
        if opt.flag:
            group.addoption(flag, action="store_const", const="true", default=None, dest=ini_name(opt), help=help_text)
        else:
            group.addoption(flag, default=None, dest=ini_name(opt), metavar=opt.name.upper(), help=help_text)
        parser.addini(ini_name(opt), help=opt.help, default=opt.default)


def option_getter(config: pytest.Config):
    """`get(name)` of a --ks-NAME option: the command line's value, else the ini's."""

    def get(name: str) -> str:
        key = "ks_" + name.replace("-", "_")
        value = config.getoption(key)
        return value if value is not None else config.getini(key)

    return get


def pytest_configure(config: pytest.Config) -> None:
    config.stash[STARTED_KEY] = time.time()
    get = option_getter(config)
    try:
        quiet_benchmark_table(config, asked=parse_flag("benchmark-table", get("benchmark-table")))
        # The worker id comes from xdist's own handshake, not the environment, which a subprocess inherits.
        worker = config.workerinput["workerid"] if _is_worker(config) else None
        rootdir = Path(str(config.rootpath))
        run = KeyspaceRun(parse_config(get, rootdir, worker=worker), worker=worker)
        icfg = parse_intervention_config(get, rootdir, run_results=run.cfg.results)
        check_outputs(run.cfg, icfg)  # every output path and directory, before anything runs
        check_intervention_outputs(icfg)
        run.plan()  # cheap (no model, no data): bad names, layers, heads, checkpoints end the run here, in one line
        InterventionSession(run, icfg).plan()  # the interventions' layers and benchmarks too
        run.previous()  # --ks-resume with a results file of another configuration ends here too
    except KeyspaceError as exc:
        raise pytest.UsageError(str(exc)) from None
    except Exception as exc:  # anything else found while planning is still one line, never an INTERNALERROR
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise pytest.UsageError(f"keyspace: cannot plan the run: {type(exc).__name__}: {first}") from None
    config.stash[RUN_KEY] = run
    config.stash[INTERVENE_KEY] = icfg


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    run = metafunc.config.stash[RUN_KEY]
    if "ks_triple" in metafunc.fixturenames:
        triples = run.plan()
        metafunc.parametrize("ks_triple", triples, ids=[t.id for t in triples])
    if "ks_pair" in metafunc.fixturenames:
        pairs = run.pairs()
        metafunc.parametrize("ks_pair", pairs, ids=[p.id for p in pairs])
    if "ks_control" in metafunc.fixturenames:
        cases = run.control_plan()
        metafunc.parametrize("ks_control", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def ks_run(request: pytest.FixtureRequest) -> KeyspaceRun:
    """The session's KeyspaceRun: loaded model, captured key banks, results so far."""
    return request.config.stash[RUN_KEY]


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session) -> None:
    run = session.config.stash.get(RUN_KEY, None)
    if run is None or _is_worker(session.config) or not part_paths(run.cfg.results):
        return
    # Parallel (xdist) workers each wrote a part file; fold them into the one results file.
    run.results = merge_parts(run.cfg.results, keep_existing=run.cfg.resume)


def quiet_benchmark_table(config: pytest.Config, *, asked: bool) -> None:
    """pytest-benchmark's timing table (a 200-column table of single rounds) only when asked for
    (--ks-benchmark-table or --benchmark-verbose); --benchmark-json and --benchmark-save still write.
    Runs before pytest-benchmark reads its options (its pytest_configure is trylast)."""
    if not asked and hasattr(config.option, "benchmark_quiet"):
        config.option.benchmark_quiet = True


def pytest_report_header(config: pytest.Config) -> list[str]:
    run = config.stash.get(RUN_KEY, None)
    if run is None or _is_worker(config):
        return []
    return [cache_line(run.cfg.cache)]


def cache_line(cache: Path | None) -> str:
    """One line at the start of the run: where captured keys are kept, and who shares them."""
    from harness.capture.cache import default_cache_dir

    if cache is None:
        return "keyspace key cache: off (--ks-no-cache): every pair is captured afresh, nothing stored"
    shared = ("the per-user default, shared by every checkout and run of this user on this machine"
              if cache == default_cache_dir() else "shared by every run given this directory")
    return (f"keyspace key cache: {cache} ({shared}; entries are keyed by model, revision, samples, layers and "
            "capture options, so sharing never mixes figures; --ks-cache DIR or --ks-no-cache to change)")


def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config) -> None:
    run = config.stash.get(RUN_KEY, None)
    if run is not None and not _is_worker(config) and (note := run.finish_empty_shard()):
        terminalreporter.write_line(f"note: {note}")
    if run is None or not run.results or _is_worker(config):
        return
    from harness.report import console_table
    from harness.report.extras import label_warnings
    from harness.report.verdicts import console_verdicts

    terminalreporter.write_sep("=", "keyspace triples")
    terminalreporter.write_line(console_table(run.results))
    for note in run.notes:
        terminalreporter.write_line(f"note: {note}")
    for r in run.results:
        for warning in label_warnings(r):
            terminalreporter.write_line(f"label warning: {r.model} L{r.layer} {r.benchmark}: {warning}")
    terminalreporter.write_line(f"results: {run.cfg.results}")
    report = _render(config, run)
    if report:
        terminalreporter.write_line(f"report: {report}")
    terminalreporter.write_sep("=", "keyspace verdict")
    from harness.intervention.baselines import known_outcomes

    records = _session_interventions(config)
    known = {} if run.cfg.update_baselines else known_outcomes(records, run.cfg.baselines)
    for line in console_verdicts(run.results, records, known):
        terminalreporter.write_line(line)


def _render(config: pytest.Config, run: KeyspaceRun):
    from harness.report import render_report, write_run_info

    info = run.info()
    write_run_info(run.cfg.results, info)  # beside the results, so `python -m harness report` can re-render
    from harness.intervention.baselines import known_outcomes

    records = _session_interventions(config)
    return render_report(read_results(run.cfg.results), run.cfg.report, run_info=info, interventions=records,
                         known={} if run.cfg.update_baselines else known_outcomes(records, run.cfg.baselines))


def _session_interventions(config: pytest.Config) -> list:
    """The intervention records this session wrote (suites/test_intervention.py), for the report's
    section: from the records file and its parallel parts modified since the session began; none when
    the suite did not run (an older records file is another run's)."""
    from harness.intervention.results import read_interventions_since

    return read_interventions_since(config.stash[INTERVENE_KEY].results, config.stash[STARTED_KEY])
