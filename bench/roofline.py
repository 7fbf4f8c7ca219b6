"""Encoder roofline: how close the encoder runs to what this CPU's matrix multiplies allow.

1. GEMM throughput (GFLOP/s; int8: GOP/s, each multiply-add counted as 2) on the model's own
   shapes: tokens x 384 -> 1152 (Q, K and V together), 384 -> 384 (attention output),
   384 -> 1536 and 1536 -> 384 (the FFN), for 32 x 128 and 32 x 256 tokens, and the
   attention's batched products (scores and context, 12 heads of 32), with 1 and 2 threads:
   numpy (OpenBLAS) fp32, ONNX Runtime `MatMul` fp32, `MatMulInteger` on already quantised
   u8 activations with s8 or u8 weights (the bare kernel), and `DynamicQuantizeMatMul` (what
   ONNX Runtime makes of `quantize_dynamic`'s output: the activations quantised on the fly,
   then the int8 product and its rescaling). The configurations alternate inside each round;
   medians of the rounds.
2. FLOPs per token from the model's config.json (per layer 8 h^2 + 4 h f + 4 L h: Q, K, V and
   the output projection, the FFN, and the scores and context, which grow with the sequence
   length L), so the best tokens/s each precision allows: every term at its own measured rate
   (linear layers at the variant's precision, the attention products in fp32), 2 threads.
3. Real tokens/s of each variant (`torch-fp32`, `onnx-fp32`, `onnx-int8`, the project's
   embedders through `encode_documents`, and the ONNX files as they were before the
   transformer optimiser, `--before`) on ~200-word pieces of ../shared/corpora/markdown;
   tokens are the model's real ones (truncated at 256, padding not counted), alternating in
   each round; cosine of each to torch-fp32's vectors.
4. What bounds the rest, per ONNX variant: tokenisation, pooling and the session's run
   timed apart over the same batches; the padding the batches carry; ONNX Runtime's profile of
   the run grouped by operator (GEMMs against softmax, LayerNorm, GELU, the rest).
5. The choices tried (`--choices`): threads, batch size, spinning, int8 weights signed or
   unsigned, reduce_range, per-channel, quantising before or after the fusion, the session's
   graph optimisation level; the same texts, alternating, medians.

Writes bench/results/roofline.json (load averages before and after each part included) and
prints a table.

Run: .venv/bin/python bench/roofline.py [--rounds 5] [--texts 160] [--cache DIR] [--choices]
     [--choice-rounds 3] [--no-before] [--skip-gemm]
"""

from __future__ import annotations

import argparse
import glob
import json
import logging
import os
import statistics
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
os.environ.setdefault("HF_HUB_OFFLINE", "1")

import numpy as np  # noqa: E402
from _common import ROOT, save  # noqa: E402

from kb.embed.base import (  # noqa: E402
    DEFAULT_MODEL_NAME,
    ONNX_FP32,
    ONNX_INT8,
    TORCH_FP32,
    default_model_path,
)
from kb.embed.onnx import (  # noqa: E402
    INT8_OPS,
    PLAIN_FP32,
    OnnxEmbedder,
    OnnxModel,
    cache_folder,
    ensure_onnx,
    onnx_file_name,
    optimize_fp32,
    quantize_int8,
    read_layout,
)
from kb.embed.registry import make_embedder  # noqa: E402
from kb.embed.scheduler import EncoderScheduler  # noqa: E402

CORPUS = ROOT.parent / "shared" / "corpora" / "markdown"
WORDS_PER_PIECE = 200
BATCH = 32
TURN = 64  # texts each encoder is given in its turn (two of kb's batches)
SEQ_LENS = (128, 256)
THREADS = (1, 2)

# the linear layers' (K, N) per layer, as the fused graph runs them
LINEAR = {
    "qkv": (384, 1152),
    "attn_out": (384, 384),
    "ffn_up": (384, 1536),
    "ffn_down": (1536, 384),
}


def load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


