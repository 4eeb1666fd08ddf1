"""What decides an organism's weights besides the code, the plan and the seeds: the package versions, the CPU and the
kernels torch dispatches to on it, the thread count, the variables that pin either, and Python's string hashing.

On one machine a recipe trains bit for bit alike (tested); across CPUs it need not: the same packages, data and seeds
gave another text-pretrained decoder on an Intel Xeon (AVX-512) than on the committed organisms' AMD EPYC, and the
kernels chosen on one machine alone move seed 0's text reading after 600 steps between 0.37 and 0.565
(docs/organisms.md, "Text pretraining across machines"). So every training record carries `environment()`, and the
cache of text-pretrained models keys on `numerics()`.
"""

from __future__ import annotations

import os
import platform
import re
import sys
from importlib import metadata

PACKAGES = ("torch", "transformers", "tokenizers", "numpy", "pillow", "safetensors")
# Variables that pin which kernels run (ATen's vector width, MKL's code path, oneDNN's instruction set).
PINS = ("ATEN_CPU_CAPABILITY", "MKL_CBWR", "MKL_ENABLE_INSTRUCTIONS", "ONEDNN_MAX_CPU_ISA")
THREADS = ("OMP_NUM_THREADS", "MKL_NUM_THREADS")


def cpu_model() -> str:
    """The CPU as the kernel reports it (Linux: model name, vendor, family, model, stepping; a virtual machine's model
    name can be generic), else what `platform` knows."""
    fields: dict[str, str] = {}
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    break  # the first processor's block is enough
                key, _, value = line.partition(":")
                fields.setdefault(key.strip(), value.strip())
    except OSError:
        pass
    if "model name" not in fields:
        return platform.processor() or platform.machine()
    return (f"{fields['model name']} ({fields.get('vendor_id', '?')} family {fields.get('cpu family', '?')} "
            f"model {fields.get('model', '?')} stepping {fields.get('stepping', '?')})")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _built_with(config: str, pattern: str) -> str | None:
    m = re.search(pattern, config)
    return m.group(1) if m else None


def numerics(device: str = "cpu") -> dict:
    """The facts that decide floating-point results on a CPU: torch and transformers versions, the CPU, the kernel
    capability torch dispatches to (e.g. "AVX512", "AVX2"), its MKL and oneDNN builds, the torch thread count and the
    variables that pin kernels (`PINS`, where set); for training on a GPU (`device` other than "cpu") also the device,
    its name and the CUDA and cuDNN builds (the CPU facts then decide only the evaluation)."""
    import torch
    import transformers

    config = torch.__config__.show()
    out = {"torch": torch.__version__, "transformers": transformers.__version__, "cpu": cpu_model(),
           "machine": platform.machine(), "cpu_capability": torch.backends.cpu.get_cpu_capability(),
           "mkl": _built_with(config, r"Math Kernel Library Version ([\d.]+)"), "onednn": _built_with(config, r"MKL-DNN (v\S+)"),
           "torch_threads": torch.get_num_threads(),
           "pins": {k: os.environ[k] for k in PINS if k in os.environ}}
    if device != "cpu":  # the CPU path's dict stays as it was, so its cache keys and records do not change
        out["training_device"] = {"device": device, "name": torch.cuda.get_device_name(torch.device(device)),
                                  "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version()}
    return out


def environment(device: str = "cpu") -> dict:
    """`numerics()`, the Python and package versions, the thread variables where set, and how Python hashes strings
    in this process (`hash_seed`: PYTHONHASHSEED as set, or "random" when unset; the organisms' data and tokenizer do
    not depend on it, tested)."""
    return {"python": platform.python_version(), "packages": {p: _version(p) for p in PACKAGES},
            "hash_randomization": bool(sys.flags.hash_randomization), "hash_seed": os.environ.get("PYTHONHASHSEED", "random"),
            "thread_variables": {k: os.environ[k] for k in THREADS if k in os.environ}, **numerics(device)}


def summary(env: dict) -> str:
    """One line for a model card."""
    packages = ", ".join(f"{k} {v}" for k, v in env["packages"].items() if v)
    pins = ", ".join(f"{k}={v}" for k, v in env["pins"].items()) or "none"
    return (f"Python {env['python']}, {packages}; CPU {env['cpu']}; torch kernels {env['cpu_capability']}, "
            f"{env['torch_threads']} thread(s); pinning variables: {pins}; PYTHONHASHSEED {env['hash_seed']}.")
