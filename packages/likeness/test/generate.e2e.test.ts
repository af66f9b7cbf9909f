/**
 * POST /v1/sessions/{id}/generate and GET /v1/characters/{id}/still, end to end through the SDK.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { darkMouthPixels } from './helpers/identity.ts';
import { isFastStart, measureMp4 } from './helpers/mp4.ts';
import { ADMIN_KEY, listFiles, problemOf, startTestServer, type TestServer } from './helpers/test-server.ts';

describe('on-demand video', () => {
  let t: TestServer;
  let kai: { id: string; identity: { id: string } };
  const session = (over: Record<string, unknown> = {}) =>
    t.client.createSession({ body: { character_id: kai.id, user_id: 'viewer', mode: 'on_demand', ...over } });

  before(async () => {
    t = await startTestServer();
    kai = (await t.client.listCharacters()).data.find((c) => c.slug === 'kai')!;
  });
  after(async () => {
    await t?.close();
  });

  it('returns a browser-playable MP4 whose audio and video are the same length, and meters it', async () => {
    const s = await session();
    const res = await fetch(`${t.server.url}/v1/sessions/${s.id}/generate`, {
      method: 'POST',
      headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({
        text: 'Hey! Looking for something fun? Try the one with the dragons.',
        seed: 3,
      }),
    });
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'video/mp4');
    const bytes = new Uint8Array(await res.arrayBuffer());
    assert.equal(Number(res.headers.get('content-length')), bytes.length);
    assert.ok(isFastStart(bytes), 'index at the front (faststart)');
    const file = path.join(os.tmpdir(), `likeness-e2e-${process.pid}.mp4`);
    fs.writeFileSync(file, bytes);
    const m = measureMp4(file, 16000);
    fs.rmSync(file);
    assert.match(m.info, /Video: h264 .*yuv420p.*512x512/);
    assert.match(m.info, /Audio: aac/);
    const videoS = m.videoFrames / 25;
    assert.ok(
      Math.abs(m.audioSamples / 16000 - videoS) <= 0.04,
      `audio ${m.audioSamples / 16000} s vs video ${videoS} s`,
    );
    assert.equal(Number(res.headers.get('x-likeness-frames')), m.videoFrames);
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    assert.equal(usage.data.find((r) => r.key === s.id)?.media_seconds, videoS);
    assert.equal(
      (await t.client.getSession({ path: { id: s.id } })).status,
      'active',
      'work activates the session',
    );
    assert.deepEqual(
      (await listFiles(t.dataDir)).filter((f) => f.startsWith('tmp/')),
      [],
      'no temporary files left',
    );
  });

  it('works through the SDK with a voice and mood override', async () => {
    const s = await session();
    const video = await t.client.generateVideo({
      path: { id: s.id },
      body: { text: 'Short one.', voice: 'flite:awb', mood: 'happy', size: 256 },
    });
    assert.ok(video.size > 1000);
  });

  it('refuses bad requests with clear problems and produces nothing', async () => {
    const s = await session();
    const gen = (body: Record<string, unknown>, id = s.id) =>
      problemOf(() => t.client.generateVideo({ path: { id }, body: body as never }));
    const cases: [Record<string, unknown>, number, string][] = [
      [{ text: '' }, 400, 'validation-error'],
      [{ text: '  ' }, 400, 'validation-error'],
      [{}, 400, 'validation-error'],
      [{ text: 'x'.repeat(5001) }, 422, 'text-too-long'],
      [{ text: 'Hello', voice: 'flite:nobody' }, 422, 'unknown-voice'],
      [{ text: 'Hello', voice: 'openai:alloy' }, 422, 'unknown-voice'],
      [{ text: '\u4f60\u597d\u4e16\u754c' }, 422, 'unsupported-characters'],
      [{ text: 'Hi', size: 4096 }, 400, 'validation-error'],
      [{ text: 'Hi', extra: true }, 400, 'validation-error'],
    ];
    for (const [body, status, slug] of cases) {
      const p = await gen(body);
      assert.equal(p.slug, slug, `${JSON.stringify(body).slice(0, 60)}: ${p.detail}`);
      assert.equal(p.status, status);
    }
    const realtime = await session({ mode: 'realtime' });
    assert.equal((await gen({ text: 'Hi' }, realtime.id)).slug, 'wrong-session-mode');
    await t.client.endSession({ path: { id: s.id } });
    const ended = await gen({ text: 'Hi' });
    assert.equal(ended.status, 409);
    assert.equal(ended.slug, 'session-not-live');
    assert.equal((await gen({ text: 'Hi' }, 'ses_missing')).status, 404);
    await t.client.endSession({ path: { id: realtime.id } });
    const usage = await t.client.getUsage({ query: { group_by: 'session' } });
    assert.equal(
      usage.data.find((r) => r.key === s.id),
      undefined,
      'nothing metered',
    );
  });

  it('refuses with no video once the session’s media cap would be exceeded', async () => {
    const s = await session({ max_duration_s: 3 });
    const long =
      'This sentence is long enough to need more than three seconds of speech. And here is another one.';
    const p = await problemOf(() => t.client.generateVideo({ path: { id: s.id }, body: { text: long } }));
    assert.equal(p.slug, 'usage-cap-exceeded');
    assert.equal(p.status, 403);
    assert.equal(
      (await t.client.getUsage({ query: { group_by: 'session' } })).data.find((r) => r.key === s.id),
      undefined,
    );
    const ok = await t.client.generateVideo({ path: { id: s.id }, body: { text: 'Hi.' } });
    assert.ok(ok.size > 0, 'a short text still fits');
    assert.deepEqual(
      (await listFiles(t.dataDir)).filter((f) => f.startsWith('tmp/')),
      [],
    );
    await t.client.endSession({ path: { id: s.id } });
  });

  it('draws stills with the same renderer: neutral, smile, talking and the moods', async () => {
    const png = async (
      expression: 'neutral' | 'smile' | 'talking' | 'surprised' | 'thinking' | 'concerned',
    ) => {
      const blob = await t.client.getCharacterStill({ path: { id: kai.id }, query: { expression } });
      return sharp(Buffer.from(await blob.arrayBuffer()))
        .ensureAlpha()
        .raw()
        .toBuffer({ resolveWithObject: true });
    };
    const neutral = await png('neutral');
    const smile = await png('smile');
    const talking = await png('talking');
    assert.deepEqual([neutral.info.width, neutral.info.height], [512, 512]);
    assert.notDeepEqual(smile.data, neutral.data);
    for (const mood of ['surprised', 'thinking', 'concerned'] as const) {
      assert.notDeepEqual((await png(mood)).data, neutral.data, `${mood} is a different face`);
    }
    const identity = await t.client.getCharacterIdentity({ path: { id: kai.id } });
    const dark = (b: Buffer) =>
      darkMouthPixels({ ...identity, size: identity.size } as never, new Uint8Array(b), 512);
    assert.ok(dark(talking.data) > dark(neutral.data) + 100, 'the talking still shows an open mouth');
    assert.equal(
      (
        await problemOf(() =>
          t.client.getCharacterStill({ path: { id: kai.id }, query: { expression: 'angry' as never } }),
        )
      ).status,
      400,
    );
  });
});
