"""The paper's two models from the hub, on a GPU: the nightly profile (tox -e nightly).

Skipped, with a one-line reason, on a machine without CUDA or without the checkpoint in the local
Hugging Face cache (nothing is downloaded by the suite).
"""

import pytest

from harness.models.hub import checkpoint_available, download_command
from harness.models import get_model_spec

pytestmark = [pytest.mark.gpu, pytest.mark.hub, pytest.mark.slow, pytest.mark.keyspace]

PAPER_MODELS = ("llava-1.5-7b", "qwen2.5-vl-7b")


@pytest.mark.parametrize("name", PAPER_MODELS)
def test_paper_model_loads_and_captures(name, ks_run):
    torch = pytest.importorskip("torch")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA device (run the nightly profile on a GPU runner)")
    try:
        spec = get_model_spec(name)
    except Exception as exc:  # a family this build lacks
        pytest.skip(f"{name} is not registered: {exc}")
    if not checkpoint_available(spec.source, spec.revision):
        pytest.skip(f"{spec.source}@{spec.revision} is not in the local Hugging Face cache ({download_command(spec.source, spec.revision)})")
    loaded = ks_run.loaded(name)
    assert loaded.num_layers == spec.num_layers
