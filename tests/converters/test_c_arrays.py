"""Compile the generated C arrays with the host compiler and check them from C."""

import json
import shutil
import subprocess

import pytest

from converters.c_arrays import c_string

CHECK_PROGRAM = r"""
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include "model_data.h"
#include "tokenizer_data.h"
#include "labels_data.h"

static int compare(const char *word, int k) {
  size_t start = tfc_vocab_offsets[k], n = tfc_vocab_offsets[k + 1] - start, w = strlen(word);
  int c = memcmp(word, tfc_vocab_text + start, w < n ? w : n);
  return c != 0 ? c : (w > n) - (w < n);
}

static int32_t lookup(const char *word) {
  int lo = 0, hi = TFC_VOCAB_WORDS - 1;
  while (lo <= hi) {
    int mid = (lo + hi) / 2, c = compare(word, mid);
    if (c == 0) return (int32_t)tfc_vocab_ids[mid];
    if (c < 0) hi = mid - 1; else lo = mid + 1;
  }
  return TFC_OOV_ID;
}

int main(int argc, char **argv) {
  if ((uintptr_t)g_model_data % 16 != 0) { fprintf(stderr, "misaligned\n"); return 2; }
  FILE *out = fopen(argv[1], "wb");
  fwrite(g_model_data, 1, g_model_data_len, out);
  fclose(out);
  printf("{\"len\": %u, \"max_length\": %d, \"labels\": [", g_model_data_len, TFC_MAX_LENGTH);
  for (int i = 0; i < TFC_NUM_LABELS; i++) printf("%s\"%s\"", i ? ", " : "", tfc_labels[i]);
  printf("], \"ids\": [");
  for (int i = 2; i < argc; i++) printf("%s%d", i > 2 ? ", " : "", (int)lookup(argv[i]));
  printf("], \"in\": %d, \"out\": %d, \"zp\": %d, \"scale\": %.9g}\n", TFC_MODEL_INPUT_LENGTH,
         TFC_MODEL_OUTPUT_LENGTH, TFC_MODEL_OUTPUT_ZERO_POINT, (double)TFC_MODEL_OUTPUT_SCALE);
  return 0;
}
"""


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
def test_generated_c_compiles_and_matches(pooled_bundle, pooled_model, tmp_path):
    (tmp_path / "check.c").write_text(CHECK_PROGRAM)
    sources = [str(pooled_bundle / f) for f in ("model_data.c", "tokenizer_data.c", "labels_data.c")]
    subprocess.run(["cc", "-std=c11", "-Wall", "-Wextra", "-Werror", "-pedantic", "-I", str(pooled_bundle),
                    str(tmp_path / "check.c"), *sources, "-o", str(tmp_path / "check")], check=True, timeout=120)
    words = [*pooled_model.tokenizer.vocab, "notaword"]
    run = subprocess.run([str(tmp_path / "check"), str(tmp_path / "dump.bin"), *words],
                         check=True, capture_output=True, text=True, timeout=30)
    result = json.loads(run.stdout)
    model = (pooled_bundle / "model.tflite").read_bytes()
    assert (tmp_path / "dump.bin").read_bytes() == model and result["len"] == len(model)
    assert result["ids"] == [pooled_model.tokenizer.token_ids(w)[0] for w in words]
    assert result["labels"] == list(pooled_model.labels)
    manifest = json.loads((pooled_bundle / "manifest.json").read_text())
    assert result["max_length"] == pooled_model.tokenizer.max_length == result["in"]
    assert result["out"] == len(pooled_model.labels) and result["zp"] == manifest["outputs"][0]["zero_point"]
    assert result["scale"] == pytest.approx(manifest["outputs"][0]["scale"], rel=1e-7)


@pytest.mark.skipif(shutil.which("cc") is None, reason="no host C compiler")
def test_c_string_escapes_roundtrip_through_the_compiler(tmp_path):
    values = ['plain', 'quote"back\\slash', 'trigraph??=', "caf\u00e9", "tab\there", "x\u00e91"]
    body = "".join(f"  fputs({c_string(v)}, stdout); putchar(0);\n" for v in values)
    (tmp_path / "s.c").write_text(f"#include <stdio.h>\nint main(void) {{\n{body}  return 0;\n}}\n")
    subprocess.run(["cc", "-std=c11", "-Wall", "-Werror", str(tmp_path / "s.c"), "-o", str(tmp_path / "s")],
                   check=True, timeout=60)
    out = subprocess.run([str(tmp_path / "s")], check=True, capture_output=True, timeout=30).stdout
    assert out.split(b"\0")[:-1] == [v.encode() for v in values]
