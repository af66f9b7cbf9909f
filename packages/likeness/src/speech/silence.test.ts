import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEEP_LEAD_MS, KEEP_TAIL_MS, trimSilence } from './silence.ts';
import { pauseAfter } from './speech-service.ts';

const RATE = 16_000;
const ms = (n: number) => Math.round((n * RATE) / 1000);

/** `leadMs` of silence, then `hissMs` of a faint hiss (about -45 dBFS), `toneMs` of speech-loud tone, `tailMs` of silence. */
function signal(parts: { leadMs: number; hissMs: number; toneMs: number; tailMs: number }): Int16Array {
  const out = new Int16Array(ms(parts.leadMs + parts.hissMs + parts.toneMs + parts.tailMs));
  let at = ms(parts.leadMs);
  for (let i = 0; i < ms(parts.hissMs); i++) out[at++] = i % 2 ? 180 : -180;
  for (let i = 0; i < ms(parts.toneMs); i++) out[at++] = i % 2 ? 8000 : -8000;
  return out;
}

describe('silence trimming', () => {
  it('keeps a breath before the first sound and after the last', () => {
    const { samples, trimmedLeadS } = trimSilence(
      signal({ leadMs: 300, hissMs: 0, toneMs: 200, tailMs: 400 }),
      RATE,
    );
    assert.equal(trimmedLeadS * 1000, 300 - KEEP_LEAD_MS);
    assert.equal(samples.length, ms(KEEP_LEAD_MS + 200 + KEEP_TAIL_MS));
  });

  it("drops an engine's hiss before where its timings put the first speech sound", () => {
    const input = signal({ leadMs: 50, hissMs: 200, toneMs: 200, tailMs: 200 });
    // The hiss is above the silence level: by amplitude alone it stays.
    assert.equal(Math.round(trimSilence(input, RATE).trimmedLeadS * 1000), 50 - KEEP_LEAD_MS);
    const { samples, trimmedLeadS } = trimSilence(input, RATE, { speechStartS: 0.25, speechEndS: 0.45 });
    assert.equal(Math.round(trimmedLeadS * 1000), 250 - KEEP_LEAD_MS);
    assert.equal(samples.length, ms(KEEP_LEAD_MS + 200 + KEEP_TAIL_MS));
  });

  it('pads with silence when the pause asked for is longer than what the engine left', () => {
    const { samples } = trimSilence(signal({ leadMs: 0, hissMs: 0, toneMs: 200, tailMs: 50 }), RATE, {
      keepTailMs: 250,
    });
    assert.equal(samples.length, ms(200 + 250));
    assert.ok(samples.subarray(ms(200)).every((v) => v === 0));
  });

  it('gives each piece the pause its ending calls for', () => {
    assert.ok(pauseAfter('That is a fine question.') > pauseAfter('Well,'));
    assert.ok(pauseAfter('Well,') > pauseAfter('I built it'));
    assert.equal(pauseAfter('Shall we?'), pauseAfter('"Go!"'));
  });
});
