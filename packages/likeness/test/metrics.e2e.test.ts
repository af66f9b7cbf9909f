/**
 * GET /metrics: Prometheus text for the operator, with the latency histograms, gauges and counters the
 * operator's dashboards need, fed by real work; request logs carry request and session ids.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ADMIN_KEY, startTestServer, type TestServer } from './helpers/test-server.ts';
import { connectWhep } from './helpers/whep-client.ts';

/** The value of one sample line (name with its labels, exactly as printed), or undefined. */
function sample(text: string, series: string): number | undefined {
  const line = text.split('\n').find((l) => l.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('metrics', () => {
  let t: TestServer;
  const scrape = async (key = ADMIN_KEY) =>
    fetch(`${t.server.url}/metrics`, { headers: { authorization: `Bearer ${key}` } });

  before(async () => {
    t = await startTestServer();
  });
  after(async () => {
    await t?.close();
  });

  it('is for the operator only', async () => {
    assert.equal((await fetch(`${t.server.url}/metrics`)).status, 401);
    const admin = await t.client.createKey({ body: { name: 'not operator', role: 'admin' } });
    const res = await scrape(admin.key);
    assert.equal(res.status, 403);
    assert.equal(res.headers.get('content-type'), 'application/problem+json');
  });

  it('counts real work: speech latency, renders, media seconds, problems, sessions and viewers', async () => {
    const cast = (await t.client.listCharacters()).data;
    const kai = cast.find((c) => c.slug === 'kai')!;
    const live = await t.client.createSession({
      body: { character_id: kai.id, user_id: 'm', mode: 'realtime' },
    });
    const token = await t.client.createSessionToken({ path: { id: live.id } });
    const viewer = await connectWhep(t.server.url, token.whep_url, token.token);
    try {
      await t.client.speak({ path: { id: live.id }, body: { text: 'Counting for the metrics.' } });
      const demand = await t.client.createSession({
        body: { character_id: kai.id, user_id: 'm', mode: 'on_demand' },
      });
      const mp4 = await fetch(`${t.server.url}/v1/sessions/${demand.id}/generate`, {
        method: 'POST',
        headers: { authorization: `Bearer ${ADMIN_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ text: 'A render for the metrics.' }),
      });
      await mp4.arrayBuffer();
      assert.equal(
        (await fetch(`${t.server.url}/v1/nowhere`, { headers: { authorization: `Bearer ${ADMIN_KEY}` } }))
          .status,
        404,
      );
      // The live session's first speech and a meter tick (5 s).
      let text = '';
      for (let i = 0; i < 40; i++) {
        text = await (await scrape()).text();
        if (
          (sample(text, 'likeness_speak_first_audio_seconds_count') ?? 0) >= 1 &&
          (sample(text, 'likeness_media_seconds_total{mode="realtime"}') ?? 0) > 0
        )
          break;
        await new Promise((r) => setTimeout(r, 250));
      }
      assert.match(text, /# TYPE likeness_speak_first_audio_seconds histogram/);
      assert.ok(
        (sample(text, 'likeness_speak_first_audio_seconds_count') ?? 0) >= 1,
        'speak latency observed',
      );
      assert.ok((sample(text, 'likeness_speak_first_audio_seconds_bucket{le="5"}') ?? 0) >= 1);
      assert.equal(sample(text, 'likeness_render_seconds_count{outcome="ok"}'), 1);
      assert.ok((sample(text, 'likeness_media_seconds_total{mode="mp4"}') ?? 0) > 1);
      assert.ok((sample(text, 'likeness_media_seconds_total{mode="realtime"}') ?? 0) > 0);
      assert.ok((sample(text, 'likeness_errors_total{type="not-found",status="404"}') ?? 0) >= 1);
      assert.equal(sample(text, 'likeness_live_sessions'), 1);
      assert.equal(sample(text, 'likeness_viewers'), 1);
      assert.equal(sample(text, 'likeness_render_queue_depth{state="running"}'), 0);
      assert.ok(sample(text, 'likeness_event_loop_lag_seconds{quantile="0.99"}') !== undefined);
      assert.ok(sample(text, 'likeness_frames_dropped_total') !== undefined);
      assert.ok(sample(text, 'likeness_audio_underruns_total') !== undefined);
      assert.match(text, /# TYPE likeness_turn_first_answer_audio_seconds histogram/);
      assert.match(text, /# TYPE likeness_registration_seconds histogram/);
      assert.match(text, /process_resident_memory_bytes \d+/);
      // Once the session ends, its media quality is in the usage API, per session.
      await t.client.endSession({ path: { id: live.id } });
      let row: { quality?: Record<string, number | null> | null } | undefined;
      for (let i = 0; i < 20 && !row?.quality; i++) {
        await new Promise((r) => setTimeout(r, 100));
        row = (await t.client.getUsage({ query: { group_by: 'session' } })).data.find(
          (r) => r.key === live.id,
        );
      }
      const quality = row?.quality;
      assert.ok(quality, 'quality recorded');
      assert.ok((quality.frames_sent ?? 0) > 25, `${quality.frames_sent} frames sent`);
      assert.ok(typeof quality.first_frame_ms === 'number' && quality.first_frame_ms < 5000);
      assert.equal(quality.av_offset_ms, 0);
      assert.equal(typeof quality.audio_underruns, 'number');
      const onDemandRow = (await t.client.getUsage({ query: { group_by: 'session' } })).data.find(
        (r) => r.key === demand.id,
      );
      assert.equal(onDemandRow?.quality, null);
    } finally {
      viewer.close();
    }
  });

  it('answers every request with its request id (X-Request-Id), the id its log line carries', async () => {
    const res = await fetch(`${t.server.url}/v1/sessions/ses_nope`, {
      headers: { authorization: `Bearer ${ADMIN_KEY}` },
    });
    assert.match(res.headers.get('x-request-id') ?? '', /^req_/);
  });
});
