"""scikit-learn's bundled handwritten digits (1797 images of 8x8 pixels, 10 classes), split once and for all."""

from __future__ import annotations

from functools import lru_cache

import torch

from accelbench.data import Dataset, Split

SPLIT_SEED = 0  # changing it changes every trained model (it is part of the weights' cache key)
TEST_FRACTION = 0.2  # 360 images
VAL_FRACTION = 0.2  # of the whole set: 360 images for calibration and early checks; 1077 remain for training


@lru_cache(maxsize=1)
def digits_dataset() -> Dataset:
    """Stratified train/val/test splits; pixels scaled from 0..16 to 0..1, images shaped (N, 1, 8, 8)."""
    # imported here: scikit-learn takes about 1.8 s to import, which every process that never loads the digits
    # (a selection of simulated cases, `--collect-only`, a subprocess in the tests) would pay
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split

    bunch = load_digits()
    x = torch.tensor(bunch.images, dtype=torch.float32).unsqueeze(1) / 16.0
    y = torch.tensor(bunch.target, dtype=torch.int64)
    index = torch.arange(len(y)).numpy()
    rest, test = train_test_split(index, test_size=TEST_FRACTION, stratify=y, random_state=SPLIT_SEED)
    train, val = train_test_split(
        rest, test_size=VAL_FRACTION / (1 - TEST_FRACTION), stratify=y[rest], random_state=SPLIT_SEED
    )
    pick = lambda ids: Split(x[ids].contiguous(), y[ids].contiguous())  # noqa: E731
    return Dataset(train=pick(train), val=pick(val), test=pick(test))
