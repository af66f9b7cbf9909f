import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { withAudioPtime } from './whep-peer.ts';

const OFFER = [
  'v=0',
  'o=- 1 2 IN IP4 127.0.0.1',
  's=-',
  't=0 0',
  'm=audio 9 UDP/TLS/RTP/SAVPF 111',
  'a=mid:0',
  'a=rtpmap:111 opus/48000/2',
  'm=video 9 UDP/TLS/RTP/SAVPF 96',
  'a=mid:1',
  '',
].join('\r\n');

describe('withAudioPtime', () => {
  it('asks for 10 ms audio packets in the audio section only', () => {
    const sdp = withAudioPtime(OFFER);
    const [, audio, video] = sdp.split(/\r\n(?=m=)/);
    assert.match(audio!, /\r\na=ptime:10$/);
    assert.doesNotMatch(video!, /ptime/);
    assert.equal(sdp.split('\r\n').length, OFFER.split('\r\n').length + 1, 'one line added, line ends kept');
  });

  it('keeps a ptime the section already has', () => {
    const asked = OFFER.replace('a=mid:0', 'a=mid:0\r\na=ptime:40');
    assert.equal(withAudioPtime(asked), asked);
  });

  it('handles bare line feeds and an SDP with no audio', () => {
    assert.match(withAudioPtime(OFFER.replaceAll('\r\n', '\n')), /opus\/48000\/2\na=ptime:10\nm=video/);
    const videoOnly = OFFER.replace(/m=audio[\s\S]*?(?=m=video)/, '');
    assert.equal(withAudioPtime(videoOnly), videoOnly);
  });
});
