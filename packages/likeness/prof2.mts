import fs from 'node:fs';
import { AnimationTrack } from './src/animation/animation-track.ts';
import { renderUtteranceVideo } from './src/media/utterance-video.ts';
import { FaceDetector } from './src/registration/face-detector.ts';
import { encodePng, identityFromImage } from './src/registration/registrar.ts';
import { PortraitRenderer } from './src/render/renderer.ts';
import { FliteEngine } from './src/speech/flite-engine.ts';
import { SpeechService } from './src/speech/speech-service.ts';

const det = new FaceDetector();
const limits = {
  maxImageBytes: 1e8,
  maxImagePixels: 1e8,
  portraitSize: 512,
  minFacePixels: 1,
  maxHeadTurnDegrees: 90,
};
const { identity, portrait } = await identityFromImage(
  fs.readFileSync(process.argv[2] ?? 'cast/kai.png'),
  limits,
  det,
);
const renderer = await PortraitRenderer.create(identity, await encodePng(portrait));
const flite = new FliteEngine();
const speech = new SpeechService({ flite });
const text =
  'Open the map. Bob made a map, and maybe we can find the old mill by the river before the sun goes down. I hope so!';
// speech only
let t0 = performance.now();
let n = 0;
const vis = [];
for await (const c of speech.stream(text, { provider: 'flite', id: 'rms' })) {
  n += c.samples.length;
  vis.push(...c.visemes);
}
console.log('speech', Math.round(performance.now() - t0), 'ms for', (n / 16000).toFixed(2), 's');
t0 = performance.now();
for await (const c of speech.stream(text, { provider: 'flite', id: 'rms' })) {
  n += 0;
}
console.log('speech warm', Math.round(performance.now() - t0));
const track = new AnimationTrack({ visemes: vis, idle: identity.idle, mood: 'neutral', seed: 1, fps: 25 });
t0 = performance.now();
for (let i = 0; i < 205; i++) track.frame(i);
console.log('track 205 frames', (performance.now() - t0).toFixed(1));
const times = [];
for (let i = 0; i < 205; i++) {
  const t = performance.now();
  renderer.render(track.frame(i));
  times.push(performance.now() - t);
}
times.sort((a, b) => a - b);
console.log(
  'render median',
  times[102].toFixed(2),
  'p99',
  times[202].toFixed(2),
  'sum',
  times.reduce((a, b) => a + b).toFixed(0),
);
t0 = performance.now();
await renderUtteranceVideo({
  identity,
  renderer,
  speech,
  text,
  voice: { provider: 'flite', id: 'rms' },
  mood: 'happy',
  seed: 1,
  file: '/tmp/gen.mp4',
});
console.log('full mp4', Math.round(performance.now() - t0));
await flite.close();
