"""
The embedded speech recogniser: Whisper base (CTranslate2 weights, int8 on the CPU) in its own process.

Started by EnginePool (stt/embedded.ts) with Node's IPC channel in JSON mode: one JSON object per line on the
file descriptor in NODE_CHANNEL_FD. Says {"ready": true} once the model is loaded, then answers each
{"id", "pcm" (base64, 16-bit little-endian mono at 16 kHz), "language"?} with
{"id", "text", "no_speech_prob", "avg_logprob", "audio_s", "encode_ms", "decode_ms"} or {"id", "error"};
{"cancel": id} gives that recognition up (answered {"id", "error": "cancelled"}).

Why not faster-whisper's transcribe(): it always pads to a 30 s window, so a 3 s clip costs as much as 30 s
(2.1 s against 0.35 s here). The encoder accepts a shorter window; we give it the clip plus 2.56 s of silence,
which keeps Whisper's output as good on short turns (checked on the bench's recordings) at a fraction of the
cost. The log-mel features follow faster-whisper's FeatureExtractor (MIT), reduced to what this needs.

The decoder runs in onnxruntime when the setup has built it (decoder-step.onnx and decoder-cross.onnx beside the
weights, made by models/tools/whisper_decoder_onnx.py): CTranslate2's int8 matrix-vector products on this AMD CPU
took 12-20 ms a token, onnxruntime's take 5-7, and a short turn's words are most of its recognition. Greedy, with
CTranslate2's suppressions, so the words come out the same (word error 4.4 % on the bench's 30 sentences either way;
a first word's capital is a near tie the two int8 roundings can break differently). Without the files it decodes in
CTranslate2 as before.
"""

import base64
import json
import math
import os
import queue
import re
import sys
import threading
import time

import numpy as np

SAMPLE_RATE = 16000
HOP = 160
N_FFT = 400
PAD_FRAMES = 256  # silence after the clip: 2.56 s
MAX_FRAMES = 3000  # Whisper's 30 s window


def mel_filters(n_mels=80, sr=SAMPLE_RATE, n_fft=N_FFT):
    fftfreqs = np.fft.rfftfreq(n=n_fft, d=1.0 / sr)
    mels = np.linspace(0.0, 45.245640471924965, n_mels + 2)
    f_sp = 200.0 / 3
    freqs = f_sp * mels
    min_log_hz = 1000.0
    min_log_mel = min_log_hz / f_sp
    logstep = np.log(6.4) / 27.0
    log_t = mels >= min_log_mel
    freqs[log_t] = min_log_hz * np.exp(logstep * (mels[log_t] - min_log_mel))
    fdiff = np.diff(freqs)
    ramps = freqs.reshape(-1, 1) - fftfreqs.reshape(1, -1)
    lower = -ramps[:-2] / np.expand_dims(fdiff[:-1], axis=1)
    upper = ramps[2:] / np.expand_dims(fdiff[1:], axis=1)
    weights = np.maximum(np.zeros_like(lower), np.minimum(lower, upper))
    enorm = 2.0 / (freqs[2 : n_mels + 2] - freqs[:n_mels])
    return (weights * np.expand_dims(enorm, axis=1)).astype(np.float32)


FILTERS = mel_filters()
WINDOW = np.hanning(N_FFT + 1)[:-1].astype(np.float32)


