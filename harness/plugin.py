"""The pytest plugin: --ks-* options, the suites' parametrization and fixtures, the sessions' end.

Logic lives in the library: each suite has a session object (harness.run.session.KeyspaceRun,
harness.intervention.suite.InterventionSession), made and checked at configure, stashed on the config,
told to `finish()` when pytest's session finishes and to `display(terminalreporter)` in the summary.
This module only wires them to pytest.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch

from harness.allocator import apply as apply_malloc
from harness.errors import KeyspaceError
from harness.results.captured import measured
from harness.capture.cache import default_cache_dir
from harness.run.paths import check_intervention_outputs, check_outputs
from harness.intervention.options import INTERVENTION_OPTIONS, parse_intervention_config
from harness.intervention.suite import InterventionSession
from harness.run.options import OPTIONS, ini_name, parse_config, parse_flag
from harness.run.session import KeyspaceRun
from harness.run.threads import choose as choose_threads

RUN_KEY = pytest.StashKey[KeyspaceRun]()  # the keyspace suites' session (test_keyspace.py, test_keyspace_controls.py)
THREADS_KEY = pytest.StashKey[str]()  # the torch thread count chosen for this process, and why
MALLOC_KEY = pytest.StashKey[str]()  # where this process's freed blocks go, in the header's words
INTERVENTIONS_KEY = pytest.StashKey[InterventionSession]()  # the intervention suite's session (test_intervention.py)


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
    get = option_getter(config)
    try:
        quiet_benchmark_table(config, asked=parse_flag("benchmark-table", get("benchmark-table")))
        # The worker id comes from xdist's own handshake, not the environment, which a subprocess inherits.
        worker = config.workerinput["workerid"] if _is_worker(config) else None
        rootdir = Path(str(config.rootpath))
        run = KeyspaceRun(parse_config(get, rootdir, worker=worker), worker=worker)
        threads, why = choose_threads(run.cfg.threads, workers=_workers(config))
        torch.set_num_threads(threads)
        config.stash[THREADS_KEY] = why
        config.stash[MALLOC_KEY] = apply_malloc(run.cfg.malloc)
        icfg = parse_intervention_config(get, rootdir, run_results=run.cfg.results)
        check_outputs(run.cfg, icfg)  # every output path and directory, before anything runs
        check_intervention_outputs(icfg)
        run.plan()  # cheap (no model, no data): bad names, layers, heads, checkpoints end the run here, in one line
        interventions = InterventionSession(run, icfg)
        interventions.plan()  # the interventions' layers and benchmarks too
        run.previous()  # --ks-resume with a results file of another configuration ends here too
        run.store.claim()  # last: a results file another live run is writing ends the run here, deleting nothing
    except KeyspaceError as exc:
        raise pytest.UsageError(str(exc)) from None
    except Exception as exc:  # anything else found while planning is still one line, never an INTERNALERROR
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
        raise pytest.UsageError(f"keyspace: cannot plan the run: {type(exc).__name__}: {first}") from None
    config.stash[RUN_KEY] = run
    config.stash[INTERVENTIONS_KEY] = interventions


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
    if "ks_intervention" in metafunc.fixturenames:
        cases = metafunc.config.stash[INTERVENTIONS_KEY].plan()
        metafunc.parametrize("ks_intervention", cases, ids=[c.id for c in cases])


@pytest.fixture(scope="session")
def ks_run(request: pytest.FixtureRequest) -> KeyspaceRun:
    """The session's KeyspaceRun: loaded model, captured key banks, results so far."""
    return request.config.stash[RUN_KEY]


@pytest.fixture(scope="session")
def ks_interventions(request: pytest.FixtureRequest) -> InterventionSession:
    """The session's InterventionSession: the studies of (model, benchmark) and the records so far."""
    return request.config.stash[INTERVENTIONS_KEY]


def _workers(config: pytest.Config) -> int:
    """Processes of this run sharing the machine (pytest-xdist workers; 1 without)."""
    if _is_worker(config):
        return int(config.workerinput.get("workercount", 1))
    return 1


def _is_worker(config: pytest.Config) -> bool:
    return hasattr(config, "workerinput")


def pytest_sessionfinish(session: pytest.Session) -> None:
    config = session.config
    if RUN_KEY not in config.stash or _is_worker(config):  # a parallel worker leaves the end to the controller
        return
    interventions = config.stash[INTERVENTIONS_KEY]
    records = interventions.session_records()
    known = interventions.known(records)  # failures that are the stored, expected outcome
    interventions.finish(records, known)
    config.stash[RUN_KEY].finish(interventions=records, known=known)  # the report has their section and verdicts


def pytest_unconfigure(config: pytest.Config) -> None:
    for key in (RUN_KEY, INTERVENTIONS_KEY):
        if key in config.stash:
            config.stash[key].store.release()


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
    return [f"keyspace measures: {measured(run.cfg.capture, run.cfg.heads, run.cfg.special_as_text)} "
            "(--ks-capture, --ks-heads, --ks-special-as-text to change)",
            cache_line(run.cfg.cache), f"keyspace torch threads: {config.stash.get(THREADS_KEY, '?')}; --ks-threads N to fix",
            f"keyspace freed memory: {config.stash.get(MALLOC_KEY, '?')}"]


def cache_line(cache: Path | None) -> str:
    """One line at the start of the run: where captured keys are kept, and who shares them."""
    if cache is None:
        return "keyspace key cache: off (--ks-no-cache): every pair is captured afresh, nothing stored"
    shared = ("the per-user default, shared by every checkout and run of this user on this machine"
              if cache == default_cache_dir() else "shared by every run given this directory")
    return (f"keyspace key cache: {cache} ({shared}; entries are keyed by model, revision, samples, layers and "
            "capture options, so sharing never mixes figures; --ks-cache DIR or --ks-no-cache to change)")


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_terminal_summary(terminalreporter, exitstatus, config: pytest.Config):
    """The sessions' lines after pytest's own summary (its short test summary included: an outer wrapper's
    code after `yield` runs last), so the console ends with the verdict sentences."""
    result = yield
    if RUN_KEY in config.stash and not _is_worker(config):
        config.stash[RUN_KEY].display(terminalreporter)
        config.stash[INTERVENTIONS_KEY].display(terminalreporter)
    return result