def best_time(run: Callable[[], object], reps: int) -> float:
    """The shortest of `reps` timed calls (one untimed first): a round's best, as the
    other engineer's tests may share the cores at any moment."""
    run()
    times = []
    for _ in range(reps):
        started = time.perf_counter()
        run()
        times.append(time.perf_counter() - started)
    return min(times)


# -- 1. GEMM throughput --------------------------------------------------------------------
def _ort_session(model: Any, threads: int) -> Any:
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.intra_op_num_threads = threads
    options.log_severity_level = 3
    return ort.InferenceSession(
        model.SerializeToString(), options, providers=["CPUExecutionProvider"]
    )


def _graph(nodes: list[Any], inputs: list[Any], output: Any, weights: list[Any]) -> Any:
    from onnx import helper

    graph = helper.make_graph(nodes, "gemm", inputs, [output], weights)
    return helper.make_model(
        graph, opset_imports=[helper.make_opsetid("", 17), helper.make_opsetid("com.microsoft", 1)]
    )


def gemm_runners(m: int, k: int, n: int, threads: int) -> dict[str, Callable[[], object]]:
    """One call of each engine's product of an (m, k) activation by a (k, n) weight."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(0)
    a = rng.standard_normal((m, k), dtype=np.float32)
    w = rng.standard_normal((k, n), dtype=np.float32) * 0.05
    a_u8 = rng.integers(0, 256, (m, k), dtype=np.uint8)
    f_in = helper.make_tensor_value_info("A", TensorProto.FLOAT, ["M", k])
    f_out = helper.make_tensor_value_info("Y", TensorProto.FLOAT, ["M", n])
    runners: dict[str, Callable[[], object]] = {}

    from threadpoolctl import threadpool_limits

    def numpy_fp32() -> object:
        with threadpool_limits(threads, user_api="blas"):
            return a @ w

    runners["numpy fp32"] = numpy_fp32
    fp32 = _ort_session(
        _graph(
            [helper.make_node("MatMul", ["A", "W"], ["Y"])],
            [f_in],
            f_out,
            [numpy_helper.from_array(w, "W")],
        ),
        threads,
    )
    runners["ort MatMul fp32"] = lambda: fp32.run(None, {"A": a})
    for wtype, dtype in (("s8", np.int8), ("u8", np.uint8)):
        info = np.iinfo(dtype)
        q = rng.integers(info.min, info.max + 1, (k, n)).astype(dtype)
        zero = np.zeros((), dtype=dtype) if wtype == "s8" else np.full((), 128, dtype=np.uint8)
        integer = _ort_session(
            _graph(
                [helper.make_node("MatMulInteger", ["A", "W", "az", "wz"], ["Y"])],
                [helper.make_tensor_value_info("A", TensorProto.UINT8, ["M", k])],
                helper.make_tensor_value_info("Y", TensorProto.INT32, ["M", n]),
                [
                    numpy_helper.from_array(q, "W"),
                    numpy_helper.from_array(np.full((), 128, dtype=np.uint8), "az"),
                    numpy_helper.from_array(zero, "wz"),
                ],
            ),
            threads,
        )
        runners[f"ort MatMulInteger u8 x {wtype}"] = lambda s=integer: s.run(None, {"A": a_u8})
        dynamic = _ort_session(
            _graph(
                [
                    helper.make_node(
                        "DynamicQuantizeMatMul",
                        ["A", "W", "scale", "wz"],
                        ["Y"],
                        domain="com.microsoft",
                    )
                ],
                [f_in],
                f_out,
                [
                    numpy_helper.from_array(q, "W"),
                    numpy_helper.from_array(np.full(n, 0.01, dtype=np.float32), "scale"),
                    numpy_helper.from_array(np.broadcast_to(zero, (n,)).copy(), "wz"),
                ],
            ),
            threads,
        )
        runners[f"ort DynamicQuantizeMatMul {wtype}"] = lambda s=dynamic: s.run(None, {"A": a})
    return runners


def attention_runners(batch: int, seq: int, threads: int) -> dict[str, Callable[[], object]]:
    """The attention's two batched products in fp32: scores (L x 32 by 32 x L per head) and
    context (L x L by L x 32), 12 heads, by numpy and by ONNX Runtime's MatMul."""
    from onnx import TensorProto, helper
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    q = rng.standard_normal((batch, 12, seq, 32), dtype=np.float32)
    kt = rng.standard_normal((batch, 12, 32, seq), dtype=np.float32)
    p = rng.standard_normal((batch, 12, seq, seq), dtype=np.float32)

    def session(x_shape: tuple[int, ...], y_shape: tuple[int, ...]) -> Any:
        out = [x_shape[0], x_shape[1], x_shape[2], y_shape[3]]
        return _ort_session(
            _graph(
                [helper.make_node("MatMul", ["X", "Z"], ["Y"])],
                [
                    helper.make_tensor_value_info("X", TensorProto.FLOAT, list(x_shape)),
                    helper.make_tensor_value_info("Z", TensorProto.FLOAT, list(y_shape)),
                ],
                helper.make_tensor_value_info("Y", TensorProto.FLOAT, out),
                [],
            ),
            threads,
        )

    scores = session(q.shape, kt.shape)
    context = session(p.shape, q.shape)

    def np_run(x: np.ndarray, z: np.ndarray) -> Callable[[], object]:
        def run() -> object:
            with threadpool_limits(threads, user_api="blas"):
                return np.matmul(x, z)

        return run

    return {
        "numpy fp32 scores": np_run(q, kt),
        "numpy fp32 context": np_run(p, q),
        "ort MatMul fp32 scores": lambda: scores.run(None, {"X": q, "Z": kt}),
        "ort MatMul fp32 context": lambda: context.run(None, {"X": p, "Z": q}),
    }


