import Delaunator from 'delaunator';
import { FACE_OVAL, MESH_POINTS, MOUTH_INNER } from './face-topology.ts';

export interface WarpMesh {
  /** [x, y] in the normalised frame: first the 468 face points, then the halo ring, then the frame border. */
  vertices: [number, number][];
  triangles: [number, number, number][];
  faceVertexCount: number;
  ringVertexCount: number;
  borderVertexCount: number;
}

const RING_POINTS = 24;
const RING_SCALE = 1.45;
const BORDER_STEPS = 8;

function inPolygon(x: number, y: number, poly: [number, number][]): boolean {
  let inside = false;
  for (let i = 0, j = poly.length - 1; i < poly.length; j = i++) {
    const [xi, yi] = poly[i]!;
    const [xj, yj] = poly[j]!;
    if (yi > y !== yj > y && x < ((xj - xi) * (y - yi)) / (yj - yi) + xi) inside = !inside;
  }
  return inside;
}

/**
 * A triangle mesh over the whole frame for piecewise-affine warping. Face points move with expression and
 * head pose; a ring around the face (hair, neck) moves with the head and lets the motion fade out; the
 * frame border stays fixed so the background never tears. Triangles that fill the mouth opening are removed:
 * the renderer draws the mouth interior there. The eyes keep their triangles; eyelids and gaze are drawn over them.
 */
export function buildWarpMesh(landmarks: [number, number, number][], size: number): WarpMesh {
  const face: [number, number][] = landmarks.slice(0, MESH_POINTS).map(([x, y]) => [x, y]);
  const oval = FACE_OVAL.map((i) => face[i]!);
  const cx = oval.reduce((s, p) => s + p[0], 0) / oval.length;
  const cy = oval.reduce((s, p) => s + p[1], 0) / oval.length;
  const ring: [number, number][] = [];
  for (let k = 0; k < RING_POINTS; k++) {
    // Sample the oval evenly by index and push each point outward from the centre.
    const p = oval[Math.floor((k * oval.length) / RING_POINTS)]!;
    const x = cx + (p[0] - cx) * RING_SCALE;
    const y = cy + (p[1] - cy) * RING_SCALE;
    ring.push([Math.min(size - 2, Math.max(1, x)), Math.min(size - 2, Math.max(1, y))]);
  }
  const border: [number, number][] = [];
  for (let k = 0; k < BORDER_STEPS; k++) {
    const s = (k * size) / BORDER_STEPS;
    border.push([s, 0], [size, s], [size - s, size], [0, size - s]);
  }
  const vertices = [...face, ...ring, ...border];
  const delaunay = Delaunator.from(vertices);
  const holes = [MOUTH_INNER].map((ids) => ({
    ids: new Set(ids),
    poly: ids.map((i) => face[i]!),
  }));
  const triangles: [number, number, number][] = [];
  for (let t = 0; t < delaunay.triangles.length; t += 3) {
    const a = delaunay.triangles[t]!;
    const b = delaunay.triangles[t + 1]!;
    const c = delaunay.triangles[t + 2]!;
    const mx = (vertices[a]![0] + vertices[b]![0] + vertices[c]![0]) / 3;
    const my = (vertices[a]![1] + vertices[b]![1] + vertices[c]![1]) / 3;
    const inHole = holes.some(
      (h) => h.ids.has(a) && h.ids.has(b) && h.ids.has(c) && inPolygon(mx, my, h.poly),
    );
    if (!inHole) triangles.push([a, b, c]);
  }
  return {
    vertices: vertices.map(([x, y]) => [round2(x), round2(y)]),
    triangles,
    faceVertexCount: face.length,
    ringVertexCount: ring.length,
    borderVertexCount: border.length,
  };
}

const round2 = (v: number) => Math.round(v * 100) / 100;
