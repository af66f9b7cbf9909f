import { MOUTH_TARGETS, type MouthShape, REST_MOUTH, type TimedViseme, type Viseme } from './visemes.ts';

export interface MouthTrackOptions {
  fps: number;
  /** How early a shape starts before its sound (anticipatory coarticulation), seconds. */
  lead?: number;
  /** How long a shape takes to release after its sound, seconds. */
  release?: number;
}

interface Segment extends TimedViseme {
  /** Time before which this segment has no effect at all. */
  from: number;
  to: number;
  /** Anticipation start (weight rises from 0 here to 1 at `start`). */
  riseFrom: number;
  /** Earliest time the shape may show: after a pause, the frame that carries the first sound. */
  gate: number;
  undershoot: number;
}

const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));

/** Loudness envelope resolution, seconds. */
const ENV_HOP = 0.01;
/** How much envelope is kept behind the newest audio (a long live session must not grow without bound). */
const ENV_KEEP_S = 600;
/** dBFS mapped to envelope 0 and 1. */
const ENV_FLOOR_DB = -50;
const ENV_CEIL_DB = -14;

/**
 * The mouth part of the animation track: timed visemes -> mouth shape at any time t, with coarticulation.
 * Shapes start up to `lead` before their sound and release over `release` after it; neighbours blend by
 * weight. Lips close fully on m, b and p whatever their neighbours do. After a pause, a shape never shows
 * before the video frame that carries its first sample, so sound and first movement land on the same frame.
 * Pure in t: evaluating frame n needs no replay of frames before it.
 */
export class MouthTrack {
  private readonly segments: Segment[] = [];
  private readonly lead: number;
  private readonly release: number;
  private maxSpan = 0;
  /** Loudness 0..1 per ENV_HOP from hop `envStart` on; empty until audio is appended. */
  private env = new Float32Array(0);
  private envStart = 0;
  private envEnd = 0;

  constructor(
    visemes: TimedViseme[],
    private readonly opts: MouthTrackOptions,
  ) {
    this.lead = opts.lead ?? 0.06;
    this.release = opts.release ?? 0.06;
    this.append(visemes);
  }

  get duration(): number {
    return this.segments.length ? this.segments[this.segments.length - 1]!.end : 0;
  }

  /** Adds visemes that start at or after the current end (streaming speech). */
  append(visemes: TimedViseme[]): void {
    for (const v of visemes) {
      if (v.end <= v.start) continue;
      const previous = this.segments[this.segments.length - 1];
      if (v.viseme === 'sil') {
        this.segments.push({
          ...v,
          from: v.start,
          to: v.end,
          riseFrom: v.start,
          gate: v.start,
          undershoot: 1,
        });
        continue;
      }
      const afterPause = !previous || previous.viseme === 'sil' || previous.end < v.start - 1e-6;
      const riseFrom = v.start - this.lead;
      // After a pause, hold the shape back until the frame in which its sound begins.
      const gate = afterPause
        ? Math.floor(v.start * this.opts.fps + 1e-6) / this.opts.fps
        : Number.NEGATIVE_INFINITY;
      const duration = v.end - v.start;
      const undershoot = Math.min(1, 0.55 + duration / 0.16); // short sounds do not reach their full shape
      const seg = {
        ...v,
        from: Math.max(riseFrom, gate),
        to: v.end + this.release,
        riseFrom,
        gate,
        undershoot,
      };
      this.segments.push(seg);
      this.maxSpan = Math.max(this.maxSpan, seg.to - seg.from);
    }
  }

  /**
   * The audio under the track (samples starting at track time `at`): the jaw follows its loudness, so the
   * mouth opens as wide as the voice is loud, not only as wide as the phoneme's table entry says.
   */
  appendAudio(samples: Int16Array, sampleRate: number, at: number): void {
    const per = sampleRate * ENV_HOP;
    const first = Math.round(at / ENV_HOP);
    const last = first + Math.floor(samples.length / per);
    if (last - this.envStart > this.env.length) {
      // Grow, dropping what is older than ENV_KEEP_S behind the newest audio.
      const start = Math.max(this.envStart, last - Math.round(ENV_KEEP_S / ENV_HOP));
      const next = new Float32Array(Math.max(1024, 2 * (last - start)));
      const keep = Math.max(0, this.envEnd - start);
      if (keep > 0) next.set(this.env.subarray(start - this.envStart, this.envEnd - this.envStart));
      this.env = next;
      this.envStart = start;
    }
    for (let h = Math.max(first, this.envStart); h < last; h++) {
      const from = Math.round((h - first) * per);
      const to = Math.min(samples.length, Math.round((h - first + 1) * per));
      let sum = 0;
      for (let i = from; i < to; i++) sum += samples[i]! * samples[i]!;
      const db = 20 * Math.log10(Math.sqrt(sum / Math.max(1, to - from)) / 32768 + 1e-9);
      this.env[h - this.envStart] = Math.min(
        1,
        Math.max(0, (db - ENV_FLOOR_DB) / (ENV_CEIL_DB - ENV_FLOOR_DB)),
      );
    }
    this.envEnd = Math.max(this.envEnd, last);
  }

