"""The `TFC_` op set: every custom code with its current version, and the flexbuffer
`custom_options` they carry (a map that always holds `version`), read and checked at prepare
time or written by the converter. docs/ops.md specifies the ops."""

from __future__ import annotations

from flatbuffers import flexbuffers

from tfcompress.reference.common import OpError
from tfcompress.reference.graph import Operator

EMBEDDING_BAG = "TFC_EMBEDDING_BAG"
SPARSE_GATHER = "TFC_SPARSE_GATHER"
SPARSE_FULLY_CONNECTED = "TFC_SPARSE_FULLY_CONNECTED"
STRUCTURES = ("lmf", "hmf", "kp", "dkp")
STRUCTURED_FULLY_CONNECTED = {kind: f"TFC_{kind.upper()}_FULLY_CONNECTED" for kind in STRUCTURES}
STRUCTURED_EMBEDDING_BAG = {kind: f"TFC_{kind.upper()}_EMBEDDING_BAG" for kind in (*STRUCTURES, "sparse")}
STRUCTURED_GATHER = {kind: f"TFC_{kind.upper()}_GATHER" for kind in STRUCTURES}
LSTM, GRU = "TFC_LSTM", "TFC_GRU"
# The recurrent ops' `input_structure` / `recurrent_structure` option: an index into this tuple.
RECURRENT_KINDS = ("dense", *STRUCTURES)

VERSIONS = {EMBEDDING_BAG: 1, SPARSE_GATHER: 1, SPARSE_FULLY_CONNECTED: 1,
            **{name: 1 for name in STRUCTURED_FULLY_CONNECTED.values()},
            **{name: 1 for name in STRUCTURED_EMBEDDING_BAG.values()},
            **{name: 1 for name in STRUCTURED_GATHER.values()}, LSTM: 1, GRU: 1}


def read_options(op: Operator, fields: dict[str, type]) -> dict:
    """The op's flexbuffer options, checked: a map with `version` <= ours and every field of `fields`."""
    try:
        options = flexbuffers.Loads(op.custom_options) if op.custom_options else None
    except Exception as err:  # flexbuffers raises several types on damaged bytes
        raise OpError(op, f"custom_options is not a flexbuffer ({err})") from None
    if not isinstance(options, dict):
        raise OpError(op, "custom_options must be a flexbuffer map")
    for name, kind in {"version": int, **fields}.items():
        if name not in options:
            raise OpError(op, f"custom_options has no {name!r}")
        if not isinstance(options[name], kind) or isinstance(options[name], bool):
            raise OpError(op, f"custom_options field {name!r} must be {kind.__name__}, got {options[name]!r}")
    if not 1 <= options["version"] <= VERSIONS[op.name]:
        raise OpError(op, f"version {options['version']} is not supported (this tfcompress reads up to "
                          f"{VERSIONS[op.name]}); update tfcompress")
    return options


def encode_options(op_name: str, **fields) -> bytes:
    """The flexbuffer `custom_options` of a TFC_ op, with its current version."""
    return bytes(flexbuffers.Dumps({"version": VERSIONS[op_name], **fields}))
