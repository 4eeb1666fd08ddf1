"""The baseline cycle through pytest: created → compared → drift fails → --ks-update-baselines rewrites."""

import json
import shutil
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_create_compare_drift_regenerate(pytester):
    shutil.copy(ROOT / "suites" / "test_keyspace.py", pytester.path / "test_keyspace.py")
    store = pytester.path / "baselines"
    args = ["--ks-models", "tiny-llava", "--ks-layers", "0", "--ks-permutations", "200", "--ks-no-mechanism",
            "--ks-baselines", str(store), "--ks-cache", str(pytester.path / "cache"), "-p", "no:cacheprovider"]

    created = pytester.runpytest_subprocess(*args)
    assert created.ret == 1 and "baseline created:" in created.stdout.str()

    same = pytester.runpytest_subprocess(*args)
    assert same.ret == 0, same.stdout.str()[-1500:]

    path = store / "tiny-llava.json"
    data = json.loads(path.read_text())
    data["triples"]["L0-fixture"]["figures"]["mmd2"]["value"] *= 2
    path.write_text(json.dumps(data))
    drifted = pytester.runpytest_subprocess(*args)
    assert drifted.ret == 1 and "baseline drift: mmd2" in drifted.stdout.str()

    rewritten = pytester.runpytest_subprocess(*args, "--ks-update-baselines")
    assert rewritten.ret == 0
    assert pytester.runpytest_subprocess(*args).ret == 0
