"""The kernels every evaluation of a ray runs on.

Fused attention kernels have no forward-mode AD: with dual tensors, torch's default
``scaled_dot_product_attention`` on CPU dispatches to
``_scaled_dot_product_flash_attention_for_cpu`` and ``nn.MultiheadAttention`` /
``nn.TransformerEncoderLayer`` in eval mode take the fused "fast path"
(``_native_multi_head_attention``, ``_transformer_encoder_layer_fwd``); both raise
``NotImplementedError`` under ``torch.autograd.forward_ad``. Inside
:func:`checked_backends` SDPA runs on its math kernel (the composite
softmax(QKᵀ/√d + mask)·V, which has forward-mode AD) and the MHA fast path is off. The
value passes use the same kernels as the derivative passes, so f and θ·∇f come from the
same arithmetic.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import torch
from torch.nn.attention import SDPBackend, sdpa_kernel

#: report lines for the two switches, used when the run actually called those ops
SDPA_MATH_LINE = "SDPA: math kernel (fused kernels have no forward-mode AD)"
MHA_FASTPATH_LINE = (
    "nn.MultiheadAttention fast path: off (the fused path has no forward-mode AD; the "
    "module's own Python path runs instead)"
)


@contextmanager
def checked_backends() -> Iterator[None]:
    """SDPA on its math kernel and the MHA fast path off, for the duration of the block.

    The caller's settings (``torch.backends.mha.get_fastpath_enabled()`` and the enabled
    SDPA backends) are restored on exit, also when the block raises.
    """
    fastpath = torch.backends.mha.get_fastpath_enabled()
    torch.backends.mha.set_fastpath_enabled(False)
    try:
        with sdpa_kernel(SDPBackend.MATH):
            yield
    finally:
        torch.backends.mha.set_fastpath_enabled(fastpath)