def log_mel(audio):
    """Whisper's normalised log-mel spectrogram, (80, frames)."""
    padded = np.pad(audio, (N_FFT // 2, N_FFT // 2), mode="reflect")
    n_frames = 1 + (len(padded) - N_FFT) // HOP
    frames = np.lib.stride_tricks.as_strided(
        padded, (n_frames, N_FFT), (HOP * padded.strides[0], padded.strides[0])
    )
    spectrum = np.fft.rfft(frames * WINDOW, n=N_FFT, axis=-1).T.astype(np.complex64)
    magnitudes = np.abs(spectrum[:, :-1]) ** 2
    log_spec = np.log10(np.clip(FILTERS @ magnitudes, 1e-10, None))
    log_spec = np.maximum(log_spec, log_spec.max() - 8.0)
    return ((log_spec + 4.0) / 4.0).astype(np.float32)


def collapse_repeats(text):
    """
    Whisper pads a short clip's transcript by repeating it ("Okay. Okay. Okay."): keep one of each run. It also
    starts the sentence over and stops midway ("Tell me about the river. Tell me about"): that trailing restart is
    dropped too. Left in, it reads as a turn that trails off, which waits 1.3 s longer for the rest.
    """
    out = []
    for sentence in re.split(r"(?<=[.?!])\s+", text):
        if not out or sentence.strip().lower() != out[-1].strip().lower():
            out.append(sentence)
    if len(out) >= 2:
        tail = out[-1].strip().lower().rstrip(".?!,")
        if tail and out[-2].strip().lower().startswith(tail):
            out.pop()
    return " ".join(out)


class Cancelled(Exception):
    """The server no longer wants this recognition."""


class OnnxDecoder:
    """Whisper's text decoder in onnxruntime: greedy, one call for the prompt and one per token, cancellable between
    tokens. Suppresses what CTranslate2's generate(suppress_blank=True, suppress_tokens=[-1]) does (the config's
    non-speech symbols; a blank or the end at the first token) and, as no timestamps are asked for, every special
    token but the end of text."""

    def __init__(self, model_dir, threads, eot, no_speech):
        import onnxruntime

        options = onnxruntime.SessionOptions()
        options.intra_op_num_threads = threads
        options.inter_op_num_threads = 1
        # Threads that wait for work sleep rather than spin: on two cores a spinning one takes the time of the
        # render loop and of the model writing the answer (measured: the decoder is no slower for it).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        session = lambda name: onnxruntime.InferenceSession(
            os.path.join(model_dir, name), options, providers=["CPUExecutionProvider"]
        )
        self.step = session("decoder-step.onnx")
        self.cross = session("decoder-cross.onnx")
        self.layers = sum(1 for i in self.cross.get_outputs() if i.name.startswith("cross_k_"))
        past = self.step.get_inputs()[[i.name for i in self.step.get_inputs()].index("past_k_0")]
        self.heads, self.head = past.shape[1], past.shape[3]
        vocab = self.step.get_outputs()[0].shape[1]
        # The token embeddings: float16 rows mapped from model.bin where the tool found them, read only as used.
        meta = self.step.get_modelmeta().custom_metadata_map
        rows, dim = (int(v) for v in meta["embedding_shape"].split(","))
        if meta["embedding_dtype"] != "float16" or rows != vocab:
            raise ValueError(f"unexpected embedding metadata {meta}")
        self.embedding = np.memmap(
            os.path.join(model_dir, meta["embedding_file"]),
            dtype=np.float16,
            mode="r",
            offset=int(meta["embedding_offset"]),
            shape=(rows, dim),
        )
        with open(os.path.join(model_dir, "config.json"), encoding="utf-8") as f:
            config = json.load(f)
        self.eot, self.no_speech = eot, no_speech
        self.suppress = np.zeros(vocab, dtype=bool)
        self.suppress[config["suppress_ids"]] = True
        self.suppress[eot + 1 :] = True
        self.suppress_first = self.suppress.copy()
        self.suppress_first[config["suppress_ids_begin"]] = True

    def generate(self, encoded, prompt, max_tokens, is_cancelled):
        """-> (token ids, no-speech probability, the words' mean log probability)"""
        feeds = {}
        cross = self.cross.run(None, {"encoder_out": encoded})
        empty = np.zeros((1, self.heads, 0, self.head), dtype=np.float32)
        for i in range(self.layers):
            feeds[f"cross_k_{i}"], feeds[f"cross_v_{i}"] = cross[2 * i], cross[2 * i + 1]
            feeds[f"past_k_{i}"] = feeds[f"past_v_{i}"] = empty
        n = len(prompt)
        feeds["embeds"] = self.embedding[prompt].astype(np.float32)[None]
        feeds["positions"] = np.arange(n, dtype=np.int64)
        feeds["mask"] = np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1)
        feeds["pick"] = np.array([0, n - 1], dtype=np.int64)  # the start token (no speech?) and the last
        out = self.step.run(None, feeds)
        first = out[0][0].astype(np.float64)
        first = np.exp(first - first.max())
        no_speech_prob = float(first[self.no_speech] / first.sum())
        logits, past, ids, logprob = out[0][-1], n, [], 0.0
        while True:
            if is_cancelled():
                raise Cancelled()
            masked = np.where(self.suppress if ids else self.suppress_first, -np.inf, logits)
            token = int(masked.argmax())
            if token == self.eot or len(ids) >= max_tokens:
                break
            shifted = logits - logits.max()
            logprob += float(shifted[token] - np.log(np.exp(shifted).sum()))
            ids.append(token)
            for i in range(self.layers):
                feeds[f"past_k_{i}"], feeds[f"past_v_{i}"] = out[1 + 2 * i], out[2 + 2 * i]
            feeds["embeds"] = self.embedding[[token]].astype(np.float32)[None]
            feeds["positions"] = np.array([past], dtype=np.int64)
            feeds["mask"] = np.zeros((1, past + 1), dtype=np.float32)
            feeds["pick"] = np.array([0], dtype=np.int64)
            out = self.step.run(None, feeds)
            logits, past = out[0][-1], past + 1
        # The words' mean log probability (the end token's, nearly 0, left out): a lone "you" on silence, Whisper's
        # usual invention, scores about -1.9 and is told from speech by it, as with CTranslate2's score.
        return ids, no_speech_prob, logprob / max(1, len(ids))


