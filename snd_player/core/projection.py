"""2-D projection of target features while the agent plays (Qt-free).

Why PCA, refitted incrementally, and not the t-SNE of the SND figures (snd-spec §7)?

- t-SNE is non-parametric: it places a fixed set of points and cannot put a new frame on the existing map,
  so the map would have to be recomputed (seconds) and would rearrange itself every time. A linear map
  ``(f - mean) @ W`` places each new frame in microseconds and keeps old points where they were.
- The basis is refitted every ``refit_every`` (64) frames on a *reservoir* of features (Vitter's algorithm R,
  2048 slots) drawn uniformly from everything seen in the session, plus the most recent frames. Uniform
  sampling keeps early rooms in the fit when the agent has moved on; the recent window makes a room the
  agent has just discovered count at once.
- Each refit is a few steps of orthogonal (subspace) iteration on the reservoir's covariance, warm-started
  from the previous basis and sign-aligned with it. That costs O(reservoir * F) per iteration instead of a
  full SVD, converges to the top two principal axes, and moves the axes smoothly, so the picture does not
  flip or jump when it is refitted.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Basis:
    """A fitted projection: ``coords = (features - mean) @ components.T``."""

    mean: np.ndarray  # (F,)
    components: np.ndarray  # (2, F), orthonormal rows
    version: int
    explained: tuple[float, float]  # fraction of the reservoir's variance along each axis

    def project(self, features: np.ndarray) -> np.ndarray:
        """(n, F) -> (n, 2) float32."""
        return ((features - self.mean) @ self.components.T).astype(np.float32, copy=False)


class FeatureProjector:
    """Collects features and refits a 2-D PCA basis every ``refit_every`` additions."""

    def __init__(
        self,
        refit_every: int = 64,
        reservoir: int = 2048,
        recent: int = 256,
        iterations: int = 4,
        seed: int = 0,
    ) -> None:
        self.refit_every = refit_every
        self.capacity = reservoir
        self.recent_size = recent
        self.iterations = iterations
        self._rng = np.random.default_rng(seed)
        self._res: np.ndarray | None = None  # (reservoir, F)
        self._recent: np.ndarray | None = None  # (recent, F) ring buffer
        self._seen = 0
        self._since_fit = 0
        self.basis: Basis | None = None

    def add(self, f: np.ndarray) -> Basis | None:
        """Add one feature vector (F,); returns the new basis when this addition triggered a refit."""
        if f.size == 0:
            return None
        if self._res is None:
            self._res = np.zeros((self.capacity, f.shape[0]), np.float32)
            self._recent = np.zeros((self.recent_size, f.shape[0]), np.float32)
        assert self._recent is not None
        self._recent[self._seen % self.recent_size] = f
        if self._seen < self.capacity:
            self._res[self._seen] = f
        else:
            j = int(self._rng.integers(0, self._seen + 1))
            if j < self.capacity:
                self._res[j] = f
        self._seen += 1
        self._since_fit += 1
        # the first fits come early (8, 16, 32 frames) so the panel is not empty for long
        due = self._since_fit >= self.refit_every or (
            self.basis is None and self._seen >= 8 and (self._seen & (self._seen - 1)) == 0
        )
        if due:
            return self.refit()
        return None

    def data(self) -> np.ndarray:
        assert self._res is not None and self._recent is not None
        return np.concatenate(
            [self._res[: min(self._seen, self.capacity)], self._recent[: min(self._seen, self.recent_size)]]
        )

    def refit(self) -> Basis | None:
        if self._seen < 3:
            return None
        self._since_fit = 0
        # float32 throughout: half the memory traffic of float64 (this runs every 64 frames beside the
        # stepping), and a picture's axes need no more digits
        x = self.data()  # (n, F) float32
        mean = x.mean(0, dtype=np.float64).astype(np.float32)
        xc = x - mean
        prev = self.basis
        if prev is None or prev.components.shape[1] != x.shape[1]:
            # first fit: exact, from the thin SVD
            _, _, vt = np.linalg.svd(xc, full_matrices=False)
            w = vt[:2]
            if w.shape[0] < 2:
                w = np.vstack([w, np.zeros((2 - w.shape[0], x.shape[1]))])
        else:
            w = prev.components
            for _ in range(self.iterations):
                z = (xc @ w.T).T @ xc  # (2, F) = W C, C the (unnormalised) covariance
                q, _ = np.linalg.qr(z.T)  # (F, 2)
                w = q.T
            # keep each axis pointing the way it did, so the picture does not mirror itself
            signs = np.sign(np.sum(w * prev.components, axis=1))
            w = w * np.where(signs == 0, 1.0, signs)[:, None]
        proj = (xc @ w.T).astype(np.float64)
        total = float(np.vdot(xc, xc)) or 1.0
        explained = (float((proj[:, 0] ** 2).sum() / total), float((proj[:, 1] ** 2).sum() / total))
        version = prev.version + 1 if prev is not None else 1
        self.basis = Basis(mean.astype(np.float32), w.astype(np.float32), version, explained)
        return self.basis
