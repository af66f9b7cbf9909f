import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, it } from 'node:test';

/**
 * The setup's rewrite of the embedded model (models/tools/gguf_q4_0.mjs), on a small GGUF written here: Q4_1
 * tensors come out as Q4_0 (down projections Q8_0) holding the same values within a rounding step, everything
 * else byte for byte, and the file stays a GGUF llama.cpp can lay out (offsets aligned, file type Q4_0).
 */
const TOOL = path.join(import.meta.dirname, '../../../models/tools/gguf_q4_0.mjs');
const F32 = 0;
const Q4_0 = 2;
const Q4_1 = 3;
const Q8_0 = 8;

function half(v: number): number {
  const f = new Float32Array([v]);
  const x = new Uint32Array(f.buffer)[0]!;
  // These tests use values whose float32 form has no bits below f16's mantissa: truncating is exact.
  return ((x >>> 16) & 0x8000) | ((((x >>> 23) & 0xff) - 112) << 10) | ((x >>> 13) & 0x3ff);
}
function fromHalf(h: number): number {
  const e = (h >>> 10) & 0x1f;
  const m = h & 0x3ff;
  const v = e === 0 ? m * 2 ** -24 : (1 + m / 1024) * 2 ** (e - 15);
  return h & 0x8000 ? -v : v;
}

const str = (s: string) => {
  const b = Buffer.from(s, 'utf8');
  const n = Buffer.alloc(8);
  n.writeBigUInt64LE(BigInt(b.length));
  return Buffer.concat([n, b]);
};
const u32 = (v: number) => {
  const b = Buffer.alloc(4);
  b.writeUInt32LE(v);
  return b;
};
const u64 = (v: number) => {
  const b = Buffer.alloc(8);
  b.writeBigUInt64LE(BigInt(v));
  return b;
};

/** Q4_1 blocks of 32 values: d * q + m, q from a fixed pattern. */
function q41(blocks: number): { bytes: Buffer; values: number[] } {
  const bytes = Buffer.alloc(blocks * 20);
  const values: number[] = [];
  for (let b = 0; b < blocks; b++) {
    const d = 0.015625 * (b + 1); // exact in f16
    const m = -0.125 * (b + 1);
    bytes.writeUInt16LE(half(d), b * 20);
    bytes.writeUInt16LE(half(m), b * 20 + 2);
    const q = Array.from({ length: 32 }, (_, j) => (j * 7 + b * 3) % 16);
    for (let j = 0; j < 16; j++) bytes[b * 20 + 4 + j] = q[j]! | (q[j + 16]! << 4);
    values.push(...q.map((v) => d * v + m));
  }
  return { bytes, values };
}

function gguf(tensors: { name: string; type: number; count: number; data: Buffer }[]): Buffer {
  const kv = Buffer.concat([str('general.file_type'), u32(4), u32(3)]);
  const infos: Buffer[] = [];
  const datas: Buffer[] = [];
  let offset = 0;
  for (const t of tensors) {
    infos.push(str(t.name), u32(1), u64(t.count), u32(t.type), u64(offset));
    const padded = Math.ceil(t.data.length / 32) * 32;
    datas.push(t.data, Buffer.alloc(padded - t.data.length));
    offset += padded;
  }
  const head = Buffer.concat([Buffer.from('GGUF'), u32(3), u64(tensors.length), u64(1), kv, ...infos]);
  return Buffer.concat([head, Buffer.alloc(Math.ceil(head.length / 32) * 32 - head.length), ...datas]);
}

function read(file: string) {
  const buf = fs.readFileSync(file);
  let at = 24;
  const s = () => {
    const n = Number(buf.readBigUInt64LE(at));
    at += 8 + n;
    return buf.toString('utf8', at - n, at);
  };
  s();
  at += 4;
  const fileType = buf.readUInt32LE(at);
  at += 4;
  const tensors: { name: string; type: number; count: number; offset: number }[] = [];
  for (let i = 0; i < Number(buf.readBigUInt64LE(8)); i++) {
    const name = s();
    at += 4;
    const count = Number(buf.readBigUInt64LE(at));
    const type = buf.readUInt32LE(at + 8);
    const offset = Number(buf.readBigUInt64LE(at + 12));
    at += 20;
    tensors.push({ name, type, count, offset });
  }
  const start = Math.ceil(at / 32) * 32;
  return { buf, fileType, tensors, start };
}