def measure_gemm(rounds: int, reps: int) -> dict[str, Any]:
    """GFLOP/s per engine, threads, tokens and shape; medians of `rounds` alternating rounds."""
    configs: list[tuple[str, int, int, str, float, Callable[[], object]]] = []
    for threads in THREADS:
        for seq in SEQ_LENS:
            m = BATCH * seq
            for shape, (k, n) in LINEAR.items():
                for engine, run in gemm_runners(m, k, n, threads).items():
                    configs.append((engine, threads, seq, shape, 2.0 * m * k * n, run))
            flops = 2.0 * BATCH * 12 * seq * seq * 32
            for name, run in attention_runners(BATCH, seq, threads).items():
                engine, term = name.rsplit(" ", 1)
                configs.append((engine, threads, seq, term, flops, run))
    seconds: dict[int, list[float]] = defaultdict(list)
    for round_ in range(rounds):
        for index, (*_, run) in enumerate(configs):
            seconds[index].append(best_time(run, reps))
        print(f"gemm round {round_ + 1}/{rounds}, load {load()}", file=sys.stderr)
    rates: dict[str, Any] = {}
    for index, (engine, threads, seq, shape, flops, _) in enumerate(configs):
        key = f"{engine}, {threads} thread{'s' if threads > 1 else ''}"
        rates.setdefault(key, {}).setdefault(f"{BATCH}x{seq}", {})[shape] = round(
            flops / statistics.median(seconds[index]) / 1e9, 1
        )
    return rates


# -- 2. FLOPs and the roofline ------------------------------------------------------------
def flops_per_token(config: dict[str, Any], seq: int) -> dict[str, float]:
    """Multiply-adds x 2 per token, by term, for a sequence of `seq` tokens."""
    h = int(config["hidden_size"])
    f = int(config["intermediate_size"])
    layers = int(config["num_hidden_layers"])
    terms = {
        "qkv": 2.0 * h * 3 * h,
        "attn_out": 2.0 * h * h,
        "ffn_up": 2.0 * h * f,
        "ffn_down": 2.0 * f * h,
        "scores": 2.0 * seq * h,  # q . k for every key, all heads: L x (heads x head size)
        "context": 2.0 * seq * h,
    }
    return {term: value * layers for term, value in terms.items()}


