"""A random initialisation of a BERT config, as Hugging Face ``BertPreTrainedModel`` does it.

Linear and embedding weights ~ N(0, σ²) with σ = ``initializer_range`` (0.02 for BERT and
MiniLM), linear biases 0, layer-norm gains 1 and biases 0, and the [PAD] row of the token
embedding 0. This is what "a randomly initialised copy" of a pretrained model means in the
paper's E3 (a model built from the same config before training), so it is the reference
here; our components' own initialisation (weights N(0, 1/d_in), non-zero biases) is a
different model and is not used for E3.
"""

from __future__ import annotations

import torch

from homogeneity.components.encoder import Encoder, EncoderConfig
from homogeneity.components.linear import Embedding, Linear
from homogeneity.components.norms import LayerNorm
from homogeneity.errors import HomogeneityInputError
from homogeneity.validation import check_float_dtype

BERT_INITIALIZER_RANGE = 0.02


def bert_random_init(
    cfg: EncoderConfig,
    *,
    seed: int = 0,
    std: float = BERT_INITIALIZER_RANGE,
    pad_id: int | None = 0,
    dtype: torch.dtype = torch.float64,
    device: torch.device | str | None = None,
) -> Encoder:
    """An :class:`Encoder` for ``cfg`` with BERT's initialisation (seeded, reproducible).

    Draws on a private CPU generator (the global RNG is untouched), then moves to ``device``.
    Every parameter is set below (the encoder has no buffers), so nothing is left
    uninitialised by ``to_empty``.
    """
    check_float_dtype(dtype)
    if not std > 0:
        raise HomogeneityInputError(f"std={std!r} must be > 0 (BERT uses 0.02)")
    if cfg.norm != "layernorm":
        raise HomogeneityInputError(
            f"cfg.norm={cfg.norm!r}: BERT's initialisation is defined for norm='layernorm' "
            f"(gains 1, biases 0); build other encoders with Encoder(cfg, generator=...)"
        )
    gen = torch.Generator().manual_seed(seed)
    # built on the meta device (no wasted draws), then given CPU storage and BERT's init
    encoder = Encoder(cfg, dtype=dtype, device="meta").to_empty(device="cpu")
    with torch.no_grad():
        for module in encoder.modules():
            if isinstance(module, Linear):
                module.weight.normal_(0.0, std, generator=gen)
                if module.bias is not None:
                    module.bias.zero_()
            elif isinstance(module, Embedding):
                module.weight.normal_(0.0, std, generator=gen)
            elif isinstance(module, LayerNorm):
                if module.weight is not None:
                    module.weight.fill_(1.0)
                if module.bias is not None:
                    module.bias.zero_()
        if pad_id is not None:
            if not 0 <= pad_id < cfg.vocab_size:
                raise HomogeneityInputError(
                    f"pad_id={pad_id} is outside the vocabulary [0, {cfg.vocab_size}); pass "
                    f"the tokenizer's [PAD] id or None"
                )
            encoder.tokens.weight[pad_id].zero_()
    return encoder.to(device).eval() if device is not None else encoder.eval()
