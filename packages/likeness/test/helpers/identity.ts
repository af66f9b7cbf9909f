import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { FaceDetector } from '../../src/registration/face-detector.ts';
import type { Identity } from '../../src/registration/identity.ts';
import { encodePng, identityFromImage } from '../../src/registration/registrar.ts';
import { PortraitRenderer } from '../../src/render/renderer.ts';

const CAST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../cast');
const cache = new Map<string, Promise<{ identity: Identity; png: Uint8Array }>>();
let detector: FaceDetector | undefined;

/** Registration limits loose enough for any test picture. */
export const TEST_LIMITS = {
  maxImageBytes: 1e8,
  maxImagePixels: 1e8,
  portraitSize: 512,
  minFacePixels: 1,
  maxHeadTurnDegrees: 90,
};

/** A real identity built from a cast portrait (in memory, no store); cached per process. */
export function castIdentity(name = 'kai'): Promise<{ identity: Identity; png: Uint8Array }> {
  let entry = cache.get(name);
  if (!entry) {
    detector ??= new FaceDetector();
    entry = (async () => {
      const { identity, portrait } = await identityFromImage(
        fs.readFileSync(path.join(CAST, `${name}.png`)),
        TEST_LIMITS,
        detector!,
      );
      return { identity, png: await encodePng(portrait) };
    })();
    cache.set(name, entry);
  }
  return entry;
}

export async function castRenderer(
  name = 'kai',
  size = 512,
): Promise<{ identity: Identity; renderer: PortraitRenderer }> {
  const { identity, png } = await castIdentity(name);
  return { identity, renderer: await PortraitRenderer.create(identity, png, size) };
}

/** The box around the lips and chin, in frame pixels. */
function mouthBox(identity: Identity, size: number) {
  const scale = size / identity.size;
  const lm = identity.landmarks;
  const xs = [61, 291].map((i) => lm[i]![0] * scale);
  const ys = [0, 17, 152].map((i) => lm[i]![1] * scale);
  return {
    x0: Math.floor(Math.min(...xs) - 8 * scale),
    x1: Math.ceil(Math.max(...xs) + 8 * scale),
    y0: Math.floor(ys[0]! - 8 * scale),
    y1: Math.ceil((ys[1]! + ys[2]!) / 2),
  };
}

/** How open the mouth is, measured on the frame: dark (cavity) pixels in the mouth box. */
export function darkMouthPixels(identity: Identity, frame: Uint8Array, size: number, below = 80): number {
  const { x0, x1, y0, y1 } = mouthBox(identity, size);
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const o = (y * size + x) * 4;
      if (0.299 * frame[o]! + 0.587 * frame[o + 1]! + 0.114 * frame[o + 2]! < below) count++;
    }
  }
  return count;
}

/** Pixels in the box around the lips whose colour differs from the reference frame by more than `threshold`. */
export function mouthDifference(
  identity: Identity,
  a: Uint8Array,
  b: Uint8Array,
  size: number,
  threshold = 60,
): number {
  const { x0, x1, y0, y1 } = mouthBox(identity, size);
  let count = 0;
  for (let y = y0; y <= y1; y++) {
    for (let x = x0; x <= x1; x++) {
      const o = (y * size + x) * 4;
      const d = Math.abs(a[o]! - b[o]!) + Math.abs(a[o + 1]! - b[o + 1]!) + Math.abs(a[o + 2]! - b[o + 2]!);
      if (d > threshold) count++;
    }
  }
  return count;
}
