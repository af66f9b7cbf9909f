import assert from 'node:assert/strict';
import { it } from 'node:test';
import { loadConfig } from './config.ts';

it('reads defaults and rejects out-of-range settings with the variable name', () => {
  const c = loadConfig({});
  assert.equal(c.port, 8080);
  assert.equal(c.limits.portraitSize, 512);
  assert.equal(c.databaseUrl, undefined);
  assert.equal(loadConfig({ PORT: '9000', LIKENESS_PORTRAIT_SIZE: '1024' }).limits.portraitSize, 1024);
  assert.throws(() => loadConfig({ LIKENESS_PORTRAIT_SIZE: '2048' }), /LIKENESS_PORTRAIT_SIZE/);
  assert.throws(() => loadConfig({ PORT: 'eighty' }), /PORT/);
});

it('enables LiveKit only with URL, key and secret together', () => {
  assert.equal(loadConfig({}).livekit, undefined);
  const lk = { LIVEKIT_URL: 'ws://127.0.0.1:7880', LIVEKIT_API_KEY: 'devkey', LIVEKIT_API_SECRET: 'secret' };
  assert.deepEqual(loadConfig(lk).livekit, { url: lk.LIVEKIT_URL, apiKey: 'devkey', apiSecret: 'secret' });
  assert.throws(() => loadConfig({ LIVEKIT_URL: lk.LIVEKIT_URL }), /LIVEKIT_API_KEY/);
  assert.throws(() => loadConfig({ ...lk, LIVEKIT_URL: 'localhost:7880' }), /ws\(s\)/);
});

it('reads the neural voice setting: on, off, or auto (by cores) by default', () => {
  assert.equal(loadConfig({}).speech.neural, 'auto');
  assert.equal(loadConfig({ LIKENESS_NEURAL_VOICE: 'OFF' }).speech.neural, 'off');
  assert.equal(loadConfig({ LIKENESS_NEURAL_VOICE: 'on' }).speech.neural, 'on');
  assert.throws(() => loadConfig({ LIKENESS_NEURAL_VOICE: 'sometimes' }), /LIKENESS_NEURAL_VOICE/);
});
