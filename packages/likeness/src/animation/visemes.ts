/** The 15 Oculus visemes: the common currency between speech engines and renderers. */
export const VISEMES = [
  'sil',
  'PP',
  'FF',
  'TH',
  'DD',
  'kk',
  'CH',
  'SS',
  'nn',
  'RR',
  'aa',
  'E',
  'I',
  'O',
  'U',
] as const;
export type Viseme = (typeof VISEMES)[number];

export interface TimedViseme {
  viseme: Viseme;
  start: number;
  end: number;
  /** 0..1 scale on the mouth shape (audio-derived visemes carry loudness here); 1 when absent. */
  strength?: number;
}

/** ARPAbet (Flite's phone set, lower case) to viseme. */
const ARPABET: Record<string, Viseme> = {
  pau: 'sil',
  h_: 'sil',
  sil: 'sil',
  p: 'PP',
  b: 'PP',
  m: 'PP',
  f: 'FF',
  v: 'FF',
  th: 'TH',
  dh: 'TH',
  t: 'DD',
  d: 'DD',
  k: 'kk',
  g: 'kk',
  ng: 'kk',
  hh: 'kk',
  ch: 'CH',
  jh: 'CH',
  sh: 'CH',
  zh: 'CH',
  s: 'SS',
  z: 'SS',
  n: 'nn',
  l: 'nn',
  el: 'nn',
  en: 'nn',
  r: 'RR',
  er: 'RR',
  axr: 'RR',
  aa: 'aa',
  ae: 'aa',
  ah: 'aa',
  ax: 'aa',
  ay: 'aa',
  aw: 'aa',
  eh: 'E',
  ey: 'E',
  ih: 'I',
  iy: 'I',
  y: 'I',
  ix: 'I',
  ao: 'O',
  ow: 'O',
  oy: 'O',
  uh: 'U',
  uw: 'U',
  w: 'U',
};

export function visemeForPhoneme(phoneme: string): Viseme {
  return ARPABET[phoneme.toLowerCase()] ?? 'nn';
}

export function phonemesToVisemes(
  phonemes: { phoneme: string; start: number; end: number }[],
): TimedViseme[] {
  return phonemes.map((p) => ({ viseme: visemeForPhoneme(p.phoneme), start: p.start, end: p.end }));
}

/**
 * Mouth parameters, relative to the portrait at rest:
 * jawOpen 0..1 (how far the jaw drops), lipWidth -1..1 (narrow..spread), rounding 0..1 (pucker),
 * lipClosure 0..1 (1 = lips pressed together), teeth 0..1 (how much of the teeth shows when lips part),
 * tongue 0..1 (the tongue's tip raised towards the upper teeth: L, N, T, D; between the teeth on TH).
 */
export interface MouthShape {
  jawOpen: number;
  lipWidth: number;
  rounding: number;
  lipClosure: number;
  teeth: number;
  tongue: number;
}

export const REST_MOUTH: MouthShape = {
  jawOpen: 0,
  lipWidth: 0,
  rounding: 0,
  lipClosure: 0,
  teeth: 0,
  tongue: 0,
};

export const MOUTH_TARGETS: Record<Viseme, MouthShape> = {
  sil: REST_MOUTH,
  PP: { jawOpen: 0.04, lipWidth: 0, rounding: 0.1, lipClosure: 1, teeth: 0, tongue: 0 },
  FF: { jawOpen: 0.14, lipWidth: 0.1, rounding: 0, lipClosure: 0.2, teeth: 0.9, tongue: 0 },
  TH: { jawOpen: 0.2, lipWidth: 0.1, rounding: 0, lipClosure: 0, teeth: 0.7, tongue: 1 },
  DD: { jawOpen: 0.25, lipWidth: 0.15, rounding: 0, lipClosure: 0, teeth: 0.6, tongue: 0.45 },
  kk: { jawOpen: 0.3, lipWidth: 0.05, rounding: 0, lipClosure: 0, teeth: 0.4, tongue: 0 },
  CH: { jawOpen: 0.18, lipWidth: -0.15, rounding: 0.55, lipClosure: 0, teeth: 0.8, tongue: 0 },
  SS: { jawOpen: 0.1, lipWidth: 0.35, rounding: 0, lipClosure: 0, teeth: 0.95, tongue: 0 },
  nn: { jawOpen: 0.2, lipWidth: 0.1, rounding: 0, lipClosure: 0, teeth: 0.45, tongue: 0.7 },
  RR: { jawOpen: 0.25, lipWidth: -0.2, rounding: 0.5, lipClosure: 0, teeth: 0.3, tongue: 0 },
  aa: { jawOpen: 0.85, lipWidth: 0.15, rounding: 0, lipClosure: 0, teeth: 0.35, tongue: 0 },
  E: { jawOpen: 0.55, lipWidth: 0.4, rounding: 0, lipClosure: 0, teeth: 0.55, tongue: 0 },
  I: { jawOpen: 0.35, lipWidth: 0.55, rounding: 0, lipClosure: 0, teeth: 0.65, tongue: 0 },
  O: { jawOpen: 0.6, lipWidth: -0.35, rounding: 0.8, lipClosure: 0, teeth: 0.2, tongue: 0 },
  U: { jawOpen: 0.3, lipWidth: -0.5, rounding: 1, lipClosure: 0, teeth: 0.1, tongue: 0 },
};

/** Visemes whose shape has the mouth open (used by tests and the audio-derived path). */
export const OPEN_VISEMES: ReadonlySet<Viseme> = new Set(['aa', 'E', 'I', 'O', 'U']);