  /** Mean loudness over [t, t + span): what the frame at t carries. Undefined where no audio is known. */
  loudness(t: number, span: number): number | undefined {
    const from = Math.floor(t / ENV_HOP + 1e-6);
    const to = Math.max(from + 1, Math.floor((t + span) / ENV_HOP + 1e-6));
    if (from < this.envStart || to > this.envEnd) return undefined;
    let sum = 0;
    for (let h = from; h < to; h++) sum += this.env[h - this.envStart]!;
    return sum / (to - from);
  }

  /**
   * Emphasis at time t, 0..1: a syllable clearly louder than the half second before it (a stressed syllable)
   * starts a pulse that rises over 60 ms and fades over 400 ms. Brows and a small nod ride on it.
   * Pure in t, from the loudness envelope; 0 where no audio is known.
   */
  accent(t: number): number {
    const now = Math.floor(t / ENV_HOP + 1e-6);
    let best = 0;
    for (let h = now; h > now - 46; h -= 2) {
      const e = h - this.envStart;
      if (e < 50 || h >= this.envEnd) continue;
      const level = this.env[e]!;
      if (level < 0.55) continue;
      let mean = 0;
      for (let k = e - 50; k < e - 5; k += 3) mean += this.env[k]!;
      mean /= 15;
      const rise = level - mean;
      if (rise < 0.15) continue;
      const age = (now - h) * ENV_HOP;
      const shape = age < 0.06 ? age / 0.06 : Math.max(0, 1 - (age - 0.06) / 0.4);
      best = Math.max(best, Math.min(1, (rise - 0.15) * 3.5) * shape);
    }
    return best;
  }

  /** Cuts the track at t (an interruption): later shapes go, the current one releases from t. */
  truncate(t: number): void {
    while (this.segments.length && this.segments[this.segments.length - 1]!.start >= t) this.segments.pop();
    const last = this.segments[this.segments.length - 1];
    if (last && last.end > t) {
      last.end = t;
      last.to = t + this.release;
    }
    const cut = Math.max(this.envStart, Math.ceil(t / ENV_HOP));
    if (cut < this.envEnd) {
      this.env.fill(0, cut - this.envStart, this.envEnd - this.envStart);
      this.envEnd = cut;
    }
  }

  private weight(s: Segment, t: number): number {
    if (t < s.from || t > s.to) return 0;
    if (t < s.start)
      return Math.max(
        smooth((t - s.riseFrom) / (s.start - s.riseFrom)),
        t >= s.gate && s.gate > s.riseFrom ? 0.35 : 0,
      );
    if (t <= s.end) return 1;
    return smooth(1 - (t - s.end) / this.release);
  }

  at(t: number): { shape: MouthShape; viseme: Viseme; speaking: number } {
    // Binary search for the first segment that could still affect t, then walk while segments start before t.
    let lo = 0;
    let hi = this.segments.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.segments[mid]!.start + this.maxSpan < t) lo = mid + 1;
      else hi = mid;
    }
    const acc: MouthShape = { jawOpen: 0, lipWidth: 0, rounding: 0, lipClosure: 0, teeth: 0, tongue: 0 };
    let total = 0;
    let closure = 0;
    let best: Viseme = 'sil';
    let bestWeight = 0;
    for (let i = lo; i < this.segments.length; i++) {
      const s = this.segments[i]!;
      if (s.from > t) break;
      if (s.viseme === 'sil') continue;
      const w = this.weight(s, t);
      if (w <= 0) continue;
      const target = MOUTH_TARGETS[s.viseme];
      const k = s.undershoot * (s.strength ?? 1);
      acc.jawOpen += w * target.jawOpen * k;
      acc.lipWidth += w * target.lipWidth * k;
      acc.rounding += w * target.rounding * k;
      acc.teeth += w * target.teeth;
      acc.tongue += w * target.tongue;
      total += w;
      if (s.viseme === 'PP') closure = Math.max(closure, w);
      if (w > bestWeight) {
        bestWeight = w;
        best = s.viseme;
      }
    }
    if (total === 0) return { shape: REST_MOUTH, viseme: 'sil', speaking: 0 };
    // Normalise overlapping shapes; where the total is below 1 the rest shape fills the gap.
    const norm = Math.max(1, total);
    const shape: MouthShape = {
      jawOpen: acc.jawOpen / norm,
      lipWidth: acc.lipWidth / norm,
      rounding: acc.rounding / norm,
      lipClosure: 0,
      teeth: acc.teeth / norm,
      tongue: acc.tongue / norm,
    };
    // Bilabials win: the lips press together and the jaw nearly closes, whatever the neighbours blend to.
    shape.lipClosure = closure;
    // The voice's loudness under this frame drives half the jaw: the phoneme's shape scaled by it (quiet
    // consonants nearly close, loud vowels open wide) plus the loudness itself, so the mouth moves with every
    // syllable the way a speaker's does. Lag stays 0: the loudness is that of the frame's own audio.
    const loud = this.loudness(t, 1 / this.opts.fps);
    if (loud !== undefined) {
      shape.jawOpen = Math.min(
        1,
        0.5 * shape.jawOpen * (0.3 + 0.9 * loud) + 0.35 * loud * Math.min(1, total),
      );
    }
    shape.jawOpen *= 1 - 0.9 * closure;
    shape.teeth *= 1 - closure;
    return { shape, viseme: bestWeight >= 0.5 ? best : 'sil', speaking: Math.min(1, total) };
  }
}
