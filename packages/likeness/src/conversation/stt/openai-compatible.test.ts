import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { RecognitionFailure } from './index.ts';
import { OpenAiCompatibleRecognizer } from './openai-compatible.ts';

/**
 * The adapter against a local server that speaks OpenAI's /audio/transcriptions wire format (the real service
 * cannot be reached here): a multipart form with `file`, `model`, `language`, `response_format`; `{text}` back.
 */
describe('OpenAI-compatible recogniser', () => {
  let server: http.Server;
  let url = '';
  let answer: (req: { auth: string; form: FormData }) => { status: number; body: string } = () => ({
    status: 200,
    body: JSON.stringify({ text: ' Hello there. ' }),
  });
  const seen: { auth: string; form: FormData }[] = [];
  before(async () => {
    server = http.createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const c of req) chunks.push(c as Buffer);
      const form = await new Response(Buffer.concat(chunks), {
        headers: { 'content-type': req.headers['content-type'] ?? '' },
      }).formData();
      const r = { auth: req.headers.authorization ?? '', form };
      seen.push(r);
      const a = answer(r);
      res.writeHead(a.status, { 'content-type': 'application/json' }).end(a.body);
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(() => new Promise<void>((r) => server.close(() => r())));

  it('sends the utterance as a WAV file with the model and language, and returns the text', async () => {
    const stt = new OpenAiCompatibleRecognizer({ baseUrl: url, apiKey: 'sk-test', model: 'whisper-1' });
    const pcm = new Int16Array(16_000).map((_, i) => Math.sin(i / 10) * 5000);
    const t = await stt.recognize(pcm, { language: 'de' });
    assert.equal(t.text, 'Hello there.');
    assert.equal(t.noSpeech, false);
    assert.equal(t.audioS, 1);
    const req = seen.at(-1)!;
    assert.equal(req.auth, 'Bearer sk-test');
    assert.equal(req.form.get('model'), 'whisper-1');
    assert.equal(req.form.get('language'), 'de');
    assert.equal(req.form.get('response_format'), 'json');
    const file = req.form.get('file') as File;
    const bytes = new Uint8Array(await file.arrayBuffer());
    assert.equal(new TextDecoder().decode(bytes.subarray(0, 4)), 'RIFF');
    assert.equal(bytes.length, 44 + 32_000);
  });

  it('maps failures: 5xx -> unavailable, 4xx and non-JSON -> failed, unreachable -> unavailable; empty text is no speech', async () => {
    const stt = new OpenAiCompatibleRecognizer({ baseUrl: url, model: 'm' });
    const pcm = new Int16Array(1600);
    answer = () => ({ status: 503, body: '{"error":"overloaded"}' });
    await assert.rejects(
      stt.recognize(pcm),
      (e) => e instanceof RecognitionFailure && e.kind === 'unavailable',
    );
    answer = () => ({ status: 400, body: '{"error":"bad"}' });
    await assert.rejects(stt.recognize(pcm), (e) => e instanceof RecognitionFailure && e.kind === 'failed');
    answer = () => ({ status: 200, body: 'not json' });
    await assert.rejects(stt.recognize(pcm), (e) => e instanceof RecognitionFailure && e.kind === 'failed');
    answer = () => ({ status: 200, body: JSON.stringify({ text: ' ... ' }) });
    assert.equal((await stt.recognize(pcm)).noSpeech, true);
    const down = new OpenAiCompatibleRecognizer({ baseUrl: 'http://127.0.0.1:9/v1', model: 'm' });
    await assert.rejects(
      down.recognize(pcm),
      (e) => e instanceof RecognitionFailure && e.kind === 'unavailable',
    );
  });
});
