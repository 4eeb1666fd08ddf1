"""The report in a real browser (headless Chromium): no console errors, sorting works, a screenshot.

Chromium prints every console message and uncaught exception of the page to stderr as
`INFO:CONSOLE…] "message", source: …` when run with --enable-logging=stderr; the report logs
nothing itself, so any such line (a script error, a blocked fetch reported by the CSP) fails.
CI installs the browser with `apt-get install -y chromium`.
"""

from __future__ import annotations

import re
import shutil
import subprocess
from html.parser import HTMLParser
from pathlib import Path

import pytest

from harness.report.table import triple_table

ROOT = Path(__file__).resolve().parents[2]
SCREENSHOT = ROOT / "reports" / "report-screenshot.png"
BROWSER = next((shutil.which(b) for b in ("chromium", "chromium-browser", "google-chrome") if shutil.which(b)), None)
pytestmark = pytest.mark.skipif(BROWSER is None, reason="chromium not installed (apt-get install -y chromium)")
CONSOLE = re.compile(r":CONSOLE[:(\]]|Uncaught")


def chromium(url: str, profile: Path, *args: str) -> subprocess.CompletedProcess:
    cmd = [BROWSER, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
           "--disable-background-networking", "--disable-component-update", "--disable-sync", "--hide-scrollbars",
           f"--user-data-dir={profile}", "--enable-logging=stderr", "--v=0", *args, url]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=60)


def console_lines(proc: subprocess.CompletedProcess) -> list[str]:
    return [line for line in proc.stderr.splitlines() if CONSOLE.search(line)]


def test_console_check_catches_a_script_error(tmp_path):
    """The check can fail: a page that throws and logs an error is caught."""
    page = tmp_path / "bad.html"
    page.write_text('<!DOCTYPE html><p>x</p><script>console.error("boom"); undefinedFunction();</script>')
    lines = console_lines(chromium(page.as_uri(), tmp_path / "profile", "--dump-dom"))
    assert any("boom" in line for line in lines) and any("Uncaught ReferenceError" in line for line in lines)


def test_report_renders_without_console_errors(synthetic_report, tmp_path):
    proc = chromium(synthetic_report[1].as_uri(), tmp_path / "profile",
                    f"--screenshot={tmp_path / 'shot.png'}", "--window-size=1280,2200")
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert console_lines(proc) == []
    shot = tmp_path / "shot.png"
    assert shot.stat().st_size > 50_000  # a blank page is a few kB
    SCREENSHOT.parent.mkdir(exist_ok=True)
    shutil.copyfile(shot, SCREENSHOT)


class FirstColumnOf(HTMLParser):
    """data-sort values of column `col` in the first data row of each tbody of table `table_id`."""

    def __init__(self, table_id: str, col: int):
        super().__init__()
        self.table_id, self.col = table_id, col
        self.inside, self.row_start, self.cell, self.values = False, False, -1, []

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "table":
            self.inside = a.get("id") == self.table_id
        elif self.inside and tag == "tbody":
            self.row_start, self.cell = True, -1
        elif self.inside and self.row_start and tag == "td":
            self.cell += 1
            if self.cell == self.col:
                self.values.append(a.get("data-sort"))
                self.row_start = False


@pytest.mark.parametrize("direction", ["", ".desc"], ids=["ascending", "descending"])
def test_header_sort_orders_rows(synthetic_report, tmp_path, direction):
    """The sorting script, run by the browser: the table is sorted by ratio via `#sort=TABLE.COLUMN`."""
    results, path = synthetic_report
    fixture_rows = [r for r in results if r.benchmark == "fixture" and "control" not in r.extra]
    col = [c["key"] for c in triple_table(fixture_rows)["columns"]].index("ratio")
    as_rendered = [r.ratio for r in sorted(fixture_rows, key=lambda r: (r.model, r.layer))]
    assert as_rendered != sorted(as_rendered, reverse=bool(direction))  # else sorting would have nothing to do
    proc = chromium(f"{path.as_uri()}#sort=bench-0.{col}{direction}", tmp_path / "profile", "--dump-dom")
    assert console_lines(proc) == []
    parser = FirstColumnOf("bench-0", col)
    parser.feed(proc.stdout)
    got = [float(v) for v in parser.values]
    assert len(got) == len(fixture_rows)
    assert got == sorted(as_rendered, reverse=bool(direction))


