"""Rewrites Kokoro's int8 ONNX export so its convolutions run as float Conv on CPU.

The shipped int8 model (kokoro-v1.0.int8.onnx) computes its 87 convolutions with ConvInteger, which
onnxruntime's CPU provider runs through a slow reference kernel (real-time factor > 1 on two cores). Each
ConvInteger(xq, wq, x_zero, w_zero) is replaced by the same arithmetic in float:
    Cast(Conv(float(xq) - float(x_zero), float(wq) - w_zero), int32)
so the rest of the graph (int32 bias, scales) is untouched and the result equals the integer one up to float
rounding. Weights become float32 (a ~256 MB file), which is why it is built at install time, not committed.
Usage: python kokoro_float_conv.py IN.onnx OUT.onnx   (needs the `onnx` and `numpy` packages)
"""
import sys

import numpy as np
import onnx
from onnx import helper, numpy_helper

src, dst = sys.argv[1], sys.argv[2]
model = onnx.load(src)
graph = model.graph
inits = {t.name: t for t in graph.initializer}
nodes = []
replaced = 0
for node in graph.node:
    if node.op_type != 'ConvInteger' or node.input[1] not in inits:
        nodes.append(node)
        continue
    xq, wq_name = node.input[0], node.input[1]
    x_zero = node.input[2] if len(node.input) > 2 and node.input[2] else None
    w_zero = node.input[3] if len(node.input) > 3 and node.input[3] else None
    wq = numpy_helper.to_array(inits[wq_name]).astype(np.float32)
    if w_zero:
        wz = numpy_helper.to_array(inits[w_zero]).astype(np.float32)
        wq = wq - (wz.reshape(-1, *([1] * (wq.ndim - 1))) if wz.ndim == 1 else wz)
    base = node.output[0]
    wf_name = f'{wq_name}_float'
    graph.initializer.append(numpy_helper.from_array(wq, wf_name))
    nodes.append(helper.make_node('Cast', [xq], [f'{base}_xf'], to=onnx.TensorProto.FLOAT))
    x_in = f'{base}_xf'
    if x_zero:
        nodes.append(helper.make_node('Cast', [x_zero], [f'{base}_xzf'], to=onnx.TensorProto.FLOAT))
        nodes.append(helper.make_node('Sub', [x_in, f'{base}_xzf'], [f'{base}_xc']))
        x_in = f'{base}_xc'
    conv = helper.make_node('Conv', [x_in, wf_name], [f'{base}_yf'], name=f'{node.name}_float')
    conv.attribute.extend(node.attribute)
    nodes.append(conv)
    nodes.append(helper.make_node('Cast', [f'{base}_yf'], [base], to=onnx.TensorProto.INT32))
    replaced += 1

# Drop the now unused integer weights.
used = {i for n in nodes for i in n.input}
keep = [t for t in graph.initializer if t.name in used]
del graph.initializer[:]
graph.initializer.extend(keep)
del graph.node[:]
graph.node.extend(nodes)

# Each token's duration (frames of 600 samples at 24 kHz) becomes a second output: exact phoneme timings.
# (Capping the ~400 ms the predictor gives the leading padding token would save compute, but the decoder then
# swallows the first sound: "Hello" was heard as "Low". The silence is trimmed after synthesis instead.)
durations = '/encoder/Cast_output_0'
graph.output.append(helper.make_tensor_value_info(durations, onnx.TensorProto.INT64, None))
onnx.save(model, dst)
print(f'replaced {replaced} ConvInteger nodes')
