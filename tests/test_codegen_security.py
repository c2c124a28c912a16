"""A model file is untrusted input: none of its text reaches the generated C, README, file names or
commands (issue 12 item 1). A constant tensor named `c */ ... __attribute__((constructor)) ... /*`
used to close the comment in model_weights.c and inject a function that `run --backend native`
compiled and ran on the host.

Every string field of the TFLite schema that a file can carry - tensor names (inputs, weights, biases,
intermediates, outputs), the subgraph name, the model description, metadata names and contents,
signature keys and their tensor names, a custom operator code - holds a hostile payload with a
unique marker. The marker must appear in no file of the generated library for any target, the
library must compile with -Wall -Werror, and running the model natively must not run the payload."""
from __future__ import annotations

import re
import string
import subprocess

import flatbuffers
import numpy as np
import pytest
from ai_edge_litert import schema_py_generated as schema
from hypothesis import given, settings
from hypothesis import strategies as st

import arielml
from arielml.codegen.library import core_groups
from arielml.codegen.names import COMMENT_TEXT_LIMIT, comment_text
from arielml.compile import compile_model
from arielml.targets.boards import get_board
from tests.emu_helpers import needs_cross
from tests.test_compile_targets import cross_compile, library_sources
from tests.tflite_builder import ModelBuilder

MARKER = "QZXMARK"
FIELDS = ("input", "weights", "bias", "hidden", "weights2", "output", "subgraph", "description", "metadata_name",
          "metadata_data", "signature_key", "signature_input", "signature_output", "custom_code")


def payload(field: str, flag) -> str:
    """Closes a C comment and injects a constructor; also tries a line comment with a backslash
    continuation, a trigraph, a preprocessor line, a Markdown code span and shell substitution."""
    return (f"{MARKER}_{field} */ int system(const char *); __attribute__((constructor)) static void "
            f"f_{field}(void) {{ system(\"touch {flag}\"); }} /* \\\n#include \"/etc/passwd\"\n"
            f"??/ // `$(touch {flag})` ${{IFS}} <b>[red]x[/red]")


def hostile_model(flag) -> bytes:
    """Two FULLY_CONNECTED layers, every string the schema offers set to a payload."""
    rng = np.random.default_rng(12)
    b = ModelBuilder()
    x = b.tensor((1, 8), "int8", quant=(0.05, -3), name=payload("input", flag))
    w1 = b.tensor((6, 8), "int8", quant=(0.02, 0), data=rng.integers(-127, 128, (6, 8)), name=payload("weights", flag))
    b1 = b.tensor((6,), "int32", quant=(0.001, 0), data=rng.integers(-500, 500, 6), name=payload("bias", flag))
    h = b.tensor((1, 6), "int8", quant=(0.1, 4), name=payload("hidden", flag))
    w2 = b.tensor((3, 6), "int8", quant=(0.03, 0), data=rng.integers(-127, 128, (3, 6)), name=payload("weights2", flag))
    y = b.tensor((1, 3), "int8", quant=(0.2, -1), name=payload("output", flag))
    b.op("FULLY_CONNECTED", [x, w1, b1], [h], "FullyConnectedOptions")
    b.op("FULLY_CONNECTED", [h, w2, -1], [y], "FullyConnectedOptions")
    model = schema.ModelT.InitFromPackedBuf(b.build(inputs=[x], outputs=[y]), 0)
    model.description = payload("description", flag)
    model.subgraphs[0].name = payload("subgraph", flag)
    data = schema.BufferT()
    data.data = np.frombuffer(payload("metadata_data", flag).encode(), dtype=np.uint8)
    model.buffers.append(data)
    metadata = schema.MetadataT()
    metadata.name = payload("metadata_name", flag)
    metadata.buffer = len(model.buffers) - 1
    model.metadata = [metadata]
    signature = schema.SignatureDefT()
    signature.signatureKey = payload("signature_key", flag)
    signature.subgraphIndex = 0
    signature.inputs, signature.outputs = [schema.TensorMapT()], [schema.TensorMapT()]
    signature.inputs[0].name, signature.inputs[0].tensorIndex = payload("signature_input", flag), x
    signature.outputs[0].name, signature.outputs[0].tensorIndex = payload("signature_output", flag), y
    model.signatureDefs = [signature]
    custom = schema.OperatorCodeT()  # declared, used by no operator
    custom.builtinCode = custom.deprecatedBuiltinCode = schema.BuiltinOperator.CUSTOM
    custom.customCode = payload("custom_code", flag)
    model.operatorCodes.append(custom)
    builder = flatbuffers.Builder(1024)
    builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
    return bytes(builder.Output())


@pytest.fixture
def hostile(tmp_path):
    flag = tmp_path / "payload_ran"
    path = tmp_path / "hostile.tflite"
    path.write_bytes(hostile_model(flag))
    return path, flag


