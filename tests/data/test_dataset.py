import json

import pytest

from tests.helpers import SHARED_DATASETS, tiny_records, write_jsonl
from tfcompress.data import load_dataset, read_split
from tfcompress.data.dataset import UNSEEN, holdout_split
from tfcompress.errors import DatasetError


def test_reads_jsonl_and_skips_blank_lines(tmp_path):
    path = tmp_path / "train.jsonl"
    path.write_text('{"text": "turn on", "intent": "on"}\n\n{"text": " lights\\noff ", "intent": "off"}\n')
    split = read_split(path)
    assert split.texts == ("turn on", " lights\noff ")
    assert split.intents == ("on", "off")
    assert split.lines == (1, 3)


def test_reads_csv(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text('text,intent\n"hello, there",greet\nbye,leave\n')
    split = read_split(path)
    assert split.texts == ("hello, there", "bye")
    assert split.intents == ("greet", "leave")


@pytest.mark.parametrize(
    "content, message, line",
    [
        ('{"text": "a", "intent": "x"}\n{"text": "b", "intent": \n', "bad JSON", 2),
        ('{"text": "a", "intent": "x"}\n{"text": "b"}\n', "missing field 'intent'", 2),
        ('{"intent": "x"}\n', "missing field 'text'", 1),
        ('{"text": "a", "intent": "x"}\n{"text": "  \\n ", "intent": "x"}\n', "field 'text' is empty", 2),
        ('{"text": "a", "intent": ""}\n', "field 'intent' is empty", 1),
        ('["a", "x"]\n', "expected a JSON object", 1),
    ],
)
def test_bad_jsonl_names_file_and_line(tmp_path, content, message, line):
    path = tmp_path / "train.jsonl"
    path.write_text(content)
    with pytest.raises(DatasetError) as err:
        read_split(path)
    assert err.value.line == line
    assert f"{path}:{line}" in str(err.value)
    assert message in str(err.value)


def test_bad_csv_header_and_row(tmp_path):
    path = tmp_path / "train.csv"
    path.write_text("utterance,intent\nhi,greet\n")
    with pytest.raises(DatasetError, match="missing column 'text'"):
        read_split(path)
    path.write_text("text,intent\nhi,greet\nhello\n")
    with pytest.raises(DatasetError, match=r"train.csv:3: expected 2 columns"):
        read_split(path)


def test_missing_file_and_unknown_format(tmp_path):
    with pytest.raises(DatasetError, match="no such file"):
        read_split(tmp_path / "nope.jsonl")
    (tmp_path / "data.txt").write_text("x")
    with pytest.raises(DatasetError, match="unknown format"):
        read_split(tmp_path / "data.txt")
    with pytest.raises(DatasetError, match="missing: no such file or folder"):
        load_dataset(str(tmp_path / "missing"))
    with pytest.raises(DatasetError, match="no such dataset: name one of banking77, clinc150"):
        load_dataset("clinc151")


def test_a_missing_data_file_is_no_such_file_not_no_such_dataset(monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(DatasetError, match=r"^x.jsonl: no such file$"):
        load_dataset("x.jsonl")


@pytest.mark.parametrize("suffix", [".csv", ".jsonl"])
def test_a_byte_order_mark_is_accepted(tmp_path, suffix):
    """Spreadsheet programs save CSV (and some editors JSON Lines) with a UTF-8 byte-order mark."""
    path = tmp_path / f"train{suffix}"
    body = "text,intent\nturn on the light,lights_on\n" if suffix == ".csv" else \
        '{"text": "turn on the light", "intent": "lights_on"}\n'
    path.write_bytes(b"\xef\xbb\xbf" + body.encode())
    split = read_split(path)
    assert split.texts == ("turn on the light",) and split.intents == ("lights_on",)


def test_a_set_too_small_to_hold_out_validation_says_so(tmp_path):
    path = write_jsonl(tmp_path / "one_each.jsonl", [{"text": "lights on", "intent": "on"},
                                                     {"text": "lights off", "intent": "off"}])
    with pytest.raises(DatasetError, match=r"one_each.jsonl: too small to hold out a validation split"):
        load_dataset(str(path))


def test_an_intent_only_in_test_is_unseen_and_refused_with_strict_labels(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", tiny_records(0, 3))
    records = tiny_records(1, 1) + [{"text": "order a pizza", "intent": "order_food"}]
    write_jsonl(tmp_path / "test.jsonl", records)
    dataset = load_dataset(str(tmp_path))
    assert dataset.unseen == ("order_food",) and "order_food" not in dataset.labels
    assert dataset.unseen_rows(dataset.test) == 1 and dataset.unseen_rows(dataset.valid) == 0
    assert dataset.label_ids(dataset.test)[-1] == UNSEEN and min(dataset.label_ids(dataset.test)[:-1]) >= 0
    assert dataset.unseen_note("test").startswith(f"1 of {len(records)} test rows")
    assert "(order_food): counted as errors" in dataset.unseen_note("test") and dataset.unseen_note("valid") is None
    with pytest.raises(DatasetError) as err:
        load_dataset(str(tmp_path), strict_labels=True)
    assert f"test.jsonl:{len(records)}" in str(err.value)
    assert "'order_food' does not occur in the training split" in str(err.value)


def test_folder_without_valid_gets_a_stratified_holdout(tmp_path):
    write_jsonl(tmp_path / "train.jsonl", tiny_records(0, 20))
    dataset = load_dataset(str(tmp_path))
    assert len(dataset.valid) == 8 and len(dataset.train) == 72
    assert set(dataset.valid.intents) == set(dataset.labels)


def test_holdout_is_deterministic(tiny_dataset):
    a = holdout_split(tiny_dataset.train, seed=3)
    b = holdout_split(tiny_dataset.train, seed=3)
    assert a == b


def test_labels_sorted_and_ids(tiny_dataset):
    assert list(tiny_dataset.labels) == sorted(tiny_dataset.labels)
    ids = tiny_dataset.label_ids(tiny_dataset.test)
    assert [tiny_dataset.labels[i] for i in ids] == list(tiny_dataset.test.intents)


def test_named_dataset_through_env_and_flag(tmp_path, monkeypatch):
    folder = tmp_path / "snips" / "slotgated_split"
    folder.mkdir(parents=True)
    write_jsonl(folder / "train.jsonl", tiny_records(0, 4))
    write_jsonl(folder / "test.jsonl", tiny_records(1, 2))
    assert load_dataset("snips", data_dir=tmp_path).name == "snips"
    monkeypatch.setenv("TFCOMPRESS_DATA_DIR", str(tmp_path))
    assert len(load_dataset("snips").test) == 8
    monkeypatch.setenv("TFCOMPRESS_DATA_DIR", str(tmp_path / "elsewhere"))
    with pytest.raises(DatasetError, match="no such dataset folder"):
        load_dataset("snips")


def test_demo_dataset_loads_without_files():
    dataset = load_dataset("demo")
    assert len(dataset.labels) >= 10 and len(dataset.train) > 2000
    assert set(dataset.test.intents) <= set(dataset.labels)


@pytest.mark.skipif(not SHARED_DATASETS.is_dir(), reason="shared datasets not checked out beside the project")
@pytest.mark.parametrize("name, sizes, labels", [
    ("snips", (13084, 700, 700), 7),
    ("clinc150", (15100, 3100, 5500), 151),
])
def test_real_datasets_load_by_name(name, sizes, labels):
    dataset = load_dataset(name, data_dir=SHARED_DATASETS)
    assert (len(dataset.train), len(dataset.valid), len(dataset.test)) == sizes
    assert len(dataset.labels) == labels
    assert dataset.oos_label == ("oos" if name == "clinc150" else None)


def test_write_demo_data_roundtrip(tmp_path):
    from tfcompress.data.registry import write_demo_dataset

    write_demo_dataset(tmp_path)
    first = json.loads((tmp_path / "train.jsonl").read_text().splitlines()[0])
    assert set(first) == {"text", "intent"}
    assert load_dataset(str(tmp_path)).labels == load_dataset("demo").labels


def test_a_utf16_csv_is_refused_in_one_line(tmp_path):
    path = tmp_path / "train.csv"
    path.write_bytes("text,intent\nhello,greet\n".encode("utf-16"))
    with pytest.raises(DatasetError, match=r"train.csv:1: not UTF-8 text"):
        read_split(path)
