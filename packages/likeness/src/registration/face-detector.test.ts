import assert from 'node:assert/strict';
import fs from 'node:fs/promises';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { Problem } from '../errors.ts';
import { decodeImage } from './decode-image.ts';
import { FaceDetector } from './face-detector.ts';

const fixture = path.resolve(
  path.dirname(fileURLToPath(import.meta.url)),
  '../../test/fixtures/astronaut.png',
);

describe('face detector', () => {
  const detector = new FaceDetector();
  after(() => detector.close());

  it('finds the face in its own process; a crash there fails one detection, and the next works', async () => {
    const image = await decodeImage(await fs.readFile(fixture), { maxPixels: 40e6 });
    const [face] = await detector.detect(image);
    assert.ok(face && face.landmarks.length === 478 && face.score > 0.5, 'one face with its mesh');
    const [pid] = detector.engine.pids;
    assert.ok(pid && pid !== process.pid, 'detection runs in a process of its own');

    // Killed once the request is handed out (the process is warm and idle, so that is at once).
    const requests = detector.engine.requests;
    const pending = detector.detect(image);
    while (detector.engine.requests === requests) await new Promise((r) => setTimeout(r, 1));
    process.kill(pid, 'SIGKILL');
    await assert.rejects(pending, (err) => err instanceof Problem && err.slug === 'face-detection-failed');

    const [again] = await detector.detect(image);
    assert.ok(again && Math.abs(again.box.x - face.box.x) < 1, 'the same face, found by a new process');
    assert.ok(!detector.engine.pids.includes(pid));
  });
});
