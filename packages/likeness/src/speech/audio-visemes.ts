import type { TimedViseme, Viseme } from '../animation/visemes.ts';

const HOP_S = 0.01;
const WINDOW_S = 0.02;

interface FrameFeatures {
  db: number;
  zcr: number;
  /** Energy of the first difference over energy of the signal: high for hiss, low for vowels. */
  tilt: number;
}

function features(samples: Int16Array, sampleRate: number): FrameFeatures[] {
  const hop = Math.round(HOP_S * sampleRate);
  const win = Math.round(WINDOW_S * sampleRate);
  const out: FrameFeatures[] = [];
  for (let start = 0; start < samples.length; start += hop) {
    const end = Math.min(samples.length, start + win);
    let energy = 0;
    let diff = 0;
    let crossings = 0;
    let prev = samples[start] ?? 0;
    for (let i = start; i < end; i++) {
      const s = samples[i]!;
      energy += s * s;
      const d = s - prev;
      diff += d * d;
      if (s >= 0 !== prev >= 0) crossings++;
      prev = s;
    }
    const n = Math.max(1, end - start);
    const rms = Math.sqrt(energy / n) / 32768;
    out.push({ db: 20 * Math.log10(rms + 1e-9), zcr: crossings / n, tilt: diff / (energy + 1e-9) });
  }
  return out;
}

/** Level of the loudest 20 ms window, dBFS: for judging a stream's loudness as it arrives. */
export function loudestDb(samples: Int16Array, sampleRate: number): number {
  return features(samples, sampleRate).reduce((m, f) => Math.max(m, f.db), -180);
}

const percentile = (v: number[], p: number) =>
  [...v].sort((a, b) => a - b)[Math.floor((v.length - 1) * p)] ?? 0;

/**
 * Visemes from the audio alone, for engines that give no phoneme timings. Frame by frame (10 ms): silence by
 * level relative to the utterance's own range, hiss (s, sh, f) by zero-crossing rate and spectral tilt, and
 * vowels by loudness (how open) and tilt (front vowels brighter than rounded back ones). Runs are smoothed and
 * merged into segments; `strength` carries loudness so quiet speech opens the mouth less.
 * Accuracy against Flite's own phone timings is measured by audio-visemes.test.ts.
 */
export function visemesFromAudio(
  samples: Int16Array,
  sampleRate: number,
  offsetS = 0,
  /** Levels of the whole utterance when known; short streamed chunks cannot judge loudness on their own. */
  levels?: { peakDb: number; floorDb: number },
): TimedViseme[] {
  const frames = features(samples, sampleRate);
  if (frames.length === 0) return [];
  const dbs = frames.map((f) => f.db);
  const peak = levels?.peakDb ?? percentile(dbs, 0.95);
  const floor = levels?.floorDb ?? percentile(dbs, 0.1);
  const silent = Math.max(floor + 8, peak - 32, -60);
  const labels: { viseme: Viseme; strength: number }[] = frames.map((f) => {
    if (f.db < silent) return { viseme: 'sil', strength: 0 };
    const loud = Math.min(1, Math.max(0, (f.db - (peak - 24)) / 24));
    if (f.zcr > 0.28 || f.tilt > 1.3) return { viseme: 'SS', strength: 0.8 };
    if (loud < 0.3) return { viseme: 'nn', strength: 0.8 };
    if (f.tilt < 0.06) return { viseme: loud > 0.6 ? 'O' : 'U', strength: 0.5 + 0.5 * loud };
    if (f.tilt > 0.45) return { viseme: loud > 0.6 ? 'E' : 'I', strength: 0.5 + 0.5 * loud };
    return { viseme: loud > 0.55 ? 'aa' : 'E', strength: 0.5 + 0.5 * loud };
  });
  // Majority over 5 frames removes single-frame flicker.
  const smoothed = labels.map((_, i) => {
    const counts = new Map<Viseme, number>();
    for (let k = Math.max(0, i - 2); k <= Math.min(labels.length - 1, i + 2); k++) {
      counts.set(labels[k]!.viseme, (counts.get(labels[k]!.viseme) ?? 0) + 1);
    }
    let best = labels[i]!.viseme;
    for (const [v, c] of counts) if (c > (counts.get(best) ?? 0)) best = v;
    return { viseme: best, strength: labels[i]!.strength };
  });
  const out: TimedViseme[] = [];
  for (let i = 0; i < smoothed.length; i++) {
    const { viseme, strength } = smoothed[i]!;
    const start = offsetS + i * HOP_S;
    const last = out[out.length - 1];
    if (last && last.viseme === viseme) {
      last.end = start + HOP_S;
      last.strength = Math.max(last.strength ?? 0, strength);
    } else {
      out.push({ viseme, start, end: start + HOP_S, strength });
    }
  }
  const end = offsetS + samples.length / sampleRate;
  if (out.length) out[out.length - 1]!.end = Math.min(out[out.length - 1]!.end, end);
  return out;
}
