"""The mpmath encoder mirrors the torch encoder on shared cases (every placement, norm,
bias, activation, causal masking, saturated or not)."""

from __future__ import annotations

import mpmath
import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from homogeneity.components import Encoder, EncoderConfig
from homogeneity.errors import HomogeneityInputError
from proofs_numeric.precision import MpEncoder


@settings(max_examples=20)
@given(
    placement=st.sampled_from(["paper-prenorm", "postnorm", "pre-ln"]),
    norm=st.sampled_from(["proof", "layernorm", "rmsnorm"]),
    bias=st.booleans(),
    activation=st.sampled_from(["relu", "gelu"]),
    causal=st.booleans(),
    saturated=st.booleans(),
    seed=st.integers(0, 1000),
)
def test_mp_encoder_matches_torch(placement, norm, bias, activation, causal, saturated, seed):
    cfg = EncoderConfig(
        vocab_size=5,
        d_model=4,
        n_heads=2,
        d_head=2,
        d_ff=6,
        n_layers=2,
        max_len=4,
        placement=placement,
        norm=norm,
        bias=bias,
        activation=activation,
        final_norm=True,
        causal=causal,
    )
    enc = Encoder(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(seed))
    ids, pad = [1, 3, 0, 3], [True, True, True, False]
    with torch.no_grad():
        theirs = enc(torch.tensor([ids]), torch.tensor([pad]), saturated=saturated)[0]
    try:
        ours = MpEncoder.from_torch(enc).run(ids, pad, saturated=saturated, digits=30)
    except HomogeneityInputError:  # LN of D9 at a constant row: torch gives NaN
        assert torch.isnan(theirs).any()
        return
    assert [float(v) for row in ours for v in row] == pytest.approx(
        theirs.reshape(-1).tolist(), rel=1e-9, abs=1e-10
    )


def test_scaling_a_group_matches_torch_and_reaches_beyond_float64() -> None:
    cfg = EncoderConfig(vocab_size=4, d_model=3, n_heads=1, d_head=2, d_ff=4, n_layers=1, max_len=3)
    enc = Encoder(cfg, dtype=torch.float64, generator=torch.Generator().manual_seed(1))
    mp = MpEncoder.from_torch(enc)
    with torch.no_grad():
        scaled = {n: (3.0 * p if n.startswith("layers") else p) for n, p in enc.named_parameters()}
        theirs = torch.func.functional_call(enc, scaled, (torch.tensor([[0, 1, 2]]),))[0]
    ours = mp.at(3, ["layers.*"]).run([0, 1, 2], digits=30)
    huge = mp.at("1e400").run([0, 1, 2], digits=30)
    assert [float(v) for r in ours for v in r] == pytest.approx(
        theirs.reshape(-1).tolist(), rel=1e-9
    )
    assert all(mpmath.isfinite(v) for r in huge for v in r)
    with pytest.raises(HomogeneityInputError, match="match no parameter"):
        mp.w.at(2, ["nothing.*"])
