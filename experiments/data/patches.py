"""Image patches as spike probabilities: 5x5 digit patches and 16x16 natural ON/OFF patches
(the embedded data of the science notes, data.md §1; features.md §2 for the protocol).

Every patch is a vector of per-step spike probabilities in [0, 1], ready for Bernoulli coding.
"""

from __future__ import annotations

import numpy as np

#: data.md: photographs with natural statistics among scikit-image's bundled images.
NATURAL_IMAGES = ("camera", "astronaut", "coffee", "chelsea", "rocket", "grass", "gravel", "coins")


def digit_patches(images: np.ndarray, size: int = 5) -> np.ndarray:
    """Every stride-1 ``size`` x ``size`` patch of ``images`` (n, H, W; values 0..255), zero
    padded so that each pixel is a patch centre, empty patches skipped; (patches, size**2)
    probabilities pixel/255."""
    pad = size // 2
    padded = np.pad(images / 255.0, ((0, 0), (pad, pad), (pad, pad)))
    windows = np.lib.stride_tricks.sliding_window_view(padded, (size, size), axis=(1, 2))
    flat = windows.reshape(-1, size * size)
    return flat[flat.sum(axis=1) > 0]


def dog_filtered(image: np.ndarray, centre_px: float = 1.0, surround_px: float = 2.0):
    """Difference of Gaussians (retina-like centre-surround): removes the mean luminance and
    the slow gradients, so that a patch is its edges."""
    from scipy import ndimage

    return ndimage.gaussian_filter(image, centre_px) - ndimage.gaussian_filter(image, surround_px)


def natural_patches(n: int, seed: int, size: int = 16, images=NATURAL_IMAGES) -> np.ndarray:
    """``n`` random ``size`` x ``size`` crops of the DoG-filtered grey photographs, split into
    ON (positive) and OFF (negative) channels because spike probabilities cannot be negative;
    (n, 2 size**2): ON pixels first. The scale maps the 99th percentile of |DoG| over all
    images to probability 1 (clipped); the crops are drawn with equal weight per image, and
    the flattest tenth of candidates (sky, blur) is skipped."""
    from skimage import color, data

    rng = np.random.default_rng(seed)
    filtered = []
    for name in images:
        image = getattr(data, name)()
        grey = color.rgb2gray(image) if image.ndim == 3 else image / 255.0
        filtered.append(dog_filtered(np.asarray(grey, dtype=float)))
    scale = np.percentile(np.abs(np.concatenate([f.ravel() for f in filtered])), 99)
    per_image = -(-n * 10 // 9 // len(images)) + 1  # enough candidates to skip a tenth
    candidates = []
    for image in filtered:
        rows = rng.integers(0, image.shape[0] - size + 1, per_image)
        cols = rng.integers(0, image.shape[1] - size + 1, per_image)
        for r, c in zip(rows, cols, strict=True):
            candidates.append(image[r : r + size, c : c + size].ravel() / scale)
    candidates = np.array(candidates)
    contrast = np.abs(candidates).sum(axis=1)
    kept = candidates[contrast > np.percentile(contrast, 10)]
    kept = kept[rng.permutation(len(kept))[:n]]
    return np.clip(np.concatenate([kept, -kept], axis=1), 0, 1)