def roofline(config: dict[str, Any], rates: dict[str, Any]) -> dict[str, Any]:
    """Best tokens/s per precision and length: every term at its own measured 2-thread rate
    (the best engine of that precision for the term), and at the single best GEMM rate."""
    out: dict[str, Any] = {}
    engines = {
        "fp32": ["numpy fp32", "ort MatMul fp32"],
        "int8": ["ort DynamicQuantizeMatMul s8", "ort DynamicQuantizeMatMul u8"],
    }
    for precision, names in engines.items():
        for seq in SEQ_LENS:
            terms = flops_per_token(config, seq)
            key = f"{BATCH}x{seq}"
            seconds = 0.0
            used: dict[str, float] = {}
            for term, flops in terms.items():
                candidates = names if term in LINEAR else engines["fp32"]
                best = max(rates[f"{e}, 2 threads"][key][term] for e in candidates)
                used[term] = best
                seconds += flops / (best * 1e9)
            total = sum(terms.values())
            top = max(rates[f"{e}, 2 threads"][key][t] for e in names for t in LINEAR)
            out[f"{precision} L={seq}"] = {
                "flops_per_token": round(total),
                "rates_gflops": used,
                "peak_tokens_per_s": round(1 / seconds),
                "peak_tokens_per_s_at_best_gemm": round(top * 1e9 / total),
                "effective_gflops": round(total / seconds / 1e9, 1),
            }
    return out


