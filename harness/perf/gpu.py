"""Published dense bf16 tensor-core peaks, the denominator of model FLOPs utilisation (MFU).

Figures are the vendors' data-sheet numbers without structured sparsity, in FLOP/s.
"""

from __future__ import annotations

# (substring of torch.cuda.get_device_name(), peak dense bf16 FLOP/s, how the figure is named)
BF16_PEAKS: tuple[tuple[str, float, str], ...] = (
    ("H200", 989.4e12, "H200 SXM, 989 TFLOP/s dense bf16"),
    ("H100 PCIe", 756.0e12, "H100 PCIe, 756 TFLOP/s dense bf16"),
    ("H100 NVL", 835.0e12, "H100 NVL, 835 TFLOP/s dense bf16"),
    ("H100", 989.4e12, "H100 SXM, 989 TFLOP/s dense bf16"),
    ("A100", 312.0e12, "A100, 312 TFLOP/s dense bf16"),
    ("L40S", 362.1e12, "L40S, 362 TFLOP/s dense bf16"),
    ("L4", 121.0e12, "L4, 121 TFLOP/s dense bf16"),
)


def bf16_peak(device_name: str) -> tuple[float, str] | None:
    """(peak FLOP/s, label) for a CUDA device name, or None when the device is not in the table."""
    for key, peak, label in BF16_PEAKS:
        if key.lower() in device_name.lower():
            return peak, label
    return None
