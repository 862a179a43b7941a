"""Per-group sums of θ_t and δ_t products, from one preallocated flat buffer.

A tracker record needs, for every parameter group G (SPEC D6, A1, E1),

    Σ_G θ_t²,   Σ_G θ_t δ_t,   Σ_G δ_t²        (δ_t = θ_{t+1} − θ_t),

at a cost that is small against a training step. :class:`GroupSums` gets them with a
fixed number of tensor operations whatever the number of parameter tensors:

* the tracked tensors are ordered so that tensors belonging to exactly the same groups
  (an *atom* of the groups) are adjacent; every group is a union of atoms, and every atom
  a contiguous range of one flat vector;
* θ_t and θ_{t+1} are copied into the two rows of a preallocated buffer (one
  ``torch._foreach_copy_`` each, no concatenation), in the parameters' common dtype
  (float64 if they differ), and δ_t is formed in place in that dtype;
* the three products are formed in that dtype and written (exactly) into a float64
  buffer, summed once per atom in float64, and the per-group sums are one product with the
  0/1 atom-by-group matrix.

So the products are those of the parameters' dtype and the sums are float64, as a
per-tensor ``(θ * δ).sum(dtype=torch.float64)`` would give them; only the order of the
float64 additions differs.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import torch


class GroupSums:
    """Σ θ², Σ θδ, Σ δ² per group for the parameters ``params`` (name → tensor, read
    only) and ``groups`` (group name → parameter names)."""

    def __init__(
        self, params: Mapping[str, torch.Tensor], groups: Mapping[str, Sequence[str]]
    ) -> None:
        self.group_names = list(groups)
        members = [set(names) for names in groups.values()]
        tracked = sorted({n for names in groups.values() for n in names})
        atoms: dict[tuple[bool, ...], list[str]] = {}
        for n in tracked:
            atoms.setdefault(tuple(n in m for m in members), []).append(n)
        #: the tracked names in buffer order (atom by atom)
        self.names = [n for names in atoms.values() for n in names]
        self.tensors = [params[n] for n in self.names]
        self._sizes = [t.numel() for t in self.tensors]
        self._shapes = [t.shape for t in self.tensors]
        self._ranges: list[tuple[int, int]] = []
        start = 0
        for names in atoms.values():
            end = start + sum(params[n].numel() for n in names)
            self._ranges.append((start, end))
            start = end
        self._membership = torch.tensor(
            [list(signature) for signature in atoms], dtype=torch.float64
        )  # atoms × groups
        self._key: tuple[torch.dtype, torch.device] | None = None
        self._pair = torch.empty(2, 0)
        self._products = torch.empty(3, 0, dtype=torch.float64)
        self._rows: tuple[list[torch.Tensor], list[torch.Tensor]] = ([], [])

    # -- the buffers -------------------------------------------------------------------
    def _allocate(self) -> None:
        """(Re)allocate the buffers when the parameters' dtype or device changed."""
        dtypes = {t.dtype for t in self.tensors}
        dtype = next(iter(dtypes)) if len(dtypes) == 1 else torch.float64
        device = self.tensors[0].device
        if self._key == (dtype, device):
            return
        self._key = (dtype, device)
        n = sum(self._sizes)
        self._pair = torch.empty(2, n, dtype=dtype, device=device)
        self._products = torch.empty(3, n, dtype=torch.float64, device=device)
        first, second = (
            [v.view(s) for v, s in zip(row.split(self._sizes), self._shapes, strict=True)]
            for row in self._pair
        )
        self._rows = (first, second)
        self._membership = self._membership.to(device)

    def _sums(self, products: torch.Tensor) -> list[list[float]]:
        """rows × flat products (float64) → rows × groups sums, as Python floats."""
        if len(self._ranges) == 1:
            per_atom = products.sum(1, keepdim=True)
        else:
            per_atom = torch.stack([products[:, s:e].sum(1) for s, e in self._ranges], 1)
        return (per_atom @ self._membership).tolist()

    # -- what a tracker calls ------------------------------------------------------------
    def snapshot(self) -> None:
        """Copy θ_t (the parameters now) into the first row."""
        self._allocate()
        torch._foreach_copy_(self._rows[0], self.tensors)

    def step(self) -> tuple[list[float], list[float], list[float]]:
        """(Σ θ_t², Σ θ_t δ_t, Σ δ_t²) per group, θ_t the last snapshot and θ_{t+1} the
        parameters now (copied into the second row, which then holds δ_t)."""
        theta, delta = self._pair
        torch._foreach_copy_(self._rows[1], self.tensors)
        delta.sub_(theta)
        torch.mul(self._pair, theta, out=self._products[:2])  # θ², δθ
        torch.mul(delta, delta, out=self._products[2])
        squares, dots, step_squares = self._sums(self._products)
        return squares, dots, step_squares

    def squares_now(self) -> list[float]:
        """Σ θ² per group at the parameters now (the snapshot row is left alone)."""
        self._allocate()
        torch._foreach_copy_(self._rows[1], self.tensors)
        current = self._pair[1]
        torch.mul(current, current, out=self._products[0])
        return self._sums(self._products[:1])[0]

    def snapshot_values(self) -> dict[str, torch.Tensor]:
        """The snapshot θ_t as tensors shaped like the parameters (views of the buffer)."""
        return dict(zip(self.names, self._rows[0], strict=True))

    def current_values(self) -> dict[str, torch.Tensor]:
        """The values copied by the last :meth:`squares_now` (views of the buffer)."""
        return dict(zip(self.names, self._rows[1], strict=True))
