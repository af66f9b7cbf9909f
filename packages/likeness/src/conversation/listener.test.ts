import assert from 'node:assert/strict';
import { after, before, test } from 'node:test';
import { embeddedRecognizer, spokenSentence, to48k } from '../../test/helpers/speech-audio.ts';
import { type HeardTurn, Listener, type ListenerEvents } from './listener.ts';

const stt = embeddedRecognizer();
before(() => stt.recognize(new Int16Array(8000))); // the model loads once, before the timings
after(() => stt.close());

/** Feeds audio in 10 ms WebRTC-sized pieces, at realtime pace (so the timers see real silence). */
async function play(listener: Listener, pcm48k: Int16Array): Promise<void> {
  for (let at = 0; at < pcm48k.length; at += 480) {
    listener.push(pcm48k.subarray(at, at + 480), 48_000);
    if ((at / 480) % 10 === 9) await new Promise((r) => setTimeout(r, 100));
  }
}
const silence = (s: number) => new Int16Array(Math.round(s * 48_000));

function recorder(answering = () => false, bargeIn?: ConstructorParameters<typeof Listener>[0]['bargeIn']) {
  const log: { event: string; at: number; data?: unknown }[] = [];
  const t0 = performance.now();
  const events: ListenerEvents = {
    speechStarted: () => log.push({ event: 'speech', at: performance.now() - t0 }),
    partial: (text) => log.push({ event: 'partial', at: performance.now() - t0, data: text }),
    turn: (turn) => log.push({ event: 'turn', at: performance.now() - t0, data: turn }),
    bargeIn: () => log.push({ event: 'barge-in', at: performance.now() - t0 }),
    hold: () => log.push({ event: 'hold', at: performance.now() - t0 }),
    release: () => log.push({ event: 'release', at: performance.now() - t0 }),
    ignored: (reason, text) =>
      log.push({ event: 'ignored', at: performance.now() - t0, data: { reason, text } }),
    failed: (err) => log.push({ event: 'failed', at: performance.now() - t0, data: err.message }),
  };
  const listener = new Listener({ stt, events, isAnswering: answering, ...(bargeIn ? { bargeIn } : {}) });
  return { listener, log };
}

test('a spoken question becomes one turn, with its words, soon after the speech ends', async () => {
  const speech = await spokenSentence('What is the weather like in Paris today?');
  const { listener, log } = recorder();
  await play(listener, to48k(new Int16Array(8000))); // 0.5 s of silence first
  await play(listener, to48k(speech));
  await play(listener, silence(2.5));
  listener.close();
  const turns = log.filter((e) => e.event === 'turn');
  assert.equal(turns.length, 1, JSON.stringify(log));
  const turn = turns[0]!.data as HeardTurn;
  assert.match(turn.text.toLowerCase(), /weather.*paris/);
  assert.equal(log.filter((e) => e.event === 'speech').length, 1);
  assert.ok(turn.endOfTurnMs < 2000, `end of turn after ${turn.endOfTurnMs} ms`);
  assert.equal(turn.interrupting, false);
});

test('silence and quiet noise are never a turn', async () => {
  const { listener, log } = recorder();
  const noise = new Int16Array(48_000 * 2).map(() => Math.round((Math.random() - 0.5) * 200));
  await play(listener, noise);
  await play(listener, silence(1));
  listener.close();
  assert.deepEqual(
    log.filter((e) => e.event === 'turn' || e.event === 'speech'),
    [],
  );
});

test('speech over the answer silences it after the barge-in delay; a backchannel does not', async () => {
  const long = await spokenSentence('Wait, wait, I have a different question about the trains.');
  const { listener, log } = recorder(() => true, { mode: 'after', ms: 400 });
  await play(listener, to48k(long));
  await play(listener, silence(2));
  listener.close();
  const speech = log.find((e) => e.event === 'speech')!;
  const barge = log.find((e) => e.event === 'barge-in');
  assert.ok(barge, JSON.stringify(log));
  assert.ok(
    barge.at - speech.at >= 250 && barge.at - speech.at < 700,
    `barge-in ${barge.at - speech.at} ms after speech`,
  );
  assert.equal(log.filter((e) => e.event === 'turn').length, 1);
  // It held the answer from the start of the speech, and the interruption ended the hold: no release.
  const hold = log.find((e) => e.event === 'hold');
  assert.ok(hold && hold.at <= barge.at && hold.at - speech.at < 5, JSON.stringify(log));
  assert.equal(log.filter((e) => e.event === 'release').length, 0);

  // Flite says "okay" slowly (over 500 ms of voice): the rule is checked with a delay longer than that.
  const short = await spokenSentence('Okay.');
  const b = recorder(() => true, { mode: 'after', ms: 700 });
  await play(b.listener, to48k(short));
  await play(b.listener, silence(1.5));
  b.listener.close();
  assert.equal(b.log.filter((e) => e.event === 'barge-in').length, 0, JSON.stringify(b.log));
  assert.equal(b.log.filter((e) => e.event === 'turn').length, 0);
  // Whisper writes it "Okay.", "okay" or "OK" depending on the few ms of silence before it (and on the decoder's
  // int8 rounding): each is a backchannel.
  const ignored = b.log.find((e) => e.event === 'ignored')?.data as
    | { reason: string; text: string }
    | undefined;
  assert.equal(ignored?.reason, 'backchannel', JSON.stringify(b.log));
  assert.match(ignored?.text.toLowerCase().replace(/[^a-z]/g, '') ?? '', /^ok(ay)?$/);
  // Held while the user spoke, then let go: the answer goes on.
  assert.deepEqual(
    b.log.filter((e) => e.event === 'hold' || e.event === 'release').map((e) => e.event),
    ['hold', 'release'],
  );
});

test('barge-in off: the character finishes and speech over it is not a turn', async () => {
  const speech = await spokenSentence('Tell me about the moon please.');
  const { listener, log } = recorder(() => true, { mode: 'off' });
  await play(listener, to48k(speech));
  await play(listener, silence(1.5));
  listener.close();
  assert.equal(
    log.filter((e) => e.event === 'barge-in' || e.event === 'turn').length,
    0,
    JSON.stringify(log),
  );
  assert.equal(
    (log.find((e) => e.event === 'ignored')?.data as { reason: string }).reason,
    'while-answering',
  );
  assert.equal(log.filter((e) => e.event === 'hold').length, 0, 'nothing is held');
});
