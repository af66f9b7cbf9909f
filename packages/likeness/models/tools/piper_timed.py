"""Exposes each phoneme's duration in a Piper voice's ONNX graph, so visemes land exactly.

Piper's VITS graph computes every input id's duration (in frames of 256 samples) as the intermediate tensor
/Ceil_output_0 but returns only the audio. This adds that tensor to the graph's outputs; nothing else changes.
Usage: python piper_timed.py IN.onnx OUT.onnx   (needs the `onnx` package)
"""
import sys

import onnx

src, dst = sys.argv[1], sys.argv[2]
model = onnx.load(src)
if not any(o == "/Ceil_output_0" for node in model.graph.node for o in node.output):
    sys.exit("no /Ceil_output_0 in this graph: not a Piper VITS voice?")
model.graph.output.append(onnx.helper.make_tensor_value_info("/Ceil_output_0", onnx.TensorProto.FLOAT, None))
onnx.save(model, dst)
