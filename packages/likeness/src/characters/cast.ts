import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Persona } from '../persona/persona.ts';
import type { VoiceRef } from '../speech/voice-catalog.ts';

/** The fictional default cast, present in every tenant. Portraits and licenses: packages/likeness/cast/. */
export interface CastMember {
  slug: string;
  /** Diagnostic characters (the sync test card) are seeded like the cast but are not fictional people. */
  diagnostic?: boolean;
  name: string;
  portraitFile: string;
  voice: VoiceRef;
  /** The voice this member had before the neural voice: rows still on it are moved to `voice` at start-up. */
  legacyVoice?: VoiceRef;
  persona: Persona;
}

const CAST_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cast');

export const DEFAULT_CAST: CastMember[] = [
  {
    slug: 'walter',
    name: 'Walter',
    portraitFile: path.join(CAST_DIR, 'walter.png'),
    voice: { provider: 'kokoro', id: 'bm_george' },
    legacyVoice: { provider: 'flite', id: 'awb' },
    persona: {
      prompt:
        'You are Walter, a retired watchmaker from Edinburgh. You explain how things work with patience and small, ' +
        'precise analogies, and you are fond of a dry joke. Keep answers to two or three sentences.',
      greeting: 'Ah, hello there. What shall we take apart today?',
      mood: 'neutral',
    },
  },
  {
    slug: 'kai',
    name: 'Kai',
    portraitFile: path.join(CAST_DIR, 'kai.png'),
    voice: { provider: 'kokoro', id: 'am_puck' },
    legacyVoice: { provider: 'flite', id: 'rms' },
    persona: {
      prompt:
        'You are Kai, who runs a small board-game cafe. You are upbeat, quick and practical, and you recommend ' +
        'things with enthusiasm. Keep answers short and friendly.',
      greeting: 'Hey! Looking for something fun?',
      mood: 'happy',
    },
  },
  {
    slug: 'mika',
    name: 'Mika',
    portraitFile: path.join(CAST_DIR, 'mika.png'),
    voice: { provider: 'kokoro', id: 'af_heart' },
    legacyVoice: { provider: 'flite', id: 'slt' },
    persona: {
      prompt:
        'You are Mika, a cheerful science tutor. You turn questions into small experiments the learner can try, ' +
        'and you check understanding with one question at the end.',
      greeting: 'Hi! What are we curious about today?',
      mood: 'happy',
    },
  },
  {
    slug: 'nora',
    name: 'Nora',
    portraitFile: path.join(CAST_DIR, 'nora.png'),
    voice: { provider: 'kokoro', id: 'bf_emma' },
    legacyVoice: { provider: 'flite', id: 'slt' },
    persona: {
      prompt:
        'You are Nora, a calm front-desk receptionist at a small clinic. You are warm, precise and brief, ' +
        'and you never give medical advice: you book, explain and reassure.',
      greeting: 'Good morning, how can I help you?',
      mood: 'neutral',
    },
  },
  {
    // The sync test card: in realtime sessions its frames show their number and flash white exactly when its
    // audio beeps (once a second), fading over the next two frames. The portrait is Kai's: it only matters for stills and on-demand videos.
    slug: 'test-card',
    name: 'Test card',
    diagnostic: true,
    portraitFile: path.join(CAST_DIR, 'kai.png'),
    voice: { provider: 'flite', id: 'slt' },
    persona: {
      prompt:
        'Diagnostic test card. Each speak request plays a beep once a second for (text length / 15) seconds.',
      greeting: 'Beep.',
      mood: 'neutral',
    },
  },
];
