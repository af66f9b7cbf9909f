#!/usr/bin/env node
/**
 * Rewrites the embedded language model's GGUF (SmolLM2-135M-Instruct, Q4_1) so llama.cpp reads prompts faster on
 * a CPU: its Q4_1 weights become Q4_0, except the feed-forward down projections, which become Q8_0.
 *
 * Why: llama.cpp has fast matrix kernels for Q4_0 and Q8_0 on x86 (repacked for AVX2, tinyBLAS), none for Q4_1.
 * Measured here (one thread, idle): reading a 15-token user turn and writing the first token 79-120 ms against
 * 168-207, and 19-20 ms a token after that against 21-22. Q4_0 cannot hold Q4_1's values exactly (it has no
 * offset), so each block's scale is the one, of 21 near max/8, with the least squared error; the down
 * projections, the most sensitive to rounding, go to Q8_0, which holds them almost exactly. Perplexity on a
 * held-out text: 17.55 (Q4_1) -> 17.88 (this); plain Q4_0 for every tensor gave 18.4-19.7.
 *
 * Deterministic (plain float64 arithmetic, fixed order), so the result's checksum is verified after the build.
 * Usage: node gguf_q4_0.mjs IN.gguf OUT.gguf. Plain JS with no dependencies: it runs from the setup.
 */
import fs from 'node:fs';

const [src, dst] = process.argv.slice(2);
if (!src || !dst) {
  console.error('usage: node gguf_q4_0.mjs IN.gguf OUT.gguf');
  process.exit(2);
}

const Q4_0 = 2;
const Q4_1 = 3;
const Q8_0 = 8;
const BLOCK = 32;
const BYTES = { [Q4_0]: 18, [Q4_1]: 20, [Q8_0]: 34 };
/** GGUF metadata value types -> byte size (fixed-size ones). */
const FIXED = { 0: 1, 1: 1, 2: 2, 3: 2, 4: 4, 5: 4, 6: 4, 7: 1, 10: 8, 11: 8, 12: 8 };
const STRING = 8;
const ARRAY = 9;
/** llama.cpp's file type for "mostly Q4_0". */
const MOSTLY_Q4_0 = 2;

const buf = fs.readFileSync(src);
if (buf.toString('latin1', 0, 4) !== 'GGUF') throw new Error(`${src} is not a GGUF file`);
if (buf.readUInt32LE(4) !== 3) throw new Error(`${src}: GGUF version ${buf.readUInt32LE(4)}, expected 3`);
let at = 8;
const u64 = () => {
  const v = Number(buf.readBigUInt64LE(at));
  at += 8;
  return v;
};
const str = () => {
  const n = u64();
  const s = buf.toString('utf8', at, at + n);
  at += n;
  return s;
};
const skipValue = (type) => {
  if (type === STRING) return void str();
  if (type === ARRAY) {
    const itemType = buf.readUInt32LE(at);
    at += 4;
    const n = u64();
    for (let i = 0; i < n; i++) skipValue(itemType);
    return;
  }
  const size = FIXED[type];
  if (size === undefined) throw new Error(`unknown metadata type ${type}`);
  at += size;
};

const tensorCount = u64();
const kvCount = u64();
let alignment = 32;
let fileTypeAt = -1;
for (let i = 0; i < kvCount; i++) {
  const key = str();
  const type = buf.readUInt32LE(at);
  at += 4;
  if (key === 'general.alignment' && type === 4) alignment = buf.readUInt32LE(at);
  if (key === 'general.file_type' && type === 4) fileTypeAt = at;
  skipValue(type);
}

const tensors = [];
for (let i = 0; i < tensorCount; i++) {
  const name = str();
  const dims = buf.readUInt32LE(at);
  at += 4;
  let count = 1;
  for (let d = 0; d < dims; d++) count *= u64();
  const typeAt = at;
  const type = buf.readUInt32LE(at);
  at += 4;
  const offsetAt = at;
  const offset = u64();
  tensors.push({ name, count, type, typeAt, offsetAt, offset });
}
const align = (n) => Math.ceil(n / alignment) * alignment;
const dataStart = align(at);
const sourceBytes = (t) => {
  if (BYTES[t.type]) return (t.count / BLOCK) * BYTES[t.type];
  if (t.type === 0) return t.count * 4; // F32
  if (t.type === 1) return t.count * 2; // F16
  throw new Error(`${t.name}: tensor type ${t.type} not handled`);
};