function dequantize(buf: Buffer, at: number, type: number, count: number): number[] {
  const out: number[] = [];
  for (let b = 0; b < count / 32; b++) {
    if (type === Q4_0) {
      const o = at + b * 18;
      const d = fromHalf(buf.readUInt16LE(o));
      const q = Array.from({ length: 32 }, (_, j) =>
        j < 16 ? buf[o + 2 + j]! & 15 : buf[o + 2 + j - 16]! >> 4,
      );
      out.push(...q.map((v) => d * (v - 8)));
    } else {
      const o = at + b * 34;
      const d = fromHalf(buf.readUInt16LE(o));
      for (let j = 0; j < 32; j++) out.push(d * buf.readInt8(o + 2 + j));
    }
  }
  return out;
}

describe('gguf_q4_0 (the setup rewrites the embedded model for fast kernels)', () => {
  it('rewrites Q4_1 as Q4_0 (down projections Q8_0) within a rounding step, and keeps the rest as it was', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-gguf-'));
    const up = q41(4);
    const down = q41(2);
    const norm = Buffer.from(new Float32Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]).buffer);
    const src = path.join(dir, 'in.gguf');
    const dst = path.join(dir, 'out.gguf');
    fs.writeFileSync(
      src,
      gguf([
        { name: 'blk.0.ffn_up.weight', type: Q4_1, count: 128, data: up.bytes },
        { name: 'blk.0.attn_norm.weight', type: F32, count: 11, data: norm },
        { name: 'blk.0.ffn_down.weight', type: Q4_1, count: 64, data: down.bytes },
      ]),
    );
    const r = spawnSync(process.execPath, [TOOL, src, dst], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);

    const out = read(dst);
    assert.equal(out.fileType, 2); // mostly Q4_0
    assert.deepEqual(
      out.tensors.map((t) => [t.name, t.type]),
      [
        ['blk.0.ffn_up.weight', Q4_0],
        ['blk.0.attn_norm.weight', F32],
        ['blk.0.ffn_down.weight', Q8_0],
      ],
    );
    for (const t of out.tensors) assert.equal(t.offset % 32, 0);
    const [u, n, d] = out.tensors as [
      (typeof out.tensors)[0],
      (typeof out.tensors)[0],
      (typeof out.tensors)[0],
    ];
    assert.ok(out.buf.subarray(out.start + n.offset, out.start + n.offset + norm.length).equals(norm));

    const upOut = dequantize(out.buf, out.start + u.offset, Q4_0, 128);
    const downOut = dequantize(out.buf, out.start + d.offset, Q8_0, 64);
    for (let b = 0; b < 4; b++) {
      const block = up.values.slice(b * 32, b * 32 + 32);
      const amax = Math.max(...block.map(Math.abs));
      // Q4_0's step is about amax / 8: no value moves by more than half of it (a little more at a clamped end).
      for (let j = 0; j < 32; j++) assert.ok(Math.abs(upOut[b * 32 + j]! - block[j]!) < (amax / 8) * 0.65);
    }
    const downMax = Math.max(...down.values.map(Math.abs));
    for (let i = 0; i < 64; i++) assert.ok(Math.abs(downOut[i]! - down.values[i]!) < downMax / 127);

    // Deterministic: the setup verifies the built file by its checksum.
    const again = path.join(dir, 'again.gguf');
    assert.equal(spawnSync(process.execPath, [TOOL, src, again]).status, 0);
    assert.ok(fs.readFileSync(again).equals(fs.readFileSync(dst)));
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a file that is not a GGUF, writing nothing', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'likeness-gguf-'));
    fs.writeFileSync(path.join(dir, 'in.gguf'), 'not a model');
    const r = spawnSync(process.execPath, [TOOL, path.join(dir, 'in.gguf'), path.join(dir, 'out.gguf')]);
    assert.notEqual(r.status, 0);
    assert.equal(fs.existsSync(path.join(dir, 'out.gguf')), false);
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
