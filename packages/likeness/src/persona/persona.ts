/**
 * How a character speaks and behaves: stage 2 (the LLM) reads this as its system prompt. Stored with the
 * character; memory per user will live beside it, not in it.
 */
export type Mood = 'neutral' | 'happy';

export interface Persona {
  /** Who the character is and how it talks; the LLM's system prompt. */
  prompt: string;
  /** First line when a conversation opens. */
  greeting: string;
  /** Baseline expression for animation. */
  mood: Mood;
}

export const MOODS: readonly Mood[] = ['neutral', 'happy'];

export const DEFAULT_PERSONA: Persona = {
  prompt: 'You are a friendly, concise assistant. Answer in one to three short sentences.',
  greeting: 'Hello! What can I do for you?',
  mood: 'neutral',
};
