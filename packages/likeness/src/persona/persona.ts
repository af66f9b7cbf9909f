/**
 * How a character speaks and behaves: stage 2 (the LLM) reads this as its system prompt. Stored with the
 * character; memory per user will live beside it, not in it.
 */
/** How the face looks while it talks: an expression blended into every frame (and the voice's pace). */
export const MOODS = ['neutral', 'happy', 'surprised', 'thinking', 'concerned'] as const;
export type Mood = (typeof MOODS)[number];

export interface Persona {
  /** Who the character is and how it talks; the LLM's system prompt. */
  prompt: string;
  /** First line when a conversation opens. */
  greeting: string;
  /** Baseline expression for animation. */
  mood: Mood;
}

export const DEFAULT_PERSONA: Persona = {
  prompt: 'You are a friendly, concise assistant. Answer in one to three short sentences.',
  greeting: 'Hello! What can I do for you?',
  mood: 'neutral',
};
