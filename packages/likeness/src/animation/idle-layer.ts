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
  /** Corners of the mouth up, 0..1 (mood); below 0 they turn down. */
  smile: number;
  /** Brows up (surprise, emphasis), -0.5..1; below 0 they lower (concentration). */
  browRaise: number;
  /** Inner ends of the brows up and together (concern), 0..1. */
  browInner: number;
}

const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));
const TAU = Math.PI * 2;

/**
 * Life between and under words: blinks at natural random intervals, breathing, slow head sway, saccades that
 * keep returning to eye contact, and the mood baseline. Random events are placed by hashing their slot index,
 * so any time can be evaluated directly and the same seed always gives the same motion.
 */
const MOOD_EASE_S = 0.3;

/** The part of the face an expression sets: added to the idle motion, eased in and out. */
export interface Expression {
  smile: number;
  browRaise: number;
  browInner: number;
  gazeX: number;
  gazeY: number;
  headPitch: number;
  headRoll: number;
}

const NO_EXPRESSION: Expression = {
  smile: 0,
  browRaise: 0,
  browInner: 0,
  gazeX: 0,
  gazeY: 0,
  headPitch: 0,
  headRoll: 0,
};

/** Each mood as a face: what a person's face does, kept small enough to talk through. */
export const MOOD_EXPRESSIONS: Record<Mood, Expression> = {
  neutral: NO_EXPRESSION,
  happy: { ...NO_EXPRESSION, smile: 0.6, browRaise: 0.12 },
  surprised: { ...NO_EXPRESSION, smile: 0.05, browRaise: 0.7, headPitch: -1.5 },
  thinking: {
    ...NO_EXPRESSION,
    smile: -0.08,
    browRaise: -0.2,
    browInner: 0.2,
    gazeX: 0.07,
    gazeY: -0.05,
    headRoll: 3,
  },
  concerned: { ...NO_EXPRESSION, smile: -0.35, browInner: 0.85, headPitch: 1.5, headRoll: -2 },
};

/** What the character is doing when it is not speaking: in a conversation it listens, then thinks. */
export type Attention = 'idle' | 'listening' | 'thinking';

const ATTENTION_EXPRESSIONS: Record<Attention, Expression> = {
  idle: NO_EXPRESSION,
  // Attentive: brows a little up, the head tilted towards the speaker; nods come on top (see nodAt).
  listening: { ...NO_EXPRESSION, browRaise: 0.15, headRoll: 2.5, headPitch: 0.5 },
  // Thinking of an answer: the eyes go up and aside for a moment, brows draw in slightly.
  thinking: { ...NO_EXPRESSION, browInner: 0.15, browRaise: -0.1, gazeX: 0.06, gazeY: -0.04 },
};

interface Easing {
  from: Expression;
  to: Expression;
  at: number;
}

function ease(e: Easing, t: number): Expression {
  const k = smooth((t - e.at) / MOOD_EASE_S);
  const out = { ...e.to };
  for (const key of Object.keys(out) as (keyof Expression)[])
    out[key] = e.from[key] + (e.to[key] - e.from[key]) * k;
  return out;
}

export class IdleLayer {
  private readonly phases: number[];
  /** The mood's expression, easing from `from` to `to` over MOOD_EASE_S from `at` (track time, s). */
  private mood: Easing;
  private attention: Easing = { from: NO_EXPRESSION, to: NO_EXPRESSION, at: 0 };
  private listeningSince = Number.POSITIVE_INFINITY;
  private listeningUntil = Number.POSITIVE_INFINITY;

  constructor(
    private readonly profile: IdleMotionProfile,
    private readonly seed: number,
    mood: Mood,
  ) {
    this.phases = Array.from({ length: 8 }, (_, i) => hash01(seed, 1000 + i) * TAU);
    const face = MOOD_EXPRESSIONS[mood] ?? NO_EXPRESSION;
    this.mood = { from: face, to: face, at: 0 };
  }

  /** Changes the mood from time `t` on (an utterance's own mood); the expression eases in. */
  setMood(mood: Mood, t: number): void {
    this.mood = { from: ease(this.mood, t), to: MOOD_EXPRESSIONS[mood] ?? NO_EXPRESSION, at: t };
  }

  /** Listening to the user, thinking of an answer, or neither (speaking, or nobody talking), from time t. */
  setAttention(attention: Attention, t: number): void {
    this.attention = { from: ease(this.attention, t), to: ATTENTION_EXPRESSIONS[attention], at: t };
    if (attention === 'listening') {
      if (!(this.listeningSince <= t && this.listeningUntil > t)) this.listeningSince = t;
      this.listeningUntil = Number.POSITIVE_INFINITY;
    } else if (this.listeningUntil > t) this.listeningUntil = t;
  }

  /** Small nods while listening: one every two to four seconds, each a dip of about 2 degrees over 0.7 s. */
  private nodAt(t: number): number {
    if (t < this.listeningSince || t > this.listeningUntil + 0.7) return 0;
    const slot = Math.floor((t - this.listeningSince) / 3);
    let nod = 0;
    for (let k = Math.max(0, slot - 1); k <= slot; k++) {
      const centre = this.listeningSince + k * 3 + 0.8 + 1.6 * hash01(this.seed, k, 7);
      const x = (t - centre) / 0.35;
      if (Math.abs(x) < 1 && centre <= this.listeningUntil)
        nod = Math.max(nod, 0.5 * (1 + Math.cos(Math.PI * x)));
    }
    return 2 * nod;
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
    const nod = speaking * 0.5 * Math.sin(TAU * 1.6 * t + p[6]!);
    // While listening the eyes hold the speaker's (the look-aways ease out, and back in after).
    const holding =
      t < this.listeningSince
        ? 0
        : t <= this.listeningUntil
          ? smooth((t - this.listeningSince) / MOOD_EASE_S)
          : smooth(1 - (t - this.listeningUntil) / MOOD_EASE_S);
    const saccade = this.gazeAt(t, speaking);
    const gaze = { x: saccade.x * (1 - holding), y: saccade.y * (1 - holding) };
    const mood = ease(this.mood, t);
    const attention = ease(this.attention, t);
    // While speaking, eye contact wins over an expression's look aside.
    const look = 1 - 0.7 * speaking;
    return {
      blink: this.blinkAt(t),
      gazeX: gaze.x + (mood.gazeX + attention.gazeX) * look,
      gazeY: gaze.y + (mood.gazeY + attention.gazeY) * look,
      headYaw: sway.yaw * wave(0, period),
      headPitch:
        sway.pitch * wave(2, period * 1.3) + nod + mood.headPitch + attention.headPitch + this.nodAt(t),
      headRoll: sway.roll * wave(4, period * 1.7) + mood.headRoll + attention.headRoll,
      breathLift: 0.5 * (1 - Math.cos((TAU * t * breathRatePerMin) / 60 + p[7]!)),
      smile: mood.smile + attention.smile,
      browRaise: mood.browRaise + attention.browRaise,
      browInner: Math.min(1, mood.browInner + attention.browInner),
    };
  }
}
