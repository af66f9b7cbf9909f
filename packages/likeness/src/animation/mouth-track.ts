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

  /** Cuts the track at t (an interruption): later shapes go, the current one releases from t. */
  truncate(t: number): void {
    while (this.segments.length && this.segments[this.segments.length - 1]!.start >= t) this.segments.pop();
    const last = this.segments[this.segments.length - 1];
    if (last && last.end > t) {
      last.end = t;
      last.to = t + this.release;
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
    const acc: MouthShape = { jawOpen: 0, lipWidth: 0, rounding: 0, lipClosure: 0, teeth: 0 };
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
    };
    // Bilabials win: the lips press together and the jaw nearly closes, whatever the neighbours blend to.
    shape.lipClosure = closure;
    shape.jawOpen *= 1 - 0.9 * closure;
    shape.teeth *= 1 - closure;
    return { shape, viseme: bestWeight >= 0.5 ? best : 'sil', speaking: Math.min(1, total) };
  }
}
