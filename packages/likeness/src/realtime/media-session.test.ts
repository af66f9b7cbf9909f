import assert from 'node:assert/strict';
import { it } from 'node:test';
import { ARKIT_BLENDSHAPES } from '../animation/blendshapes.ts';
import type { Identity } from '../registration/identity.ts';
import { defaultIdleProfile } from '../registration/identity.ts';
import {
  type Chunk,
  type MediaEvent,
  type MediaSink,
  RealtimeMediaSession,
  SAMPLE_RATE,
} from './media-session.ts';

function session() {
  const identity = { id: 'idn_test', idle: defaultIdleProfile('idn_test') } as unknown as Identity;
  const media = new RealtimeMediaSession({
    identity,
    frames: { size: 4, render: () => new Uint8Array(64) },
    synthesize: async function* () {},
    mood: 'neutral',
    seed: 1,
  });
  const events: MediaEvent[] = [];
  media.on('event', (e) => events.push(e));
  let heard = 0;
  const sink: MediaSink = {
    audio: (s) => {
      if (s.some((v) => v !== 0)) heard += s.length;
    },
    video: () => {},
  };
  media.attach(sink);
  return { media, events, heard: () => heard };
}

const tone = (seconds: number): Chunk => ({
  samples: new Int16Array(Math.round(seconds * SAMPLE_RATE)).fill(1000),
  visemes: [{ viseme: 'aa', start: 0, end: seconds }],
});
const finished = (events: MediaEvent[]) => events.filter((e) => e.type === 'utterance.finished');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

it('plays a streamed source at realtime and finishes it once, with the samples actually played', {
  timeout: 5000,
}, async () => {
  const { media, events, heard } = session();
  const id = media.play('stream', async function* () {
    yield tone(0.1);
    await sleep(50); // the producer lags: silence meanwhile, nothing skipped
    yield tone(0.1);
  });
  const t0 = performance.now();
  while (finished(events).length === 0) await sleep(10);
  assert.ok(performance.now() - t0 >= 180, 'not faster than realtime');
  const [f] = finished(events);
  assert.deepEqual(f, {
    type: 'utterance.finished',
    utterance_id: id,
    playback_position_ms: 200,
    interrupted: false,
  });
  assert.equal(heard(), 0.2 * SAMPLE_RATE);
  media.close();
});

it('an empty source finishes (not started, position 0) instead of holding the queue', {
  timeout: 5000,
}, async () => {
  const { media, events } = session();
  media.play('empty', async function* () {});
  const next = media.play('next', async function* () {
    yield tone(0.05);
  });
  while (finished(events).length < 2) await sleep(10);
  assert.equal(
    finished(events)[0]!.type === 'utterance.finished' && finished(events)[0]!.playback_position_ms,
    0,
  );
  assert.equal(events.filter((e) => e.type === 'utterance.started').length, 1);
  assert.equal(finished(events)[1]!.utterance_id, next);
  media.close();
});

it('interrupt finishes what is playing and what is queued, once each, flagged interrupted', {
  timeout: 5000,
}, async () => {
  const { media, events } = session();
  let aborted = 0;
  const source = (seconds: number) => (signal: AbortSignal) => {
    signal.addEventListener('abort', () => aborted++);
    return (async function* () {
      yield tone(seconds);
    })();
  };
  media.play('a', source(1));
  media.play('b', source(1));
  await sleep(150);
  assert.equal(media.interrupt(), 2);
  await sleep(50);
  const f = finished(events);
  assert.equal(f.length, 2);
  assert.ok(f.every((e) => e.type === 'utterance.finished' && e.interrupted));
  const first = f[0]!;
  assert.ok(
    first.type === 'utterance.finished' &&
      first.playback_position_ms > 50 &&
      first.playback_position_ms < 400,
  );
  assert.equal(aborted, 2, 'sources are told to stop');
  media.close();
  assert.equal(finished(events).length, 2, 'closing does not finish them again');
});

it('hold silences speech at once and resume goes on from the same sample: nothing is lost or replayed', {
  timeout: 5000,
}, async () => {
  const { media, events, heard } = session();
  const jaw = ARKIT_BLENDSHAPES.indexOf('jawOpen');
  const frames: { t: number; jaw: number }[] = [];
  media.onAnimationFrame((f) => frames.push({ t: f.t, jaw: f.weights[jaw]! }));
  const id = media.play('long', async function* () {
    yield tone(0.4);
  });
  while (!events.some((e) => e.type === 'utterance.started')) await sleep(5);
  await sleep(100);
  media.hold();
  assert.ok(media.held);
  const atHold = heard();
  await sleep(250);
  assert.equal(heard(), atHold, 'silence while held');
  assert.equal(finished(events).length, 0, 'held, not finished');
  const heldFrom = media.timeS - 0.25;
  const whileHeld = frames.filter((f) => f.t > heldFrom + 0.12 && f.t < media.timeS);
  assert.ok(whileHeld.length >= 3 && whileHeld.every((f) => f.jaw < 0.05), JSON.stringify(whileHeld));
  media.resume();
  while (finished(events).length === 0) await sleep(10);
  assert.equal(heard(), 0.4 * SAMPLE_RATE, 'every sample once');
  // The rest of the utterance moves the mouth again once resumed.
  assert.ok(
    frames.some((f) => f.t > media.timeS - 0.2 && f.jaw > 0.1),
    'speaking again',
  );
  assert.deepEqual(finished(events)[0], {
    type: 'utterance.finished',
    utterance_id: id,
    playback_position_ms: 400,
    interrupted: false,
  });
  media.close();
});

it('interrupt ends a hold: the next utterance plays', { timeout: 5000 }, async () => {
  const { media, events } = session();
  media.play('a', async function* () {
    yield tone(1);
  });
  while (!events.some((e) => e.type === 'utterance.started')) await sleep(5);
  media.hold();
  media.interrupt();
  assert.equal(media.held, false);
  const next = media.play('b', async function* () {
    yield tone(0.05);
  });
  while (!finished(events).some((e) => e.type === 'utterance.finished' && e.utterance_id === next))
    await sleep(10);
  media.close();
});