def send(channel, message):
    channel.write((json.dumps(message) + "\n").encode("utf-8"))
    channel.flush()


def main():
    # CTranslate2's OpenMP threads otherwise spin for a while after the encoder, on the core the decoder (another
    # runtime) then needs: a passive wait made a turn's decoding ~10 % faster.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    import ctranslate2
    import tokenizers

    model_dir = os.environ["LIKENESS_STT_MODEL_DIR"]
    threads = int(os.environ.get("LIKENESS_STT_THREADS", "2"))
    channel_fd = int(os.environ["NODE_CHANNEL_FD"])
    model = ctranslate2.models.Whisper(
        model_dir, device="cpu", compute_type="int8", intra_threads=threads
    )
    tokenizer = tokenizers.Tokenizer.from_file(os.path.join(model_dir, "tokenizer.json"))
    token = tokenizer.token_to_id
    sot, transcribe, no_timestamps = (
        token("<|startoftranscript|>"),
        token("<|transcribe|>"),
        token("<|notimestamps|>"),
    )
    eot = token("<|endoftext|>")
    decoder = None
    if os.path.exists(os.path.join(model_dir, "decoder-step.onnx")):
        try:
            decoder = OnnxDecoder(model_dir, threads, eot, token("<|nospeech|>") or token("<|nocaptions|>"))
        except Exception as err:  # a runtime or file that will not load: CTranslate2 decodes, as before
            print(f"whisper_worker: the ONNX decoder did not load ({err}); decoding in CTranslate2", file=sys.stderr)

    def recognise(pcm, language, is_cancelled=lambda: False):
        audio = np.frombuffer(pcm, dtype="<i2").astype(np.float32) / 32768.0
        audio_s = len(audio) / SAMPLE_RATE
        frames = len(audio) // HOP
        window = min(MAX_FRAMES, max(PAD_FRAMES, math.ceil((frames + PAD_FRAMES) / 128) * 128))
        audio = np.pad(audio[: window * HOP], (0, max(0, window * HOP - len(audio))))
        features = log_mel(audio)[:, :window]
        started = time.perf_counter()
        encoded = model.encode(
            ctranslate2.StorageView.from_array(features[None]), to_cpu=decoder is not None
        )
        encoded_at = time.perf_counter()
        if is_cancelled():
            raise Cancelled()
        lang = token(f"<|{language}|>") or token("<|en|>")
        prompt = [sot, lang, transcribe, no_timestamps]
        # The cap stops a hallucinated repetition. Brisk speech runs to ~5 words a second, 7-8 tokens with
        # punctuation: a cap of 6 a second cut the last words off ("... then goes" for "... then goes home.").
        max_tokens = min(221, 13 + math.ceil(audio_s * 10))
        if decoder is not None:
            ids, no_speech_prob, avg_logprob = decoder.generate(
                np.asarray(encoded), prompt, max_tokens, is_cancelled
            )
        else:
            result = model.generate(
                encoded,
                [prompt],
                beam_size=1,
                max_length=max_tokens + 3,  # CTranslate2 counts the prompt's tokens after the first
                suppress_blank=True,
                suppress_tokens=[-1],
                return_scores=True,
                return_no_speech_prob=True,
            )[0]
            ids = [t for t in result.sequences_ids[0] if t < eot]
            no_speech_prob = float(result.no_speech_prob)
            avg_logprob = float(result.scores[0]) if result.scores else 0.0
        return {
            "text": collapse_repeats(tokenizer.decode(ids).strip()),
            "no_speech_prob": no_speech_prob,
            "avg_logprob": avg_logprob,
            "audio_s": audio_s,
            "encode_ms": (encoded_at - started) * 1000,
            "decode_ms": (time.perf_counter() - encoded_at) * 1000,
        }

    # The channel is read by a thread of its own, so a cancel is seen while an utterance is being recognised:
    # an aborted recognition (the user spoke on, a partial overtaken by the final) then stops between the
    # encoder and the decoder, or never starts, instead of holding the process for the next one.
    requests = queue.Queue()
    cancelled = set()

    def read_channel(reader):
        buffer = b""
        try:
            while True:
                chunk = reader.read(1 << 16)
                if not chunk:
                    return  # the server went away
                buffer += chunk
                while b"\n" in buffer:
                    line, buffer = buffer.split(b"\n", 1)
                    if not line.strip():
                        continue
                    message = json.loads(line)
                    if "cancel" in message:
                        cancelled.add(message["cancel"])
                    elif "id" in message and "pcm" in message:
                        requests.put(message)
                    # anything else (a hint): nothing runs in the background
        finally:
            # The channel closed, or could not be read: the process ends, and the pool starts another.
            requests.put(None)

    with os.fdopen(channel_fd, "r+b", buffering=0) as raw:
        writer = os.fdopen(os.dup(channel_fd), "wb")
        # Warm the model: the first call allocates its buffers.
        recognise(np.zeros(SAMPLE_RATE // 2, dtype="<i2").tobytes(), "en")
        threading.Thread(target=read_channel, args=(raw,), daemon=True).start()
        send(writer, {"ready": True})
        while True:
            message = requests.get()
            if message is None:
                return
            rid = message["id"]
            try:
                if rid in cancelled:
                    raise Cancelled()
                reply = recognise(
                    base64.b64decode(message["pcm"]),
                    message.get("language") or "en",
                    lambda: rid in cancelled,
                )
                reply["id"] = rid
            except Cancelled:
                reply = {"id": rid, "error": "cancelled"}
            except Exception as err:  # one bad request fails alone
                reply = {"id": rid, "error": f"{type(err).__name__}: {err}"}
            # list() copies the set in one step: the reader thread may add to it meanwhile.
            cancelled.difference_update([c for c in list(cancelled) if c <= rid])
            send(writer, reply)


if __name__ == "__main__":
    try:
        main()
    except KeyboardInterrupt:
        sys.exit(0)
