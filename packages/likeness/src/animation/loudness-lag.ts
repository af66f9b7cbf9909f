/**
 * How well a per-frame mouth signal follows the audio's loudness: the Pearson correlation of the two at
 * each lag, and the lag (in frames) where it peaks. Negative lag: the mouth moves before the sound.
 * Used by the animation track's tests and bench, where the answer must be lag 0.
 */
/** Loudness per frame: RMS level in dB above -60 dBFS (0 for anything quieter), the way ears hear it. */
export function frameLoudness(pcm: Int16Array, sampleRate: number, fps: number, frames: number): number[] {
  const per = sampleRate / fps;
  const out: number[] = [];
  for (let n = 0; n < frames; n++) {
    const from = Math.round(n * per);
    const to = Math.min(pcm.length, Math.round((n + 1) * per));
    let sum = 0;
    for (let i = from; i < to; i++) sum += pcm[i]! * pcm[i]!;
    const rms = Math.sqrt(sum / Math.max(1, to - from)) / 32768;
    out.push(Math.max(0, 20 * Math.log10(rms + 1e-9) + 60));
  }
  return out;
}

export function pearson(a: number[], b: number[]): number {
  const n = Math.min(a.length, b.length);
  if (n < 2) return 0;
  let ma = 0;
  let mb = 0;
  for (let i = 0; i < n; i++) {
    ma += a[i]!;
    mb += b[i]!;
  }
  ma /= n;
  mb /= n;
  let sab = 0;
  let saa = 0;
  let sbb = 0;
  for (let i = 0; i < n; i++) {
    const da = a[i]! - ma;
    const db = b[i]! - mb;
    sab += da * db;
    saa += da * da;
    sbb += db * db;
  }
  return saa && sbb ? sab / Math.sqrt(saa * sbb) : 0;
}

/** Correlation of mouth[n + lag] with loudness[n] for lags in [-maxLag, maxLag]; the best lag and its r. */
export function bestLag(mouth: number[], loudness: number[], maxLag = 5): { lag: number; r: number } {
  let best = { lag: 0, r: Number.NEGATIVE_INFINITY };
  for (let lag = -maxLag; lag <= maxLag; lag++) {
    const a: number[] = [];
    const b: number[] = [];
    for (let n = 0; n < loudness.length; n++) {
      const m = n + lag;
      if (m < 0 || m >= mouth.length) continue;
      a.push(mouth[m]!);
      b.push(loudness[n]!);
    }
    const r = pearson(a, b);
    if (r > best.r) best = { lag, r };
  }
  return best;
}
