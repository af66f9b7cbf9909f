import { AccessToken } from 'livekit-server-sdk';
import type { LiveKitConfig } from '../config.ts';
import { newId } from '../ids.ts';

/** One LiveKit room per realtime session. */
export const roomFor = (sessionId: string) => `likeness-${sessionId}`;
export const avatarIdentityFor = (sessionId: string) => `likeness-avatar-${sessionId}`;

/**
 * A join token for an end user: subscribe to the character, publish a microphone and data (a voice agent in
 * the room listens to them). Short-lived like the session token: it only has to be valid when joining.
 */
export async function viewerToken(
  cfg: LiveKitConfig,
  sessionId: string,
  ttlS: number,
): Promise<{ token: string; identity: string }> {
  const identity = newId('viewer');
  const at = new AccessToken(cfg.apiKey, cfg.apiSecret, { identity, ttl: ttlS });
  at.addGrant({
    roomJoin: true,
    room: roomFor(sessionId),
    canSubscribe: true,
    canPublish: true,
    canPublishData: true,
  });
  return { token: await at.toJwt(), identity };
}

/**
 * The avatar's own token. It subscribes to no track (it joins with autoSubscribe off; agent audio comes as a
 * data stream), but the grant must allow subscribing: the server delivers data packets only to subscribers.
 */
export async function avatarToken(cfg: LiveKitConfig, sessionId: string): Promise<string> {
  const at = new AccessToken(cfg.apiKey, cfg.apiSecret, {
    identity: avatarIdentityFor(sessionId),
    name: 'Likeness avatar',
    ttl: 600,
  });
  at.addGrant({
    roomJoin: true,
    room: roomFor(sessionId),
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
    canUpdateOwnMetadata: true, // to set lk.publish_on_behalf when an agent starts speaking through it
  });
  return at.toJwt();
}