// f16 <-> number, round to nearest even (through float32, as ggml does).
const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);
function toHalf(v) {
  f32[0] = v;
  const x = u32[0];
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >>> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let h = (e << 10) | (mant >>> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && h & 1)) h++;
  return sign | h;
}
const HALF = new Float64Array(65536);
for (let h = 0; h < 65536; h++) {
  const sign = h & 0x8000 ? -1 : 1;
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  HALF[h] =
    e === 0
      ? sign * m * 2 ** -24
      : e === 0x1f
        ? m
          ? Number.NaN
          : sign * Infinity
        : sign * (1 + m / 1024) * 2 ** (e - 15);
}

const x = new Float64Array(BLOCK);
/** One Q4_1 block (d, m, 16 bytes of nibbles) -> its 32 values in `x`. */
function readQ4_1(src, o) {
  const d = HALF[src.readUInt16LE(o)];
  const m = HALF[src.readUInt16LE(o + 2)];
  for (let j = 0; j < 16; j++) {
    const b = src[o + 4 + j];
    x[j] = d * (b & 0x0f) + m;
    x[j + 16] = d * (b >> 4) + m;
  }
}

const CANDIDATES = Array.from({ length: 21 }, (_, i) => 0.8 + i * 0.02);
/** `x` as a Q4_0 block (d, 16 bytes of nibbles, value = d * (q - 8)), with the scale of least squared error. */
function writeQ4_0(dst, o) {
  let amax = 0;
  for (let j = 0; j < BLOCK; j++) if (Math.abs(x[j]) > Math.abs(amax)) amax = x[j];
  let bestErr = Infinity;
  let bestH = 0;
  for (const f of CANDIDATES) {
    for (const sign of [1, -1]) {
      const h = toHalf((amax / -8) * f * sign);
      const d = HALF[h];
      let err = 0;
      for (let j = 0; j < BLOCK; j++) {
        const q = d === 0 ? 0 : Math.max(-8, Math.min(7, Math.round(x[j] / d)));
        const e = q * d - x[j];
        err += e * e;
      }
      if (err < bestErr) {
        bestErr = err;
        bestH = h;
      }
    }
  }
  const d = HALF[bestH];
  dst.writeUInt16LE(bestH, o);
  for (let j = 0; j < 16; j++) {
    const lo = d === 0 ? 8 : Math.max(-8, Math.min(7, Math.round(x[j] / d))) + 8;
    const hi = d === 0 ? 8 : Math.max(-8, Math.min(7, Math.round(x[j + 16] / d))) + 8;
    dst[o + 2 + j] = lo | (hi << 4);
  }
}
/** `x` as a Q8_0 block (d, 32 signed bytes). */
function writeQ8_0(dst, o) {
  let amax = 0;
  for (let j = 0; j < BLOCK; j++) amax = Math.max(amax, Math.abs(x[j]));
  const h = toHalf(amax / 127);
  const d = HALF[h];
  dst.writeUInt16LE(h, o);
  for (let j = 0; j < BLOCK; j++)
    dst.writeInt8(d === 0 ? 0 : Math.max(-127, Math.min(127, Math.round(x[j] / d))), o + 2 + j);
}

const header = Buffer.from(buf.subarray(0, dataStart));
if (fileTypeAt >= 0) header.writeUInt32LE(MOSTLY_Q4_0, fileTypeAt);
const parts = [];
let offset = 0;
const counts = { q4_0: 0, q8_0: 0, kept: 0 };
for (const t of tensors) {
  const from = dataStart + t.offset;
  let data;
  let type = t.type;
  if (t.type === Q4_1) {
    type = /ffn_down/.test(t.name) ? Q8_0 : Q4_0;
    const blocks = t.count / BLOCK;
    data = Buffer.alloc(blocks * BYTES[type]);
    for (let b = 0; b < blocks; b++) {
      readQ4_1(buf, from + b * BYTES[Q4_1]);
      if (type === Q8_0) writeQ8_0(data, b * BYTES[Q8_0]);
      else writeQ4_0(data, b * BYTES[Q4_0]);
    }
    counts[type === Q8_0 ? 'q8_0' : 'q4_0']++;
  } else {
    data = buf.subarray(from, from + sourceBytes(t));
    counts.kept++;
  }
  header.writeUInt32LE(type, t.typeAt);
  header.writeBigUInt64LE(BigInt(offset), t.offsetAt);
  const padded = align(data.length);
  parts.push(data);
  if (padded > data.length) parts.push(Buffer.alloc(padded - data.length));
  offset += padded;
}
const fd = fs.openSync(dst, 'w');
try {
  fs.writeSync(fd, header);
  for (const p of parts) fs.writeSync(fd, p);
} finally {
  fs.closeSync(fd);
}
console.error(
  `[gguf_q4_0] ${counts.q4_0} tensors Q4_0, ${counts.q8_0} Q8_0, ${counts.kept} kept as they were`,
);
