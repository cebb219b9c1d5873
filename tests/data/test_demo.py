import hashlib
import json
import os
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

from tfcompress.data.demo import DEMO_INTENTS, generate_demo_splits

SPLITS = ("train", "valid", "test")
REPO_ROOT = Path(__file__).resolve().parents[2]


def _norm(text: str) -> str:
    # Same word split as tfcompress.tokenizer.split_words for ASCII text.
    return " ".join(re.findall(r"[a-z0-9]+", text.lower()))


@pytest.fixture(scope="module")
def splits():
    return generate_demo_splits()


def test_intents_are_unique_snake_case():
    assert 14 <= len(DEMO_INTENTS) <= 20
    assert len(set(DEMO_INTENTS)) == len(DEMO_INTENTS)
    assert all(re.fullmatch(r"[a-z]+(_[a-z]+)*", name) for name in DEMO_INTENTS)


def test_deterministic_for_same_seed(splits):
    assert generate_demo_splits(0) == splits
    assert generate_demo_splits(seed=7) == generate_demo_splits(seed=7)


def test_different_seed_differs(splits):
    assert generate_demo_splits(1) != splits


def test_deterministic_across_processes():
    # Different hash seeds would expose any accidental dependence on set/dict-of-str ordering.
    code = (
        "import hashlib, json; from tfcompress.data.demo import generate_demo_splits; "
        "print(hashlib.sha256(json.dumps(generate_demo_splits(3)).encode()).hexdigest())"
    )
    digests = set()
    for hash_seed in ("1", "2"):
        result = subprocess.run(
            [sys.executable, "-c", code],
            cwd=REPO_ROOT,
            env={**os.environ, "PYTHONHASHSEED": hash_seed, "PYTHONPATH": str(REPO_ROOT)},
            capture_output=True,
            text=True,
            check=True,
        )
        digests.add(result.stdout.strip())
    local = hashlib.sha256(json.dumps(generate_demo_splits(3)).encode()).hexdigest()
    assert digests == {local}


def test_split_keys_and_types(splits):
    assert set(splits) == set(SPLITS)
    for rows in splits.values():
        assert all(isinstance(t, str) and isinstance(i, str) for t, i in rows)


def test_split_sizes(splits):
    counts = {name: Counter(intent for _, intent in splits[name]) for name in SPLITS}
    for intent in DEMO_INTENTS:
        assert 150 <= counts["train"][intent] <= 200
        assert 25 <= counts["valid"][intent] <= 35
        assert 40 <= counts["test"][intent] <= 60
    assert 2400 <= len(splits["train"]) <= 3300


def test_every_intent_in_every_split(splits):
    for name in SPLITS:
        assert {intent for _, intent in splits[name]} == set(DEMO_INTENTS)


def test_no_empty_or_unfilled_texts(splits):
    for name in SPLITS:
        for text, _ in splits[name]:
            assert text.strip()
            assert text == text.strip()
            assert "{" not in text and "}" not in text


def test_no_text_shared_within_or_across_splits(splits):
    all_texts = [text for name in SPLITS for text, _ in splits[name]]
    assert len(set(all_texts)) == len(all_texts)
    # Also after case/punctuation normalisation, so no near-duplicate leaks into eval.
    normalised = [_norm(text) for text in all_texts]
    assert len(set(normalised)) == len(normalised)


def test_eval_contains_held_out_material(splits):
    train_vocab = {w for text, _ in splits["train"] for w in _norm(text).split()}
    for name in ("valid", "test"):
        novel = sum(
            any(w not in train_vocab for w in _norm(text).split()) for text, _ in splits[name]
        )
        assert novel / len(splits[name]) > 0.1


def test_has_surface_variation(splits):
    texts = [text for text, _ in splits["train"]]
    assert any(t[0].isupper() for t in texts)
    assert any(t.endswith("?") for t in texts)
    assert any(t.endswith(("!", ".")) for t in texts)
