import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { Problem } from '../errors.ts';
import { FliteEngine } from './flite-engine.ts';
import { OPENAI_PCM_RATE, OpenAiSpeechEngine } from './openai-speech.ts';
import { SpeechService } from './speech-service.ts';

/**
 * The real adapter against a local server that speaks OpenAI's /v1/audio/speech protocol (the cloud cannot be
 * reached here). The server answers with real speech: Flite's audio resampled to 24 kHz, sent in small pieces.
 */
describe('OpenAI-compatible speech adapter', () => {
  const flite = new FliteEngine();
  let server: http.Server;
  let baseUrl = '';
  const requests: { auth?: string | undefined; body: Record<string, unknown> }[] = [];

  before(async () => {
    server = http.createServer(async (req, res) => {
      let raw = '';
      for await (const part of req) raw += part;
      const body = JSON.parse(raw) as { input: string; voice: string; response_format: string };
      requests.push({ auth: req.headers.authorization, body });
      if (body.voice === 'broken') {
        res
          .writeHead(400, { 'content-type': 'application/json' })
          .end('{"error":{"message":"unknown voice"}}');
        return;
      }
      const { samples } = await flite.speak(body.input, 'slt');
      const out = new Int16Array(Math.floor((samples.length * OPENAI_PCM_RATE) / 16000));
      for (let i = 0; i < out.length; i++)
        out[i] = samples[Math.min(samples.length - 1, Math.round((i * 16000) / OPENAI_PCM_RATE))]!;
      const bytes = Buffer.from(out.buffer);
      res.writeHead(200, { 'content-type': 'audio/pcm' });
      for (let i = 0; i < bytes.length; i += 3001) res.write(bytes.subarray(i, i + 3001)); // odd sizes on purpose
      res.end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/v1`;
  });
  after(async () => {
    server.close();
    await flite.close();
  });

  it('streams 24 kHz PCM in order, and the service derives visemes from the audio', async () => {
    const engine = new OpenAiSpeechEngine({ baseUrl, apiKey: 'sk-test', model: 'tts-1' });
    const speech = new SpeechService({ flite, openai: engine });
    const chunks = [];
    for await (const c of speech.stream('Open the map. Then meet me by the mill.', {
      provider: 'openai',
      id: 'alloy',
    }))
      chunks.push(c);
    assert.ok(chunks.length > 5, 'audio arrives in many chunks');
    let position = 0;
    for (const c of chunks) {
      assert.equal(c.sampleRate, OPENAI_PCM_RATE);
      assert.equal(c.startSample, position);
      assert.equal(c.visemeSource, 'audio');
      position += c.samples.length;
    }
    const visemes = chunks.flatMap((c) => c.visemes);
    assert.ok(
      visemes.some((v) => v.viseme !== 'sil'),
      'speech found in the audio',
    );
    assert.equal(requests[0]!.auth, 'Bearer sk-test');
    assert.deepEqual(requests[0]!.body, {
      model: 'tts-1',
      input: 'Open the map.',
      voice: 'alloy',
      response_format: 'pcm',
    });
    assert.equal(requests.length, 2, 'one request per sentence');
  });

  it('turns endpoint errors into a speech-failed problem', async () => {
    const engine = new OpenAiSpeechEngine({ baseUrl, model: 'tts-1' });
    const run = async () => {
      for await (const _ of engine.synthesize({ text: 'Hi.', voice: { provider: 'openai', id: 'broken' } }))
        void _;
    };
    await assert.rejects(
      run,
      (e) => e instanceof Problem && e.slug === 'speech-failed' && /400/.test(e.message),
    );
    const unreachable = new OpenAiSpeechEngine({ baseUrl: 'http://127.0.0.1:9/v1', model: 'tts-1' });
    const run2 = async () => {
      for await (const _ of unreachable.synthesize({ text: 'Hi.', voice: { provider: 'openai', id: 'x' } }))
        void _;
    };
    await assert.rejects(run2, (e) => e instanceof Problem && e.slug === 'speech-failed');
  });

  it('needs configuration before openai voices can be used', () => {
    const speech = new SpeechService({ flite });
    assert.throws(
      () => speech.engineFor({ provider: 'openai', id: 'alloy' }),
      (e) => e instanceof Problem && e.slug === 'unknown-voice',
    );
  });
});