def test_page_fits_a_phone(synthetic_report, tmp_path):
    """At 390 px (a phone) the page itself does not scroll sideways: wide tables scroll in their own box,
    figures stack at full width. Headless windows are at least 500 px wide, so the report is shown in a
    390-px iframe, and a probe script in it posts the page's scroll width and a figure's width out."""
    html = synthetic_report[1].read_text(encoding="utf-8")
    probe = ('<script>window.addEventListener("load", function () { var w = document.documentElement.scrollWidth;'
             ' var f = document.querySelector(".panels svg").getBoundingClientRect().width;'
             ' parent.postMessage(w + "," + Math.round(f) + "," + window.innerWidth, "*"); });</script></body>')
    (tmp_path / "probe.html").write_text(html.replace("</body>", probe), encoding="utf-8")
    (tmp_path / "phone.html").write_text(
        '<!DOCTYPE html><body style="margin:0"><iframe src="probe.html" style="width:390px;height:2000px;border:0">'
        '</iframe><script>window.addEventListener("message", function (e) {'
        ' document.body.setAttribute("data-probe", e.data); });</script></body>', encoding="utf-8")
    url = (tmp_path / "phone.html").as_uri()
    shot = tmp_path / "phone.png"
    chromium(url, tmp_path / "profile", f"--screenshot={shot}", "--window-size=390,2000")
    proc = chromium(url, tmp_path / "profile2", "--dump-dom", "--window-size=600,2000", "--virtual-time-budget=5000")
    width, figure, viewport = (int(x) for x in re.search(r'data-probe="(\d+),(\d+),(\d+)"', proc.stdout).groups())
    assert viewport == 390
    assert width <= 390, f"the page is {width} px wide at 390"
    assert figure >= 300, f"a layer figure is drawn {figure} px wide at 390"
    shutil.copyfile(shot, SCREENSHOT.with_name("report-screenshot-390.png"))


def page_width(page: Path, width: int, tmp_path: Path) -> tuple[int, int]:
    """(the page's scroll width, its viewport width) when shown `width` px wide: in an iframe of that
    width (headless windows are at least 500 px wide), a probe script posting the figures out. The probe's
    copy lets inline scripts run (the interventions page's own policy forbids every script)."""
    html = page.read_text(encoding="utf-8").replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    probe = ('<script>window.addEventListener("load", function () {'
             ' parent.postMessage(document.documentElement.scrollWidth + "," + window.innerWidth, "*"); });</script></body>')
    (tmp_path / "probe.html").write_text(html.replace("</body>", probe), encoding="utf-8")
    (tmp_path / "frame.html").write_text(
        f'<!DOCTYPE html><body style="margin:0"><iframe src="probe.html" style="width:{width}px;height:2000px;border:0">'
        '</iframe><script>window.addEventListener("message", function (e) {'
        ' document.body.setAttribute("data-probe", e.data); });</script></body>', encoding="utf-8")
    proc = chromium((tmp_path / "frame.html").as_uri(), tmp_path / f"profile-{width}", "--dump-dom",
                    f"--window-size={max(width + 50, 600)},2000", "--virtual-time-budget=5000")
    scroll, viewport = (int(x) for x in re.search(r'data-probe="(\d+),(\d+)"', proc.stdout).groups())
    return scroll, viewport


@pytest.mark.parametrize("width", [390, 1366])
@pytest.mark.parametrize("which", ["report", "interventions"])
def test_no_page_overflows_sideways(iv_records, synthetic_inputs, tmp_path, which, width):
    """The report with its interventions section, and the interventions page, at a phone's and a laptop's
    width: nothing makes the page scroll sideways (wide tables scroll in their own box)."""
    from harness.report import render_report
    from harness.report.interventions import render_interventions

    records, known = iv_records
    triples, info = synthetic_inputs
    page = (render_report(triples, tmp_path / "report.html", run_info=info, interventions=records, known=known)
            if which == "report" else render_interventions(records, tmp_path / "interventions.html", known))
    scroll, viewport = page_width(page, width, tmp_path)
    assert viewport == width
    assert scroll <= width, f"{which} is {scroll} px wide at {width}"


def test_the_verdict_matrix_of_a_four_layer_model_fits_a_laptop_screen(tmp_path):
    """The first table a reader sees: four layers whose cells carry the longest label ("undecided (intra-modal
    effects not bounded)") and the controls column fit 1,366 px without scrolling their own box (its cells wrap)."""
    from harness.analysis.tiers import tiers_record
    from harness.report import render_report
    from harness.results.records import TripleResult
    from harness.stats import population as P
    from harness.stats.tiers import all_tiers

    k = P.sample(P.population(d=8, layout="shared-offset", shift=8.0), prompts=16, cap=160, seed=0)
    rec = {**tiers_record(all_tiers(*k.sides(True), permutations=100, n_boot=30)),
           "verdict": "undecided: intra-modal effects not bounded at this number of prompts"}
    rs = [TripleResult(model=f"organism-{name}", layer=layer, benchmark="fixture", status="undecided", extra={"tiers": rec})
          for name in ("text-first", "aligned") for layer in range(4)]
    page = render_report(rs, tmp_path / "report.html", run_info={})
    assert "undecided (intra-modal effects not bounded)" in page.read_text(encoding="utf-8")
    html = page.read_text(encoding="utf-8").replace("default-src 'none';", "default-src 'none'; script-src 'unsafe-inline';", 1)
    probe = ('<script>window.addEventListener("load", function () { var b = document.querySelector("table.matrix:not(.tiers)")'
             '.parentElement; document.body.setAttribute("data-box", b.scrollWidth + "," + b.clientWidth); });</script></body>')
    (tmp_path / "probe.html").write_text(html.replace("</body>", probe), encoding="utf-8")
    proc = chromium((tmp_path / "probe.html").as_uri(), tmp_path / "profile", "--dump-dom", "--window-size=1366,2000",
                    "--virtual-time-budget=5000")
    scroll, client = (int(x) for x in re.search(r'data-box="(\d+),(\d+)"', proc.stdout).groups())
    assert 0 < client <= 1366
    assert scroll <= client, f"the verdict matrix is {scroll} px wide in a {client}-px box"