# -- 3. real tokens/s ---------------------------------------------------------------------
def corpus_pieces(count: int) -> list[str]:
    """~200-word pieces of the shared Markdown chapters, `count` of them spread evenly."""
    pieces = []
    for file in sorted(glob.glob(str(CORPUS / "**" / "*.md"), recursive=True)):
        words = Path(file).read_text(encoding="utf-8").split()
        for start in range(0, len(words), WORDS_PER_PIECE):
            piece = " ".join(words[start : start + WORDS_PER_PIECE])
            if len(piece) > 40:
                pieces.append(piece)
    step = max(1, len(pieces) // count)
    return pieces[::step][:count]


def batches(texts: Sequence[str], size: int) -> list[list[str]]:
    """The batches `EncoderScheduler.encode_documents` makes: shortest first, `size` each."""
    order = sorted(texts, key=len)
    return [order[i : i + size] for i in range(0, len(order), size)]


def token_counts(tokenizer: Any, texts: Sequence[str], size: int) -> tuple[int, int]:
    """(real tokens, tokens computed with the padding) of `texts` in the scheduler's batches."""
    real = padded = 0
    for batch in batches(texts, size):
        encodings = tokenizer.encode_batch(batch)
        real += sum(sum(e.attention_mask) for e in encodings)
        padded += len(encodings) * len(encodings[0].ids)
    return real, padded


def before_files(model_path: Path, name: str, cache: Path) -> dict[str, Path]:
    """The ONNX files as kb made them before the transformer optimiser: the plain export,
    and its int8 with unsigned per-channel weights."""
    folder = cache_folder(model_path, name, cache)
    plain = folder / PLAIN_FP32
    int8 = folder / "model-int8-u8.onnx"
    ensure_onnx(model_path, name, ONNX_FP32, cache)  # leaves the plain export in the folder
    if not int8.is_file():
        quantize_int8(plain, int8, "u8")
    return {f"{ONNX_FP32} before": plain, f"{ONNX_INT8} before": int8}


def interleaved(
    runs: dict[str, Callable[[list[str]], np.ndarray]],
    texts: list[str],
    rounds: int,
    what: str,
    turn: int = TURN,
) -> tuple[dict[str, list[float]], dict[str, np.ndarray]]:
    """Seconds per round of each run over all of `texts`, and its vectors (in `texts`' order).

    The runs take turns every `TURN` texts (shortest first, as the scheduler takes them, so
    each run still makes its own batches of them), the order rotated at every turn, so a
    burst of someone else's work on the cores lands on all of them alike; each run's round
    is the sum of its turns. `turn=len(texts)`: whole passes, for an order over all texts."""
    order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
    groups = [order[i : i + turn] for i in range(0, len(order), turn)]
    labels = list(runs)
    seconds: dict[str, list[float]] = defaultdict(list)
    vectors = {label: np.zeros((len(texts), 0), dtype=np.float32) for label in labels}
    for round_ in range(rounds):
        spent = dict.fromkeys(labels, 0.0)
        for index, group in enumerate(groups):
            batch = [texts[i] for i in group]
            shift = (index + round_) % len(labels)
            for label in labels[shift:] + labels[:shift]:
                started = time.perf_counter()
                out = runs[label](batch)
                spent[label] += time.perf_counter() - started
                if vectors[label].shape[1] != out.shape[1]:
                    vectors[label] = np.zeros((len(texts), out.shape[1]), dtype=np.float32)
                vectors[label][group] = out
        for label in labels:
            seconds[label].append(spent[label])
        print(
            f"{what} round {round_ + 1}/{rounds}, load {load()}: "
            + ", ".join(f"{k} {v[-1]:.2f}s" for k, v in seconds.items()),
            file=sys.stderr,
        )
    return seconds, vectors


def measure_variants(
    texts: list[str], rounds: int, cache: Path, with_before: bool, turn: int = TURN
) -> tuple[dict[str, Any], dict[str, Any]]:
    from kb.embed.torch import SentenceTransformerEmbedder

    model_path = default_model_path()
    layout = read_layout(model_path)
    encoders: dict[str, Callable[[list[str]], np.ndarray]] = {}
    torch_embedder = SentenceTransformerEmbedder(batch_size=BATCH)
    encoders[TORCH_FP32] = torch_embedder.encode_documents
    onnx_models: dict[str, OnnxModel] = {}
    for variant in (ONNX_FP32, ONNX_INT8):
        embedder = make_embedder(None, variant, cache_dir=cache, batch_size=BATCH)
        assert isinstance(embedder, OnnxEmbedder)
        encoders[variant] = embedder.encode_documents
        assert isinstance(embedder.model, OnnxModel)
        onnx_models[variant] = embedder.model
    if with_before:
        for label, path in before_files(model_path, torch_embedder.name, cache).items():
            model = OnnxModel(path, model_path, layout)
            encoders[label] = EncoderScheduler(model, BATCH).encode_documents
            onnx_models[label] = model
    tokenizer = onnx_models[ONNX_FP32].tokenizer
    real, padded = token_counts(tokenizer, texts, BATCH)
    for encode in encoders.values():
        encode(texts[:8])
    seconds, vectors = interleaved(encoders, texts, rounds, "encode", turn)
    reference = vectors[TORCH_FP32]
    results: dict[str, Any] = {}
    for label, values in seconds.items():
        median = statistics.median(values)
        cosines = (vectors[label] * reference).sum(axis=1)
        results[label] = {
            "median_s": round(median, 3),
            "rounds_s": [round(v, 3) for v in values],
            "tokens_per_s": round(real / median),
            "texts_per_s": round(len(texts) / median, 1),
            "cosine_to_torch_fp32": {
                "mean": round(float(cosines.mean()), 5),
                "min": round(float(cosines.min()), 5),
            },
        }
    if with_before:
        for variant in (ONNX_FP32, ONNX_INT8):
            same = (vectors[variant] * vectors[f"{variant} before"]).sum(axis=1)
            results[variant]["cosine_to_before"] = {
                "mean": round(float(same.mean()), 6),
                "min": round(float(same.min()), 6),
            }
    tokens = {"texts": len(texts), "real_tokens": real, "padded_tokens": padded}
    return {"tokens": tokens, "variants": results}, onnx_models


def sample_chunks() -> list[str]:
    """The chunk texts an ingest of data/sample embeds (English, Chinese, code, transcripts):
    where batching by characters pads most."""
    from encoder_speed import chunk_texts

    return chunk_texts([str(ROOT / "data" / "sample")])


def padding_by_order(tokenizer: Any, texts: Sequence[str]) -> dict[str, float]:
    """The share of computed tokens that are padding, batches of 32, for three orders (the
    tokenizer pads, so a text's tokens are its attention mask's)."""
    lengths = [sum(e.attention_mask) for e in tokenizer.encode_batch(list(texts))]
    orders = {
        "as given": list(range(len(texts))),
        "by characters (the scheduler)": sorted(range(len(texts)), key=lambda i: len(texts[i])),
        "by tokens (ScheduledEmbedder)": sorted(range(len(texts)), key=lengths.__getitem__),
    }
    out = {}
    for name, order in orders.items():
        computed = sum(
            max(lengths[i] for i in order[k : k + BATCH]) * len(order[k : k + BATCH])
            for k in range(0, len(order), BATCH)
        )
        out[name] = round(1 - sum(lengths) / computed, 4)
    return out


# -- 4. what bounds the rest --------------------------------------------------------------
OP_GROUPS = {
    "GEMM": {
        "MatMul",
        "FusedMatMul",
        "Gemm",
        "MatMulInteger",
        "DynamicQuantizeMatMul",
        "MatMulIntegerToFloat",
    },
    "fused attention (QKV GEMM, softmax, context)": {"Attention", "QAttention"},
    "softmax": {"Softmax"},
    "LayerNorm": {
        "LayerNormalization",
        "SkipLayerNormalization",
        "EmbedLayerNormalization",
        "QEmbedLayerNormalization",
        "SkipSimplifiedLayerNormalization",
    },
    "GELU": {"Erf", "Gelu", "BiasGelu", "FastGelu"},
    "quantise activations": {"DynamicQuantizeLinear"},
}


def breakdown(model: OnnxModel, texts: Sequence[str], rounds: int) -> dict[str, Any]:
    """Tokenisation, the session's run and pooling timed apart over the scheduler's batches
    (medians of `rounds`), and ONNX Runtime's profile of one pass grouped by operator."""
    import onnxruntime as ort

    from kb.embed.onnx import pool

    parts: dict[str, list[float]] = defaultdict(list)
    groups = batches(texts, BATCH)
    for _ in range(rounds):
        spent = dict.fromkeys(("tokenise", "run", "pool"), 0.0)
        for batch in groups:
            t0 = time.perf_counter()
            encodings = model.tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            mask = np.array([e.attention_mask for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": mask}
            if "token_type_ids" in model.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            t1 = time.perf_counter()
            states = model.session.run(None, feed)[0]
            t2 = time.perf_counter()
            pool(states, mask, model.layout)
            t3 = time.perf_counter()
            spent["tokenise"] += t1 - t0
            spent["run"] += t2 - t1
            spent["pool"] += t3 - t2
        for key, value in spent.items():
            parts[key].append(value)
    timed = {key: round(statistics.median(values), 3) for key, values in parts.items()}

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.enable_profiling = True
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    with tempfile.TemporaryDirectory() as folder:
        options.profile_file_prefix = str(Path(folder) / "profile")
        session = ort.InferenceSession(
            str(model.onnx_path), options, providers=["CPUExecutionProvider"]
        )
        for batch in groups:
            encodings = model.tokenizer.encode_batch(batch)
            ids = np.array([e.ids for e in encodings], dtype=np.int64)
            feed = {"input_ids": ids, "attention_mask": (ids != 0).astype(np.int64)}
            if "token_type_ids" in model.inputs:
                feed["token_type_ids"] = np.zeros_like(ids)
            session.run(None, feed)
        events = json.loads(Path(session.end_profiling()).read_text())
    by_op: dict[str, float] = defaultdict(float)
    for event in events:
        if event.get("cat") == "Node" and event["name"].endswith("_kernel_time"):
            by_op[event["args"]["op_name"]] += event["dur"] / 1e6
    total = sum(by_op.values())
    grouped: dict[str, float] = defaultdict(float)
    for op, value in by_op.items():
        group = next((g for g, ops in OP_GROUPS.items() if op in ops), "other (Add, Mul, ...)")
        grouped[group] += value
    return {
        "timed_s": timed,
        "profile_share": {g: round(v / total, 3) for g, v in sorted(grouped.items())},
        "profile_ops_s": {
            op: round(v, 3) for op, v in sorted(by_op.items(), key=lambda x: -x[1]) if v >= 0.001
        },
    }


# -- 5. choices ---------------------------------------------------------------------------
def choice_files(cache: Path) -> dict[str, Path]:
    """The int8 files tried: quantised before or after the fusion, weights s8 or u8,
    reduce_range, per-channel or per-tensor."""
    model_path = default_model_path()
    folder = cache_folder(model_path, DEFAULT_MODEL_NAME, cache)
    ensure_onnx(model_path, DEFAULT_MODEL_NAME, ONNX_FP32, cache)
    plain = folder / PLAIN_FP32
    fused = folder / onnx_file_name(ONNX_FP32)
    if not fused.is_file():
        optimize_fp32(plain, fused, model_path)
    files = {"fp32 plain": plain, "fp32 fused": fused}
    work = folder / "choices"
    work.mkdir(exist_ok=True)
    tried = [
        ("plain", "u8", False, True, None),  # kb's int8 before the optimiser
        ("plain", "s8", False, True, None),
        ("fused", "u8", False, True, INT8_OPS),  # kb's int8 now, without VNNI
        ("fused", "s8", False, True, INT8_OPS),
        ("fused", "s8", True, True, INT8_OPS),
        ("fused", "u8", False, False, INT8_OPS),
        ("fused", "u8", False, True, None),  # the embeddings quantised too
    ]
    for source, weights, reduce_range, per_channel, ops in tried:
        label = f"int8 {source} {weights}" + (" reduce_range" if reduce_range else "")
        label += ("" if per_channel else " per-tensor") + (" embeddings too" if ops is None else "")
        out = work / (label.replace(" ", "-") + ".onnx")
        if not out.is_file():
            quantize_int8(
                plain if source == "plain" else fused,
                out,
                weights,
                reduce_range=reduce_range,
                per_channel=per_channel,
                op_types=ops,
            )
        files[label] = out
    return files


def measure_choices(texts: list[str], rounds: int, cache: Path) -> dict[str, Any]:
    """Each choice's tokens/s and cosine to torch-fp32 on the same texts, alternating."""
    import onnxruntime as ort

    from kb.embed.torch import SentenceTransformerEmbedder

    model_path = default_model_path()
    layout = read_layout(model_path)
    reference = SentenceTransformerEmbedder(batch_size=BATCH).encode_documents(texts)
    files = choice_files(cache)
    runs: dict[str, Callable[[list[str]], np.ndarray]] = {}

    def scheduled(model: OnnxModel, size: int = BATCH) -> Callable[[list[str]], np.ndarray]:
        return EncoderScheduler(model, size).encode_documents

    for label, path in files.items():
        runs[label] = scheduled(OnnxModel(path, model_path, layout))
    fused = OnnxModel(files["fp32 fused"], model_path, layout)
    for size in (8, 16, 64):
        runs[f"fp32 fused, batch {size}"] = scheduled(fused, size)
    runs["fp32 fused, 1 thread"] = scheduled(
        OnnxModel(files["fp32 fused"], model_path, layout, threads=1)
    )
    sessions = {
        "fp32 fused, spinning threads": (files["fp32 fused"], "ORT_ENABLE_ALL", "1"),
        "fp32 plain, ORT_ENABLE_BASIC": (files["fp32 plain"], "ORT_ENABLE_BASIC", "0"),
        "fp32 plain, ORT_ENABLE_EXTENDED": (files["fp32 plain"], "ORT_ENABLE_EXTENDED", "0"),
        "fp32 fused, ORT_ENABLE_EXTENDED": (files["fp32 fused"], "ORT_ENABLE_EXTENDED", "0"),
    }
    for label, (path, level, spin) in sessions.items():
        model = OnnxModel(path, model_path, layout)
        options = ort.SessionOptions()
        options.log_severity_level = 3
        options.graph_optimization_level = getattr(ort.GraphOptimizationLevel, level)
        options.add_session_config_entry("session.intra_op.allow_spinning", spin)
        model.session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        runs[label] = scheduled(model)
    real = token_counts(fused.tokenizer, texts, BATCH)[0]
    for run in runs.values():
        run(texts[:8])
    seconds, vectors = interleaved(runs, texts, rounds, "choices")
    out = {}
    for label, values in seconds.items():
        cosines = (vectors[label] * reference).sum(axis=1)
        out[label] = {
            "tokens_per_s": round(real / statistics.median(values)),
            "rounds_s": [round(v, 3) for v in values],
            "cosine_to_torch_fp32": {
                "mean": round(float(cosines.mean()), 5),
                "min": round(float(cosines.min()), 5),
            },
        }
    return out


# -- the table ----------------------------------------------------------------------------
def table(result: dict[str, Any]) -> str:
    lines = [
        "| texts | variant | peak tokens/s | real tokens/s | fraction | cosine mean / min |",
        "|---|---|---|---|---|---|",
    ]
    peaks = result["roofline"]
    for part, length in (("encode", 256), ("sample_chunks", 128)):
        for label, row in result.get(part, {}).get("variants", {}).items():
            precision = "int8" if "int8" in label else "fp32"
            peak = peaks[f"{precision} L={length}"]["peak_tokens_per_s"]
            cos = row["cosine_to_torch_fp32"]
            lines.append(
                f"| {part} | {label} | {peak} | {row['tokens_per_s']} "
                f"| {row['tokens_per_s'] / peak:.2f} | {cos['mean']:.4f} / {cos['min']:.4f} |"
            )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--texts", type=int, default=160)
    parser.add_argument("--cache", type=Path, default=None)
    parser.add_argument("--choices", action="store_true")
    parser.add_argument("--choice-rounds", type=int, default=3)
    parser.add_argument("--no-before", action="store_true")
    parser.add_argument("--sample-rounds", type=int, default=3)
    parser.add_argument(
        "--skip-gemm",
        action="store_true",
        help="reuse the JSON's GEMM rates (and its choices, unless --choices)",
    )
    args = parser.parse_args()
    logging.getLogger().setLevel(logging.ERROR)  # quantize_dynamic's advice on every call
    cache = args.cache or Path(os.environ.get("KB_MODEL_CACHE") or tempfile.mkdtemp())
    config = json.loads((default_model_path() / "config.json").read_text())
    previous = ROOT / "bench" / "results" / "roofline.json"
    result: dict[str, Any] = {"cpu_threads": os.cpu_count(), "load": {"start": load()}}
    kept = json.loads(previous.read_text()) if previous.is_file() else {}
    if args.skip_gemm and "gemm_gflops" in kept:
        result["gemm_gflops"] = kept["gemm_gflops"]
        result["load"]["gemm_run"] = kept["load"]
    else:
        result["gemm_gflops"] = measure_gemm(args.rounds, reps=5)
    if "choices" in kept and not args.choices:  # kept from the run that measured them
        result["choices"] = kept["choices"]
        result["load"]["choices_run"] = kept["load"].get("choices_run", kept["load"])
    result["load"]["after_gemm"] = load()
    keys = ("hidden_size", "intermediate_size", "num_hidden_layers", "num_attention_heads")
    result["model"] = {k: config[k] for k in keys}
    result["flops_per_token"] = {
        f"L={seq}": {k: round(v) for k, v in flops_per_token(config, seq).items()}
        for seq in SEQ_LENS
    }
    result["roofline"] = roofline(config, result["gemm_gflops"])
    texts = corpus_pieces(args.texts)
    result["corpus"] = {
        "source": os.path.relpath(CORPUS, ROOT),
        "words_per_piece": WORDS_PER_PIECE,
        "batch": BATCH,
    }
    result["encode"], models = measure_variants(texts, args.rounds, cache, not args.no_before)
    result["load"]["after_encode"] = load()
    result["bounds"] = {label: breakdown(model, texts, 3) for label, model in models.items()}
    result["load"]["after_bounds"] = load()
    chunks = sample_chunks()
    result["sample_chunks"], _ = measure_variants(
        chunks, args.sample_rounds, cache, True, turn=len(chunks)
    )
    result["sample_chunks"]["padding_share"] = padding_by_order(models[ONNX_FP32].tokenizer, chunks)
    result["load"]["after_sample_chunks"] = load()
    if args.choices:
        result["choices"] = measure_choices(texts, args.choice_rounds, cache)
        result["load"]["after_choices"] = load()
    save("roofline", result)
    print(table(result))


if __name__ == "__main__":
    main()
