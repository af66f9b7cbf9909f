import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DetectedFace } from './face-detector.ts';
import { CHIN, FOREHEAD_TOP, IMAGE_LEFT_IRIS, IMAGE_RIGHT_IRIS, LANDMARK_COUNT } from './face-topology.ts';
import { applySimilarity, FRAMING, framingTransform, transformFace, warpSimilarity } from './normalize.ts';

/** A synthetic face: eyes on a line tilted by `tilt` radians, forehead-to-chin length `h`. */
function face(tilt: number, h: number, cx: number, cy: number): DetectedFace {
  const landmarks: [number, number, number][] = Array.from({ length: LANDMARK_COUNT }, () => [cx, cy, 0]);
  const rot = (dx: number, dy: number): [number, number, number] => [
    cx + dx * Math.cos(tilt) - dy * Math.sin(tilt),
    cy + dx * Math.sin(tilt) + dy * Math.cos(tilt),
    0,
  ];
  for (const i of IMAGE_LEFT_IRIS) landmarks[i] = rot(-h * 0.3, -h * 0.1);
  for (const i of IMAGE_RIGHT_IRIS) landmarks[i] = rot(h * 0.3, -h * 0.1);
  landmarks[FOREHEAD_TOP] = rot(0, -h / 2);
  landmarks[CHIN] = rot(0, h / 2);
  return {
    box: { x: cx - h / 2, y: cy - h / 2, width: h, height: h },
    score: 1,
    landmarks,
    pose: { yawDeg: 0, pitchDeg: 0, rollDeg: 0 },
  };
}

describe('framing', () => {
  it('levels the eyes and places the face at the standard size and position', () => {
    const f = face(0.3, 200, 400, 300);
    const t = framingTransform(f, 512);
    const n = transformFace(f, t);
    const left = n.landmarks[IMAGE_LEFT_IRIS[0]!]!;
    const right = n.landmarks[IMAGE_RIGHT_IRIS[0]!]!;
    assert.ok(Math.abs(left[1] - right[1]) < 1e-6, 'eyes level');
    assert.ok(left[0] < right[0], 'left eye stays on the left (no flip)');
    const top = n.landmarks[FOREHEAD_TOP]!;
    const chin = n.landmarks[CHIN]!;
    assert.ok(Math.abs(Math.hypot(chin[0] - top[0], chin[1] - top[1]) - FRAMING.faceHeight * 512) < 1e-6);
    assert.ok(Math.abs((top[0] + chin[0]) / 2 - 256) < 1e-6);
    assert.ok(Math.abs((top[1] + chin[1]) / 2 - FRAMING.centerY * 512) < 1e-6);
  });

  it('warps pixels through the same transform as the landmarks', () => {
    const width = 64;
    const height = 48;
    const data = new Uint8Array(width * height * 3);
    // One bright pixel block at (20..22, 10..12).
    for (let y = 10; y < 13; y++)
      for (let x = 20; x < 23; x++) data.fill(255, (y * width + x) * 3, (y * width + x) * 3 + 3);
    const t = { scale: 2, angle: 0.2, tx: 10, ty: -5 };
    const out = warpSimilarity({ data, width, height }, t, 128).data;
    const [u, v] = applySimilarity(t, 21.5, 11.5);
    const i = (Math.round(v) * 128 + Math.round(u)) * 3;
    assert.ok(out[i]! > 200, `the bright block lands at (${u.toFixed(1)}, ${v.toFixed(1)})`);
    assert.equal(out[(5 * 128 + 5) * 3], 0, 'elsewhere stays dark');
  });
});
