import { Problem } from '../errors.ts';

/** The session has less media left than this text needs (or none): 403 usage-cap-exceeded. */
export function mediaCapExceeded(remainingS: number): Problem {
  const left = Math.max(0, remainingS);
  return new Problem(
    'usage-cap-exceeded',
    left > 0
      ? `This text would need more than the ${left.toFixed(1)} s of media the session has left. Shorten it or start a new session.`
      : 'The session has used all its media. Start a new session.',
    { remaining_s: Math.round(left * 10) / 10 },
  );
}
