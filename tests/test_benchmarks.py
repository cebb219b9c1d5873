from tfcompress.benchmarks import format_pareto, pareto


def test_pareto_runs_each_method_and_formats_a_table(pooled_model, tiny_dataset, tmp_path):
    out = tmp_path / "p.json"
    results = pareto(pooled_model, tiny_dataset, [2], ["lmf", "prune"], epochs=1, out_path=out, log=lambda m: None)
    assert [r["method"] for r in results["runs"]] == ["lmf", "prune"]
    assert all(r["bytes"] * 2 <= results["baseline"]["bytes"] for r in results["runs"])
    assert out.is_file()
    table = format_pareto(results)
    assert table.count("\n") == 4 and "| 1x | uncompressed |" in table