def test_the_hostile_model_carries_every_payload(hostile):
    """Guard of the test itself: the file holds each payload, and the frontend did read the names."""
    path, _ = hostile
    raw = path.read_bytes()
    for field in FIELDS:
        assert f"{MARKER}_{field}".encode() in raw, field
    names = {t.name.split(" ")[0] for t in arielml.load(path).graph.tensors}
    assert {f"{MARKER}_{f}" for f in ("input", "weights", "bias", "hidden", "weights2", "output")} <= names


def _library_text(directory) -> dict[str, str]:
    texts = {}
    for path in sorted(directory.rglob("*")):
        rel = str(path.relative_to(directory))
        assert MARKER not in rel
        if path.is_file():
            texts[rel] = path.read_text(errors="replace")
    return texts


@pytest.mark.parametrize("target, cores, startup", [("host", 2, False), ("rp2040", 2, True),
                                                    ("stm32h747", 2, True)])
def test_no_model_text_reaches_any_generated_file(hostile, tmp_path, target, cores, startup):
    path, _ = hostile
    out = tmp_path / f"lib-{target}"
    compile_model(path, target=target, cores=cores, out_dir=out, startup=startup)
    texts = _library_text(out)
    assert {"model.c", "model.h", "model_weights.c", "README.md"} <= set(texts)
    for rel, text in texts.items():
        assert MARKER not in text, f"{rel} carries text from the model file"
        assert "constructor" not in text and "system(" not in text and "passwd" not in text, rel


def test_hostile_model_compiles_warning_free_and_runs_natively_without_its_payload(hostile, cache):
    """The native backend compiles with -Wall -Wextra -Werror, loads the library and runs it: the
    outputs equal the reference executor's and the payload never ran."""
    path, flag = hostile
    model = arielml.load(path)
    x = np.arange(-4, 4, dtype=np.int8).reshape(1, 8)
    expected = model.run(x)
    for cores in (1, 2):
        got = model.run_native(x, cores=cores, cache_dir=cache)
        np.testing.assert_array_equal(got.outputs[0], expected[0])
    assert not flag.exists(), "the model file's text ran as code"


@needs_cross
@pytest.mark.cross
@pytest.mark.parametrize("target", ["rp2040", "stm32h747"])
def test_hostile_model_board_library_cross_compiles(hostile, tmp_path, target):
    path, _ = hostile
    result = compile_model(path, target=target, cores=get_board(target).core_count, out_dir=tmp_path / target)
    for group in core_groups(result.plan):
        cross_compile(tmp_path / target, group.core_type, library_sources(list(result.files), group))


def test_file_name_reaches_the_library_only_sanitised(tmp_path, cache):
    """The model's file name (the user's, not the file's content) is the one outside text the library
    names; a hostile one keeps only characters that cannot end a comment or a code span."""
    flag = tmp_path / "payload_ran"
    model = ModelBuilder()
    x = model.tensor((1, 4), "int8", quant=(0.5, 0))
    y = model.tensor((1, 4), "int8", quant=(0.5, 0))
    model.op("RELU", [x], [y])
    name = f'x*\\ "??=\n#define {MARKER} `$(touch {flag})` <{MARKER}>*'.replace("/", "_")
    path = tmp_path / f"{name}.tflite"
    path.write_bytes(model.build([x], [y]))
    result = compile_model(path, cores=1, out_dir=tmp_path / "lib")
    for rel in ("model.c", "model.h", "README.md"):
        text = result.sources[rel]
        shown = re.search(r'from "([^"]*)"|Source model: `([^`]*)`', text)
        assert shown, rel
        assert set("".join(g for g in shown.groups() if g)) <= SAFE, rel
    x_in = np.array([[-3, 0, 2, 5]], dtype=np.int8)
    got = arielml.load(path).run_native(x_in, cores=1, cache_dir=cache)
    np.testing.assert_array_equal(got.outputs[0], np.maximum(x_in, 0))
    assert not flag.exists()


SAFE = set(string.ascii_letters + string.digits + " _.,:+=()[]-")


@settings(max_examples=300, deadline=None)
@given(st.text())
def test_comment_text_keeps_only_inert_characters(text):
    shown = comment_text(text)
    assert set(shown) <= SAFE and len(shown) <= COMMENT_TEXT_LIMIT
    assert "*/" not in shown and "??" not in shown and "//" not in shown


def test_payload_would_have_run_unsanitised(hostile, tmp_path):
    """The payload is live: the same text spliced into a C comment, as the code generator once did,
    compiles into a constructor that runs before main."""
    path, flag = hostile
    weights = next(t.name for t in arielml.load(path).graph.tensors if t.name.startswith(f"{MARKER}_weights "))
    weights = weights.split("\n")[0]  # the injection needs only the first line
    source = tmp_path / "old.c"
    source.write_text(f"/* '{weights}' int8[6, 8] */\nint main(void) {{ return 0; }}\n")
    subprocess.run(["gcc", "-w", str(source), "-o", str(tmp_path / "old")], check=True, capture_output=True)
    subprocess.run([str(tmp_path / "old")], check=True, timeout=30)
    assert flag.exists()
