"""Builds Whisper's text decoder as an int8 ONNX model from the CTranslate2 weights (whisper-base/model.bin).

Why: CTranslate2's int8 matrix-vector products go through oneDNN on AMD CPUs (MKL is slower still there), and a
decoder step of Whisper base took 12-20 ms (one token: ~50 M weights). onnxruntime's int8 kernels (MLAS) do the
same step in 5-7 ms on one thread, and the decoder's steps are most of a short turn's recognition. The encoder
stays in CTranslate2: one call per turn, and the same graph in onnxruntime int8 was no faster (82 against 86 ms).

Two graphs, written to the two output paths:
- cross: the encoder's output [1, T, 512] -> each layer's cross-attention keys and values [1, heads, T, 64],
  computed once per utterance;
- step: the tokens' embeddings [1, n, 512] at positions [n], an additive mask [n, past + n], each layer's
  self-attention cache [1, heads, past, 64] and the cross keys and values -> logits of the positions in `pick`
  [k, vocab] and the grown caches. A prompt is one call (n = 4), each further token one call (n = 1).
The embedding matrix doubles as the output projection (tied, as in Whisper). The projection is an int8 MatMul; the
lookup is not in the graph: the worker maps the float16 matrix from model.bin (its offset is in this model's
metadata) and feeds the rows of its tokens, so only those pages are ever read. A float16 copy in the graph cost the
process 53 MB; the int8 projection's columns as the lookup cost a word of the word-error set.
Deterministic: the same weights and onnx/onnxruntime versions give the same bytes.

Usage: python whisper_decoder_onnx.py whisper-base/model.bin STEP.onnx CROSS.onnx
(needs numpy, onnx and onnxruntime, all in models/stt-env).
"""

import logging
import os
import re
import struct
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper
from onnxruntime.quantization import QuantType, quantize_dynamic

# quantize_dynamic advises pre-processing (shape inference) on every call: this graph is already what it wants
logging.getLogger().setLevel(logging.ERROR)

DTYPES = {0: np.float32, 1: np.int8, 2: np.int16, 3: np.int32, 4: np.float16}


