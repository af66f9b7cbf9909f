import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { castRenderer } from '../../test/helpers/identity.ts';
import { MOODS } from '../persona/persona.ts';
import { IMAGE_LEFT_BROW } from '../registration/face-topology.ts';
import { defaultIdleProfile } from '../registration/identity.ts';
import { FaceRig } from '../render/face-rig.ts';
import { AnimationTrack } from './animation-track.ts';
import { NEUTRAL_FRAME } from './frame-params.ts';
import { IdleLayer, MOOD_EXPRESSIONS } from './idle-layer.ts';

const profile = defaultIdleProfile('idn_test');

describe('expressions', () => {
  it('gives every mood a face, eased in over a few frames, and changes it per utterance', () => {
    for (const mood of MOODS) assert.ok(MOOD_EXPRESSIONS[mood], `${mood} has an expression`);
    const idle = new IdleLayer(profile, 1, 'neutral');
    assert.equal(idle.at(1).browRaise, 0);
    idle.setMood('surprised', 2);
    assert.ok(idle.at(2.1).browRaise > 0 && idle.at(2.1).browRaise < MOOD_EXPRESSIONS.surprised.browRaise);
    assert.equal(idle.at(3).browRaise, MOOD_EXPRESSIONS.surprised.browRaise);
    idle.setMood('concerned', 4);
    const concerned = idle.at(5);
    assert.equal(concerned.browInner, MOOD_EXPRESSIONS.concerned.browInner);
    assert.ok(concerned.smile < 0, 'the corners turn down');
  });

  it('moves the brows on the mesh: up for surprise, the inner ends up for concern; the upper lid follows a little', async () => {
    const { identity } = await castRenderer('nora');
    const rig = new FaceRig(identity, 1);
    const pose = (p: Partial<typeof NEUTRAL_FRAME>) => {
      const out = new Float32Array(rig.vertexCount * 2);
      rig.pose({ ...NEUTRAL_FRAME, ...p }, out);
      return out;
    };
    const rest = pose({});
    const up = pose({ browRaise: 1 });
    const inner = pose({ browInner: 1 });
    const [outerId, innerId] = [IMAGE_LEFT_BROW.upper[0]!, IMAGE_LEFT_BROW.upper.at(-1)!];
    const lift = (p: Float32Array, id: number) => rest[2 * id + 1]! - p[2 * id + 1]!;
    assert.ok(lift(up, outerId) > 2 && lift(up, innerId) > 2, 'both ends of the brow rise for surprise');
    assert.ok(
      lift(inner, innerId) > 2 * Math.max(0.1, lift(inner, outerId)),
      'concern lifts the inner end most',
    );
    for (const eye of [145, 33, 133]) assert.ok(Math.abs(lift(up, eye)) < 0.01, `eye point ${eye} stays`);
    assert.ok(
      lift(up, 159) > 0.5 && lift(up, 159) < lift(up, innerId) / 2,
      'the upper lid rises, less than the brow',
    );
  });

  it('listens with small nods and held eye contact, thinks with a look aside, and stops both to speak', () => {
    const make = () => new AnimationTrack({ visemes: [], idle: profile, mood: 'neutral', seed: 3, fps: 25 });
    const base = make();
    const track = make();
    // What listening adds to the head's pitch on top of the same idle sway.
    const nodRange = (from: number, to: number) => {
      const d: number[] = [];
      for (let t = from; t < to; t += 0.04) d.push(track.at(t).headPitch - base.at(t).headPitch);
      return Math.max(...d) - Math.min(...d);
    };
    track.setAttention('listening', 6);
    assert.ok(nodRange(6.5, 12.5) > 1.5, `nods while listening (${nodRange(6.5, 12.5)} degrees)`);
    for (let t = 6.5; t < 12.5; t += 0.1) assert.equal(track.at(t).gazeX, 0, 'eye contact while listening');
    track.setAttention('thinking', 13);
    assert.ok(track.at(13.5).gazeX - base.at(13.5).gazeX > 0.03, 'looks aside while thinking');
    track.setAttention('idle', 14);
    assert.ok(nodRange(15, 21) < 0.01, 'back to the plain idle motion');
    for (let t = 15; t < 21; t += 0.2) assert.equal(track.at(t).gazeX, base.at(t).gazeX);
  });

  it('raises the brows on a stressed syllable', () => {
    const rate = 16_000;
    const track = new AnimationTrack({
      visemes: [{ viseme: 'aa', start: 0, end: 2 }],
      idle: profile,
      mood: 'neutral',
      seed: 1,
      fps: 25,
    });
    const audio = new Int16Array(rate * 2);
    // Quiet speech, then one loud syllable at 1.2 s.
    for (let i = 0; i < audio.length; i++)
      audio[i] = Math.sin(i / 6) * (i > 1.2 * rate && i < 1.4 * rate ? 24_000 : 1_500);
    track.mouth.appendAudio(audio, rate, 0);
    assert.ok(track.at(1.0).browRaise < 0.05, `calm before (${track.at(1.0).browRaise})`);
    assert.ok(track.at(1.3).browRaise > 0.2, `up on the stressed syllable (${track.at(1.3).browRaise})`);
    assert.ok(track.at(1.95).browRaise < track.at(1.3).browRaise, 'and down again');
  });
});
