import type { Mood } from '../persona/persona.ts';
import type { IdleMotionProfile } from '../registration/identity.ts';
import type { FrameParams } from './frame-params.ts';
import { type Attention, IdleLayer } from './idle-layer.ts';
import { MouthTrack } from './mouth-track.ts';
import type { TimedViseme } from './visemes.ts';

/**
 * The audio-clocked animation track: frame n shows the face at audio time n / fps. Deterministic for a given
 * identity (idle profile), visemes, mood and seed; evaluable at any time without replaying earlier frames.
 */
export class AnimationTrack {
  readonly mouth: MouthTrack;
  private readonly idle: IdleLayer;

  constructor(opts: {
    visemes: TimedViseme[];
    idle: IdleMotionProfile;
    mood: Mood;
    seed: number;
    fps: number;
  }) {
    this.fps = opts.fps;
    this.mouth = new MouthTrack(opts.visemes, { fps: opts.fps });
    this.idle = new IdleLayer(opts.idle, opts.seed, opts.mood);
  }

  readonly fps: number;

  /** The mood from time t on (per utterance in live sessions). */
  setMood(mood: Mood, t: number): void {
    this.idle.setMood(mood, t);
  }

  /** Listening, thinking or neither, from time t (conversation): the face attends while it is silent. */
  setAttention(attention: Attention, t: number): void {
    this.idle.setAttention(attention, t);
  }

  at(t: number): FrameParams {
    const m = this.mouth.at(t);
    const idle = this.idle.at(t, m.speaking);
    // Stressed syllables lift the brows and dip the head a little, as speakers do.
    const accent = m.speaking > 0 ? this.mouth.accent(t) : 0;
    return {
      ...idle,
      ...m.shape,
      viseme: m.viseme,
      smile: idle.smile * (1 - 0.6 * m.speaking),
      browRaise: idle.browRaise + 0.45 * accent,
      headPitch: idle.headPitch + 1.6 * accent,
    };
  }

  frame(n: number): FrameParams {
    return this.at(n / this.fps);
  }
}
