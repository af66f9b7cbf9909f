import assert from 'node:assert/strict';
import { Writable } from 'node:stream';
import { describe, it } from 'node:test';
import { createLogger, logContext } from './log-context.ts';

describe('log context', () => {
  it('puts the request and session ids on every line written while a request is handled, however deep', async () => {
    const lines: Record<string, unknown>[] = [];
    const sink = new Writable({
      write(chunk, _enc, done) {
        lines.push(JSON.parse(String(chunk)));
        done();
      },
    });
    const logger = createLogger('info', sink);
    const deepInTheDomain = async () => {
      await new Promise((r) => setTimeout(r, 5));
      logger.warn({ detail: 1 }, 'something in the speech engine');
    };
    await logContext.run({ req_id: 'req_1', session_id: 'ses_1' }, deepInTheDomain);
    logger.info('outside any request');
    await new Promise((r) => setImmediate(r));
    assert.equal(lines[0]!.req_id, 'req_1');
    assert.equal(lines[0]!.session_id, 'ses_1');
    assert.equal(lines[0]!.detail, 1);
    assert.equal(lines[1]!.req_id, undefined);
  });
});
