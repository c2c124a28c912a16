"""Test helper: TFLite models with several subgraphs (resource variables, CALL_ONCE, IF, WHILE),
built with the schema's object API like tests/tflite_builder.py, whose single-subgraph builder each
subgraph reuses (the subgraphs share the model's buffers and operator codes).

    m = MultiModelBuilder()
    main, init = m.subgraph(), m.subgraph()        # subgraph 0 is the main one
    h = main.resource("h")                         # a resource tensor (VAR_HANDLE's output)
    main.op("VAR_HANDLE", [], [h], "VarHandleOptions", sharedName="v")
    ...
    model = m.build({main: (inputs, outputs), init: ([], [])})
"""
from __future__ import annotations

import flatbuffers
from ai_edge_litert import schema_py_generated as schema

from tests.tflite_builder import ModelBuilder


class SubgraphBuilder(ModelBuilder):
    def __init__(self, parent: "MultiModelBuilder", index: int) -> None:
        super().__init__()
        self.buffers, self.opcodes = parent.buffers, parent.opcodes  # shared by every subgraph
        self.index = index

    def resource(self, name: str | None = None) -> int:
        """A resource tensor: the handle VAR_HANDLE gives and the variable operators take."""
        t = self.tensor((), "int32", name=name)
        self.tensors[t].type = schema.TensorType.RESOURCE
        return t

    def var_handle(self, shared_name: str, container: str = "") -> int:
        h = self.resource(f"handle_{shared_name}")
        self.op("VAR_HANDLE", [], [h], "VarHandleOptions", sharedName=shared_name, container=container)
        return h


class MultiModelBuilder:
    def __init__(self) -> None:
        self.buffers: list = [schema.BufferT()]
        self.opcodes: list = []
        self.subgraphs: list[SubgraphBuilder] = []

    def subgraph(self) -> SubgraphBuilder:
        self.subgraphs.append(SubgraphBuilder(self, len(self.subgraphs)))
        return self.subgraphs[-1]

    def build(self, signatures: dict[SubgraphBuilder, tuple[list[int], list[int]]]) -> bytes:
        """signatures: each subgraph's (inputs, outputs)."""
        subgraphs = []
        for sub in self.subgraphs:
            sg = schema.SubGraphT()
            sg.tensors, sg.operators = sub.tensors, sub.operators
            inputs, outputs = signatures.get(sub, ([], []))
            sg.inputs, sg.outputs = list(inputs), list(outputs)
            sg.name = "main" if sub.index == 0 else f"subgraph{sub.index}"
            subgraphs.append(sg)
        model = schema.ModelT()
        model.version = 3
        model.operatorCodes = self.opcodes
        model.subgraphs = subgraphs
        model.buffers = self.buffers
        model.description = "arielml multi-subgraph test model"
        builder = flatbuffers.Builder(1024)
        builder.Finish(model.Pack(builder), file_identifier=b"TFL3")
        return bytes(builder.Output())
