import { randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghjkmnpqrstvwxyz'; // Crockford base32, lower case

let lastTime = 0;
let lastRandom = Buffer.alloc(10);

/**
 * Time-ordered ids (ULID layout: 48-bit ms time + 80 random bits), prefixed by kind.
 * Ids sort by creation, so `id > cursor` is a stable pagination order. Monotonic within a millisecond.
 */
export function newId(prefix: string): string {
  const now = Date.now();
  if (now <= lastTime) {
    // Same millisecond (or clock stepped back): increment the random part to stay ordered.
    for (let i = lastRandom.length - 1; i >= 0; i--) {
      lastRandom[i] = (lastRandom[i]! + 1) & 0xff;
      if (lastRandom[i] !== 0) break;
    }
  } else {
    lastTime = now;
    lastRandom = randomBytes(10);
  }
  let time = '';
  let t = lastTime;
  for (let i = 0; i < 10; i++) {
    time = ALPHABET[t % 32] + time;
    t = Math.floor(t / 32);
  }
  let bits = 0n;
  for (const byte of lastRandom) bits = (bits << 8n) | BigInt(byte);
  let rand = '';
  for (let i = 0; i < 16; i++) {
    rand = ALPHABET[Number(bits & 31n)] + rand;
    bits >>= 5n;
  }
  return `${prefix}_${time}${rand}`;
}
