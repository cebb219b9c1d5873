"""tfcompress.structures: the spec every part shares, importable without TensorFlow."""

import subprocess
import sys

from tfcompress.structures.spec import Structure, sparse_storage_bytes


def test_the_spec_the_planner_and_the_options_import_without_tensorflow():
    code = ("import sys, tfcompress.structures.spec, tfcompress.structures.decompose, tfcompress.compression.plan, "
            "tfcompress.options, tfcompress.outputs; print('tensorflow' in sys.modules)")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "False"


def test_storage_bytes_count_factors_sparse_indices_and_scales():
    # lmf as a fully connected op: U, V, then float32 scales: U's, one per output column, the intermediate's
    assert Structure("lmf", rank=4).storage_bytes(100, 50) == 4 * (100 + 50) + 4 * (1 + 50 + 1)
    assert Structure("lmf", rank=4).storage_bytes(100, 50, role="lookup") == 4 * (100 + 50) + 4 * (1 + 50)
    dkp = Structure("dkp", a_shape=(10, 5), b_shape=(10, 10), density=0.01)
    assert dkp.storage_bytes(100, 50) == 10 * 5 + 10 * 10 + sparse_storage_bytes(100, 50, 50) + 4 * (5 + 10 + 1 + 1)
    # a dense matrix is a builtin tensor: a float32 scale and an int64 zero point per output channel
    assert Structure().storage_bytes(100, 50) == 100 * 50 + 12 * 50
    assert Structure().storage_bytes(100, 50, role="lookup") == 100 * 50 + 12
    assert Structure().storage_bytes(100, 50, role="recurrent") == 100 * 50 + 4 * 50  # inside TFC_LSTM / TFC_GRU
    assert dkp.describe(100, 50) == "Kronecker A 10x5 * B 10x10 + sparse S 1.00% (50 entries)"
