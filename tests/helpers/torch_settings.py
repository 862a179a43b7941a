"""torch's global settings that a check switches while it runs and must restore."""

from __future__ import annotations

import torch


def sdpa_settings() -> tuple[bool, ...]:
    """(MHA fast path, flash, memory-efficient, math, cuDNN SDPA kernels) enabled."""
    return (
        torch.backends.mha.get_fastpath_enabled(),
        torch.backends.cuda.flash_sdp_enabled(),
        torch.backends.cuda.mem_efficient_sdp_enabled(),
        torch.backends.cuda.math_sdp_enabled(),
        torch.backends.cuda.cudnn_sdp_enabled(),
    )


def global_settings() -> tuple[object, ...]:
    """:func:`sdpa_settings`, the default dtype, grad mode and inference mode."""
    return (
        *sdpa_settings(),
        torch.get_default_dtype(),
        torch.is_grad_enabled(),
        torch.is_inference_mode_enabled(),
    )
