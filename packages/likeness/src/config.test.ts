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
