from arielml.ir.graph import DTYPES, NO_TENSOR, Graph, Node, QuantParams, Tensor

__all__ = ["DTYPES", "NO_TENSOR", "Graph", "Node", "QuantParams", "Tensor"]
