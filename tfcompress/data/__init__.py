"""Intent datasets: loading, validation and the built-in demo set."""

from tfcompress.data.dataset import IntentDataset, Split, read_split
from tfcompress.data.registry import NAMED_DATASETS, dataset_paths, load_dataset, resolve_data_dir

__all__ = ["IntentDataset", "Split", "read_split", "load_dataset", "dataset_paths", "resolve_data_dir",
           "NAMED_DATASETS"]