def read_ct2(path):
    """CTranslate2's model.bin (binary version 6): {name: array} with aliases resolved, and {name: byte offset}."""
    buf = open(path, "rb").read()
    at = 0

    def num(fmt):
        nonlocal at
        (value,) = struct.unpack_from(fmt, buf, at)
        at += struct.calcsize(fmt)
        return value

    def string():
        nonlocal at
        n = num("H")
        value = buf[at : at + n - 1].decode("utf-8")
        at += n
        return value

    version = num("I")
    if version != 6:
        raise SystemExit(f"unsupported CTranslate2 binary version {version}")
    spec = string()
    if spec != "WhisperSpec":
        raise SystemExit(f"not a Whisper model: {spec}")
    num("I")  # spec revision
    variables, offsets = {}, {}
    for _ in range(num("I")):
        name = string()
        dims = [num("I") for _ in range(num("B"))]
        dtype = DTYPES[num("B")]
        size = num("I")
        variables[name] = np.frombuffer(buf, dtype=dtype, count=size // np.dtype(dtype).itemsize, offset=at).reshape(dims)
        offsets[name] = at
        at += size
    for _ in range(num("I")):
        alias = string()
        target = string()
        variables[alias], offsets[alias] = variables[target], offsets[target]
    return variables, offsets


class Graph:
    def __init__(self):
        self.nodes, self.inits, self.count = [], [], 0

    def const(self, name, array):
        self.inits.append(numpy_helper.from_array(np.ascontiguousarray(array), name))
        return name

    def op(self, op_type, inputs, out=None, **attrs):
        self.count += 1
        out = out or f"{op_type.lower()}_{self.count}"
        self.nodes.append(helper.make_node(op_type, inputs, [out], **attrs))
        return out

    def linear(self, x, weight, bias, name):
        """x @ weight.T + bias, weight [out, in] as CTranslate2 stores it."""
        y = self.op("MatMul", [x, self.const(f"{name}.w", weight.astype(np.float32).T)])
        return y if bias is None else self.op("Add", [y, self.const(f"{name}.b", bias.astype(np.float32))])

    def layer_norm(self, x, w, name):
        return self.op(
            "LayerNormalization",
            [x, self.const(f"{name}.g", w[f"{name}/gamma"].astype(np.float32)), self.const(f"{name}.beta", w[f"{name}/beta"].astype(np.float32))],
            axis=-1,
            epsilon=1e-5,
        )

    def heads(self, x, n_heads, head, out=None):
        """[1, n, d] -> [1, heads, n, head]"""
        shape = self.const(f"heads_shape_{self.count}", np.array([1, -1, n_heads, head], dtype=np.int64))
        return self.op("Transpose", [self.op("Reshape", [x, shape])], out=out, perm=[0, 2, 1, 3])

    def merge(self, x, d):
        shape = self.const(f"merge_shape_{self.count}", np.array([1, -1, d], dtype=np.int64))
        return self.op("Reshape", [self.op("Transpose", [x], perm=[0, 2, 1, 3]), shape])


def build(weights, offsets, step_path, cross_path):
    n_heads = int(weights["decoder/num_heads"])
    embedding = weights["decoder/embeddings/weight"]
    vocab, d = embedding.shape
    head = d // n_heads
    layers = sorted({int(k.split("/")[1][6:]) for k in weights if re.match(r"decoder/layer_\d+/", k)})
    f32 = TensorProto.FLOAT

    # cross: encoder output -> keys and values per layer
    g = Graph()
    outputs = []
    for i in layers:
        p = f"decoder/layer_{i}/attention/linear_1"
        kv_w, kv_b = weights[f"{p}/weight"], weights[f"{p}/bias"]
        g.heads(g.linear("encoder_out", kv_w[:d], None, f"c{i}.k"), n_heads, head, out=f"cross_k_{i}")
        g.heads(g.linear("encoder_out", kv_w[d:], kv_b[d:], f"c{i}.v"), n_heads, head, out=f"cross_v_{i}")
        outputs += [helper.make_tensor_value_info(f"cross_{kind}_{i}", f32, [1, n_heads, "T", head]) for kind in "kv"]
    save(
        g,
        [helper.make_tensor_value_info("encoder_out", f32, [1, "T", d])],
        outputs,
        cross_path,
    )

    # step: token embeddings -> logits at the picked positions, caches grown by n
    g = Graph()
    scale = g.const("scale", np.array(1.0 / np.sqrt(head), dtype=np.float32))
    if embedding.dtype != np.float16:
        raise SystemExit(f"expected float16 embeddings, found {embedding.dtype}")
    embedding_source = {
        "embedding_file": "model.bin",
        "embedding_offset": str(offsets["decoder/embeddings/weight"]),
        "embedding_shape": f"{vocab},{d}",
        "embedding_dtype": "float16",
    }
    positions = weights["decoder/position_encodings/encodings"].astype(np.float32)
    x = g.op("Add", ["embeds", g.op("Gather", [g.const("positions_table", positions), "positions"])])
    inputs = [
        helper.make_tensor_value_info("embeds", f32, [1, "n", d]),
        helper.make_tensor_value_info("positions", TensorProto.INT64, ["n"]),
        helper.make_tensor_value_info("mask", f32, ["n", "total"]),
        helper.make_tensor_value_info("pick", TensorProto.INT64, ["k"]),
    ]
    outputs = []
    for i in layers:
        p = f"decoder/layer_{i}"
        inputs += [helper.make_tensor_value_info(f"past_{kind}_{i}", f32, [1, n_heads, "past", head]) for kind in "kv"]
        inputs += [helper.make_tensor_value_info(f"cross_{kind}_{i}", f32, [1, n_heads, "T", head]) for kind in "kv"]
        # self-attention, with the cache
        h = g.layer_norm(x, weights, f"{p}/self_attention/layer_norm")
        qkv_w, qkv_b = weights[f"{p}/self_attention/linear_0/weight"], weights[f"{p}/self_attention/linear_0/bias"]
        # one MatMul for the three projections (the key has no bias: zeros in its third)
        qkv = g.linear(h, qkv_w, np.concatenate([qkv_b[:d], np.zeros(d, qkv_b.dtype), qkv_b[2 * d :]]), f"s{i}.qkv")
        parts = [f"s{i}.{kind}_part" for kind in "qkv"]
        g.nodes.append(helper.make_node("Split", [qkv, g.const(f"s{i}.split", np.array([d, d, d], dtype=np.int64))], parts, axis=-1))
        q, k_new, v_new = (g.heads(part, n_heads, head) for part in parts)
        k = g.op("Concat", [f"past_k_{i}", k_new], out=f"present_k_{i}", axis=2)
        v = g.op("Concat", [f"past_v_{i}", v_new], out=f"present_v_{i}", axis=2)
        outputs += [helper.make_tensor_value_info(f"present_{kind}_{i}", f32, [1, n_heads, "total", head]) for kind in "kv"]
        scores = g.op("Add", [g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [k], perm=[0, 1, 3, 2])]), scale]), "mask"])
        attended = g.merge(g.op("MatMul", [g.op("Softmax", [scores], axis=-1), v]), d)
        x = g.op("Add", [x, g.linear(attended, weights[f"{p}/self_attention/linear_1/weight"], weights[f"{p}/self_attention/linear_1/bias"], f"s{i}.o")])
        # cross-attention over the encoder's output
        h = g.layer_norm(x, weights, f"{p}/attention/layer_norm")
        q = g.heads(g.linear(h, weights[f"{p}/attention/linear_0/weight"], weights[f"{p}/attention/linear_0/bias"], f"c{i}.q"), n_heads, head)
        scores = g.op("Mul", [g.op("MatMul", [q, g.op("Transpose", [f"cross_k_{i}"], perm=[0, 1, 3, 2])]), scale])
        attended = g.merge(g.op("MatMul", [g.op("Softmax", [scores], axis=-1), f"cross_v_{i}"]), d)
        x = g.op("Add", [x, g.linear(attended, weights[f"{p}/attention/linear_2/weight"], weights[f"{p}/attention/linear_2/bias"], f"c{i}.o")])
        # feed-forward, exact GELU as in Whisper
        h = g.layer_norm(x, weights, f"{p}/ffn/layer_norm")
        h = g.linear(h, weights[f"{p}/ffn/linear_0/weight"], weights[f"{p}/ffn/linear_0/bias"], f"f{i}.0")
        half = g.const(f"half_{i}", np.array(0.5, dtype=np.float32))
        one = g.const(f"one_{i}", np.array(1.0, dtype=np.float32))
        root2 = g.const(f"root2_{i}", np.array(np.sqrt(2.0), dtype=np.float32))
        h = g.op("Mul", [g.op("Mul", [h, half]), g.op("Add", [g.op("Erf", [g.op("Div", [h, root2])]), one])])
        x = g.op("Add", [x, g.linear(h, weights[f"{p}/ffn/linear_1/weight"], weights[f"{p}/ffn/linear_1/bias"], f"f{i}.1")])
    # only the picked positions reach the final norm and the (large) projection
    x = g.op("Gather", [g.op("Squeeze", [x, g.const("axis0", np.array([0], dtype=np.int64))]), "pick"], axis=0)
    x = g.layer_norm(x, weights, "decoder/layer_norm")
    g.op("MatMul", [x, g.const("projection.w", weights["decoder/projection/weight"].astype(np.float32).T)], out="logits")
    outputs.insert(0, helper.make_tensor_value_info("logits", f32, ["k", vocab]))
    save(g, inputs, outputs, step_path, metadata=embedding_source)


def save(g, inputs, outputs, path, metadata=None):
    model = helper.make_model(
        helper.make_graph(g.nodes, "whisper_decoder", inputs, outputs, g.inits),
        opset_imports=[helper.make_opsetid("", 17)],
        producer_name="likeness whisper_decoder_onnx",
    )
    model.ir_version = 8
    with tempfile.TemporaryDirectory() as tmp:
        plain = os.path.join(tmp, "float.onnx")
        onnx.save(model, plain)
        # int8 weights for every MatMul with a constant weight; activations quantised per call
        quantize_dynamic(plain, path, weight_type=QuantType.QInt8, op_types_to_quantize=["MatMul"], per_channel=True)
        if metadata:
            quantised = onnx.load(path)
            onnx.helper.set_model_props(quantised, metadata)
            onnx.save(quantised, path)


if __name__ == "__main__":
    if len(sys.argv) != 4:
        raise SystemExit("usage: whisper_decoder_onnx.py model.bin STEP.onnx CROSS.onnx")
    build(*read_ct2(sys.argv[1]), sys.argv[2], sys.argv[3])
