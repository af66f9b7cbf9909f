import type { Mood } from '../persona/persona.ts';
import type { IdleMotionProfile } from '../registration/identity.ts';
import { hash01 } from './random.ts';

/** Angles in degrees. */
export interface IdleState {
  /** Eyelid closure, 0 open .. 1 closed. */
  blink: number;
  /** Gaze offset as a fraction of the eye width; 0, 0 is eye contact. */
  gazeX: number;
  gazeY: number;
  headYaw: number;
  headPitch: number;
  headRoll: number;
  /** Breathing phase, 0..1, rendered as a small lift of the head. */
  breathLift: number;
  /** Corners of the mouth up, 0..1 (mood). */
  smile: number;
}

const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));
const TAU = Math.PI * 2;

/**
 * Life between and under words: blinks at natural random intervals, breathing, slow head sway, saccades that
 * keep returning to eye contact, and the mood baseline. Random events are placed by hashing their slot index,
 * so any time can be evaluated directly and the same seed always gives the same motion.
 */
const MOOD_EASE_S = 0.3;
const moodSmile = (mood: Mood) => (mood === 'happy' ? 0.6 : 0);

export class IdleLayer {
  private readonly phases: number[];
  /** The mood's smile eases from `from` to `to` over MOOD_EASE_S starting at `at` (track time, s). */
  private smileChange = { from: 0, to: 0, at: 0 };

  constructor(
    private readonly profile: IdleMotionProfile,
    private readonly seed: number,
    mood: Mood,
  ) {
    this.phases = Array.from({ length: 8 }, (_, i) => hash01(seed, 1000 + i) * TAU);
    const smile = moodSmile(mood);
    this.smileChange = { from: smile, to: smile, at: 0 };
  }

  /** Changes the mood from time `t` on (an utterance's own mood); the expression eases in. */
  setMood(mood: Mood, t: number): void {
    this.smileChange = { from: this.smileAt(t), to: moodSmile(mood), at: t };
  }

  private smileAt(t: number): number {
    const { from, to, at } = this.smileChange;
    return from + (to - from) * smooth((t - at) / MOOD_EASE_S);
  }

  private blinkAt(t: number): number {
    const interval = 60 / this.profile.blinkRatePerMin;
    const duration = this.profile.blinkDurationMs / 1000;
    const slot = Math.floor(t / interval);
    let closure = 0;
    for (let k = slot - 1; k <= slot + 1; k++) {
      if (k < 0) continue;
      const centres = [k * interval + (0.15 + 0.7 * hash01(this.seed, k, 1)) * interval];
      if (hash01(this.seed, k, 2) < 0.12) centres.push(centres[0]! + 0.3); // an occasional double blink
      for (const c of centres) {
        const dt = t - c;
        // Lids close in ~40% of the blink and open more slowly.
        const x = dt < 0 ? 1 + dt / (0.4 * duration) : 1 - dt / (0.6 * duration);
        closure = Math.max(closure, smooth(x));
      }
    }
    return closure;
  }

  private gazeAt(t: number, speaking: number): { x: number; y: number } {
    const interval = this.profile.saccadeIntervalS;
    const slot = Math.floor(t / interval);
    const target = (k: number) => {
      // Mostly eye contact; more so while speaking.
      if (k < 0 || hash01(this.seed, k, 3) < 0.55 + 0.25 * speaking) return { x: 0, y: 0 };
      return { x: (hash01(this.seed, k, 4) - 0.5) * 0.16, y: (hash01(this.seed, k, 5) - 0.5) * 0.06 };
    };
    const from = target(slot - 1);
    const to = target(slot);
    const a = smooth((t - slot * interval) / 0.05); // saccades are fast: ~50 ms
    return { x: from.x + (to.x - from.x) * a, y: from.y + (to.y - from.y) * a };
  }

  at(t: number, speaking = 0): IdleState {
    const { headSwayDeg: sway, swayPeriodS: period, breathRatePerMin } = this.profile;
    const p = this.phases;
    // Two incommensurate sines per axis: a sway that never visibly repeats. sqrt(2) keeps the std near `sway`.
    const wave = (i: number, base: number) =>
      Math.SQRT2 *
      (0.7 * Math.sin((TAU * t) / base + p[i]!) + 0.3 * Math.sin((TAU * t) / (base * 0.61) + p[i + 1]!));
    const nod = speaking * 0.9 * Math.sin(TAU * 1.6 * t + p[6]!);
    const gaze = this.gazeAt(t, speaking);
    return {
      blink: this.blinkAt(t),
      gazeX: gaze.x,
      gazeY: gaze.y,
      headYaw: sway.yaw * wave(0, period),
      headPitch: sway.pitch * wave(2, period * 1.3) + nod,
      headRoll: sway.roll * wave(4, period * 1.7),
      breathLift: 0.5 * (1 - Math.cos((TAU * t * breathRatePerMin) / 60 + p[7]!)),
      smile: this.smileAt(t),
    };
  }
}
