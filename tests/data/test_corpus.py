import pytest

from tfcompress.data.corpus import EOS, load_corpus
from tfcompress.errors import DatasetError
from tests.helpers import SHARED_DATASETS


def _write(folder, train, valid, test):
    folder.mkdir(exist_ok=True)
    for name, text in (("train", train), ("valid", valid), ("test", test)):
        (folder / f"{name}.txt").write_text(text)


def test_lines_end_with_eos_and_ids_follow_frequency(tmp_path):
    _write(tmp_path, " b a b \n\n c b\n", "a b\n", "c <unk>\n")
    with pytest.raises(DatasetError, match=r"test.txt:1: word '<unk>' is not in the training vocabulary"):
        load_corpus(str(tmp_path))
    _write(tmp_path, " b a b <unk> \n\n c b\n", "a b\n", "c zzz\n")
    corpus = load_corpus(str(tmp_path))
    assert corpus.vocab == ("b", EOS, "a", "<unk>", "c")  # b x3, <eos> x3, then by first appearance
    assert corpus.train.tolist() == [1, 3, 1, 4, 2, 2, 5, 1, 2]
    assert corpus.test.tolist() == [5, 4, 2]  # unknown word -> <unk>
    assert corpus.vocab_size == 6


@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="shared datasets not checked out beside the project")
def test_wikitext2_matches_its_published_counts():
    corpus = load_corpus("wikitext-2", SHARED_DATASETS)
    assert (len(corpus.train), len(corpus.valid), len(corpus.test)) == (2088628, 217646, 245569)
    assert len(corpus.vocab) == 33278


def test_capped_vocabulary_maps_rare_words_to_unk(tmp_path):
    _write(tmp_path, "a a a b b c <unk>\n", "c\n", "d\n")
    corpus = load_corpus(str(tmp_path), max_vocab=4)
    assert corpus.vocab == ("a", "b", "<eos>", "<unk>")
    assert corpus.valid.tolist() == [4, 3] and corpus.train.tolist() == [1, 1, 1, 2, 2, 4, 4, 3]
