"""Small data builders shared by the tests."""

from __future__ import annotations

import json
from pathlib import Path

SHARED_DATASETS = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"

TINY_INTENTS = {
    "lights_on": ["turn on the {} lights", "switch the {} light on", "lights on in the {}"],
    "lights_off": ["turn off the {} lights", "switch the {} light off", "lights off in the {}"],
    "play_music": ["play some {} music", "put on {} songs", "i want to hear {} tunes"],
    "weather": ["what is the weather in {}", "will it rain in {}", "forecast for {} please"],
}
FILLERS = ["kitchen", "bedroom", "garden", "office", "hall", "jazz", "rock", "paris", "oslo", "rome", "lima", "attic"]


def tiny_records(offset: int, count: int) -> list[dict]:
    records = []
    for intent, templates in TINY_INTENTS.items():
        for k in range(count):
            template = templates[(k + offset) % len(templates)]
            records.append({"text": template.format(FILLERS[(k * 5 + offset) % len(FILLERS)]), "intent": intent})
    return records


def write_jsonl(path: Path, records: list[dict]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records))
    return path


def tiny_ratio(method: str) -> float:
    """A compression ratio every method reaches on the tiny models of conftest.py: their layers are
    so small that per-column scales and biases leave low rank little room."""
    return 1.4 if method == "hmf" else 1.8


def tiny_compress_options(model, method: str, **options):
    """CompressOptions for a tiny model at `tiny_ratio(method)` with the plan fixed (the whole
    vocabulary, the default allocation): tests of what a plan converts to, not of the plan search
    (tests/compression/test_search.py)."""
    from tfcompress.options import DEFAULT_ALLOCATION, CompressOptions

    fixed = {} if method == "small" else {"vocab_size": model.config.vocab_size, "allocation": DEFAULT_ALLOCATION}
    return CompressOptions(**{"method": method, "target_ratio": tiny_ratio(method), **fixed, **options})


def board_tools_missing(port: str = "cortex_m") -> str | None:
    """Why the emulated-board tests of `port` (cortex_m, riscv) cannot run here (None: they can);
    ./setup.sh installs the tools."""
    import shutil

    from tfcompress.device.build import TOOLS
    from tfcompress.device.qemu import QEMU

    tools = (TOOLS[port]["cmake"], TOOLS[port]["compiler"], QEMU[port])
    missing = [tool for tool in tools if shutil.which(tool) is None]
    return f"needs {', '.join(missing)} (./setup.sh installs them)" if missing else None
