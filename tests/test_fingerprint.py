"""What a spec trains to is part of every cache key (``train.CODE_VERSION``): a change to the
trainer that changes results must bump it, or the runs cache would serve old results as new.

Two tiny specs are trained on the CPU with one thread (a run's bits depend on the number of
threads: intra-op reductions split differently) and their final weights and test logits are
hashed. A mismatch means training results changed: bump ``train.CODE_VERSION`` on purpose and
record the new digests under the new version below.
"""
import hashlib

import numpy as np
import pytest
import torch

from helpers import train

SPECS = [
    # dropout, augmentation, Adam; the four seeds distinct
    train.Spec(model="smallcnn", dataset="synthetic", n_train=256, n_test=64, epochs=2, batch_size=64,
               optimizer="adam", lr=2e-3, dropout=0.2, augment=True,
               seed_init=1, seed_order=2, seed_aug=3, seed_dropout=4),
    # BN, SGD with momentum and weight decay, cosine with warmup
    train.Spec(model="resnet8", width=0.5, dataset="synthetic", n_train=256, n_test=64, epochs=2,
               batch_size=64, lr=0.05, momentum=0.9, weight_decay=5e-4, schedule="cosine",
               warmup_epochs=0.5, augment=True).with_seed(7),
]
FINGERPRINTS = {1: ["ff53cfb6e07f9ddc", "52d63fd139c15aee"]}


def digest(t: train.Trained) -> str:
    h = hashlib.sha256()
    final = t.states[t.spec.epochs]
    for name in sorted(final):
        h.update(name.encode())
        h.update(final[name].cpu().numpy().tobytes())
    h.update(np.ascontiguousarray(t.logits[t.spec.epochs]).tobytes())
    return h.hexdigest()[:16]


@pytest.fixture
def one_thread():
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def test_training_results_match_the_recorded_fingerprint_of_this_code_version(one_thread):
    got = [digest(train.fit([s], device="cpu")[0]) for s in SPECS]
    want = FINGERPRINTS.get(train.CODE_VERSION)
    assert want is not None, (f"no fingerprint recorded for CODE_VERSION {train.CODE_VERSION}: "
                              f"add {train.CODE_VERSION}: {got} to FINGERPRINTS")
    assert got == want, ("training results changed: bump train.CODE_VERSION (every cached run is "
                         f"then retrained) and record {got} under the new version")
