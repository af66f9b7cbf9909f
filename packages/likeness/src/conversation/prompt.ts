import type { Persona } from '../persona/persona.ts';
import type { ChatMessage } from './llm/index.ts';
import { describeFacts, type Fact } from './memory/facts.ts';
import type { Turn } from './memory/memory-store.ts';

export interface PromptInput {
  characterName: string;
  persona: Persona;
  /** What the character knows about this user. */
  facts: Fact[];
  /** The user's recent turns with this character, any session, oldest first. */
  history: Turn[];
  sessionId: string;
  userText: string;
}

/** Turns of history the model sees; older ones live on as facts. */
export const HISTORY_TURNS = 6;
const MAX_TURN_CHARS = 300;

const cut = (s: string) => (s.length > MAX_TURN_CHARS ? `${s.slice(0, MAX_TURN_CHARS)}...` : s);

/**
 * The messages for one reply: the persona as the system prompt, with the rules that keep a spoken reply
 * short and in character, what the character remembers of this user (facts, and what was said last time when
 * this is a new session), the recent turns, then the user's message.
 */
export function buildPrompt(input: PromptInput): ChatMessage[] {
  const name = input.characterName;
  const lines = [
    input.persona.prompt.trim(),
    `You are ${name}. Stay in character and speak as ${name}, in the first person. ` +
      'You are talking out loud: answer in one or two short sentences, with no lists, no markdown and no emoji.',
  ];
  if (input.facts.length)
    lines.push(`What you know about the person you are talking to: ${describeFacts(input.facts)}.`);
  const earlier = input.history.filter((t) => t.session_id !== input.sessionId);
  const last = earlier.at(-1);
  if (last && earlier.length === input.history.length) {
    lines.push(
      `You have talked before. Last time they said "${cut(last.user_text)}" and you answered "${cut(last.reply_text)}".`,
    );
  }
  const messages: ChatMessage[] = [{ role: 'system', content: lines.filter(Boolean).join('\n') }];
  for (const t of input.history.slice(-HISTORY_TURNS)) {
    messages.push({ role: 'user', content: cut(t.user_text) });
    if (t.reply_text) messages.push({ role: 'assistant', content: cut(t.reply_text) });
  }
  messages.push({ role: 'user', content: input.userText });
  return messages;
}
