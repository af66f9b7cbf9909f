import { voice } from '@livekit/agents';
import { AudioFrame, Room, TrackKind } from '@livekit/rtc-node';
import { AccessToken } from 'livekit-server-sdk';
import type { LiveKitServer } from './livekit-server.ts';

export const AGENT_SAMPLE_RATE = 24_000;

/**
 * A LiveKit voice agent as the Agents framework builds one: a participant of the session's room whose speech
 * goes to the avatar through agents-js's own DataStreamAudioOutput (the real avatar-protocol client).
 */
export async function joinAsAgent(
  lk: LiveKitServer,
  access: { url: string; room: string; avatar_identity: string },
  opts: { identity: string; waitPlaybackStart?: boolean },
): Promise<{ room: Room; output: voice.DataStreamAudioOutput }> {
  const at = new AccessToken(lk.apiKey, lk.apiSecret, { identity: opts.identity });
  at.addGrant({
    roomJoin: true,
    room: access.room,
    canPublish: true,
    canSubscribe: true,
    canPublishData: true,
  });
  const room = new Room();
  await room.connect(access.url, await at.toJwt(), { autoSubscribe: false, dynacast: false });
  const output = new voice.DataStreamAudioOutput({
    room,
    destinationIdentity: access.avatar_identity,
    sampleRate: AGENT_SAMPLE_RATE,
    waitRemoteTrack: TrackKind.KIND_VIDEO,
    waitPlaybackStart: opts.waitPlaybackStart ?? false,
  });
  return { room, output };
}

/** Sends one utterance in 20 ms frames, as fast as a TTS would produce them, and ends it. */
export async function sendUtterance(output: voice.DataStreamAudioOutput, pcm: Int16Array): Promise<void> {
  const frame = AGENT_SAMPLE_RATE / 50;
  for (let i = 0; i < pcm.length; i += frame) {
    // A copy: DataStreamAudioOutput sends frame.data.buffer, the whole underlying buffer.
    const part = pcm.slice(i, i + frame);
    await output.captureFrame(new AudioFrame(part, AGENT_SAMPLE_RATE, 1, part.length));
  }
  output.flush();
}

/** A voiced, syllable-like test signal: 180 Hz with harmonics, opening and closing 4 times a second. */
export function speechLike(seconds: number, rate = AGENT_SAMPLE_RATE): Int16Array {
  const out = new Int16Array(Math.round(seconds * rate));
  for (let i = 0; i < out.length; i++) {
    const t = i / rate;
    const env = 0.5 - 0.5 * Math.cos(2 * Math.PI * 4 * t);
    const tone = Math.sin(2 * Math.PI * 180 * t) + 0.5 * Math.sin(2 * Math.PI * 360 * t);
    out[i] = Math.round(9000 * env * tone);
  }
  return out;
}

/** Iterates a web ReadableStream (rtc-node's VideoStream / AudioStream). */
export async function* readAll<T>(stream: ReadableStream<T>): AsyncGenerator<T> {
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return;
    yield value;
  }
}
