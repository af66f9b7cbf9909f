import type { FrameParams } from '../animation/frame-params.ts';
import {
  CHIN,
  FACE_OVAL,
  FOREHEAD_TOP,
  LIPS_LOWER_INNER,
  LIPS_LOWER_OUTER,
  LIPS_UPPER_INNER,
  LIPS_UPPER_OUTER,
  MOUTH_LEFT_CORNER,
  MOUTH_RIGHT_CORNER,
} from '../registration/face-topology.ts';
import type { Identity } from '../registration/identity.ts';

const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));
const DEG = Math.PI / 180;

/**
 * How much the ring around the face (hair, neck) follows head motion. Zero: the motion fades out between the
 * face's edge and the ring, and everything outside the ring is never re-warped (a 3-4x cheaper frame).
 */
const RING_FOLLOW = 0;

/**
 * Moves the mesh vertices for one frame: mouth shape (jaw, width, rounding, closure, smile) in the face's own
 * frame, then head rotation in 3D using the landmarks' depth, then breathing. Weights that depend only on the
 * identity are computed once here; per frame it is a few multiply-adds per vertex.
 */
export class FaceRig {
  readonly rest: Float32Array;
  readonly vertexCount: number;
  private readonly faceCount: number;
  private readonly ringEnd: number;
  private readonly depth: Float32Array;
  private readonly jawWeight: Float32Array;
  private readonly lipWeight: Float32Array;
  private readonly xRel: Float32Array;
  private readonly upperLipLift: Float32Array;
  private readonly innerPairs: [number, number][];
  private readonly outerFollow: [number, number, number][];
  readonly mouthWidth: number;
  readonly mouthCenter: [number, number];
  private readonly pivot: [number, number, number];
  private readonly meanDepth: number;
  /** True when the portrait's mouth is open at rest (teeth may already show). */
  readonly restMouthOpen: boolean;

  constructor(identity: Identity, scale: number) {
    const { mesh, landmarks } = identity;
    this.vertexCount = mesh.vertices.length;
    this.faceCount = mesh.faceVertexCount;
    this.ringEnd = mesh.faceVertexCount + mesh.ringVertexCount;
    this.rest = new Float32Array(this.vertexCount * 2);
    mesh.vertices.forEach(([x, y], i) => {
      this.rest[2 * i] = x * scale;
      this.rest[2 * i + 1] = y * scale;
    });
    this.depth = new Float32Array(this.faceCount);
    for (let i = 0; i < this.faceCount; i++) this.depth[i] = landmarks[i]![2] * scale;

    const at = (i: number): [number, number] => [this.rest[2 * i]!, this.rest[2 * i + 1]!];
    const [lx, ly] = at(MOUTH_LEFT_CORNER);
    const [rx, ry] = at(MOUTH_RIGHT_CORNER);
    this.mouthWidth = Math.hypot(rx - lx, ry - ly);
    const W = this.mouthWidth;
    const cornerY = (ly + ry) / 2;
    const cx = (lx + rx) / 2;
    const [, upperY] = at(13);
    const [, lowerY] = at(14);
    this.mouthCenter = [cx, (upperY + lowerY) / 2];
    this.restMouthOpen = lowerY - upperY > 0.06 * W;

    const oval = FACE_OVAL.map(at);
    const faceHalfWidth = (Math.max(...oval.map((p) => p[0])) - Math.min(...oval.map((p) => p[0]))) / 2;
    const faceCx = oval.reduce((s, p) => s + p[0], 0) / oval.length;
    const faceCy = oval.reduce((s, p) => s + p[1], 0) / oval.length;
    let meanZ = 0;
    for (let i = 0; i < this.faceCount; i++) meanZ += this.depth[i]!;
    meanZ /= this.faceCount;
    this.meanDepth = meanZ;
    // The head turns about a point behind the face (the neck's top), not about the nose.
    this.pivot = [faceCx, faceCy + 0.25 * faceHalfWidth, meanZ + 0.9 * faceHalfWidth];
    const chinY = at(CHIN)[1];
    const foreheadY = at(FOREHEAD_TOP)[1];

    const lowerLip = new Set([...LIPS_LOWER_INNER.slice(1, -1), ...LIPS_LOWER_OUTER.slice(0, -1)]);
    const corners = new Set([MOUTH_LEFT_CORNER, MOUTH_RIGHT_CORNER, 78, 308]);
    this.jawWeight = new Float32Array(this.vertexCount);
    this.lipWeight = new Float32Array(this.vertexCount);
    this.xRel = new Float32Array(this.vertexCount);
    this.upperLipLift = new Float32Array(this.vertexCount);
    for (let i = 0; i < this.ringEnd; i++) {
      const [x, y] = at(i);
      const ring = i >= this.faceCount;
      const hx = Math.abs(x - cx) / faceHalfWidth;
      const sideFalloff = 1 - smooth((hx - 0.5) / 0.6);
      let jaw = smooth((y - cornerY) / (0.18 * W));
      if (lowerLip.has(i)) jaw = 1;
      if (corners.has(i)) jaw = 0.45;
      // The jaw does not reach above the mouth corners, and the lower ring (neck) follows it only partly.
      this.jawWeight[i] = jaw * sideFalloff * (ring ? (y > chinY ? 0.5 : 0) : 1);
      const dx = (x - cx) / (0.5 * W);
      const dy = (y - this.mouthCenter[1]) / (0.5 * W);
      const dist = Math.hypot(dx * 0.8, dy);
      this.lipWeight[i] = ring ? 0 : 1 - smooth((dist - 0.9) / 0.9);
      this.xRel[i] = Math.max(-1.3, Math.min(1.3, dx));
      this.upperLipLift[i] =
        !ring && y < this.mouthCenter[1] && y > foreheadY
          ? this.lipWeight[i]! * smooth(1 - (this.mouthCenter[1] - y) / (0.5 * W))
          : 0;
    }
    // Inner lip pairs (upper k, lower k), corners excluded: they meet when the lips close.
    this.innerPairs = LIPS_UPPER_INNER.slice(1, -1).map((u, k) => [u, LIPS_LOWER_INNER[k + 1]!]);
    // Outer lip points follow their nearest inner point when the lips close, keeping the lips' thickness.
    const inner = [...LIPS_UPPER_INNER.slice(1, -1), ...LIPS_LOWER_INNER.slice(1, -1)];
    this.outerFollow = [...LIPS_UPPER_OUTER.slice(1, -1), ...LIPS_LOWER_OUTER.slice(1, -1)].map((o) => {
      const [ox, oy] = at(o);
      let best = inner[0]!;
      let bestD = Number.POSITIVE_INFINITY;
      for (const n of inner) {
        const [nx, ny] = at(n);
        const d = Math.hypot(nx - ox, ny - oy);
        if (d < bestD) {
          bestD = d;
          best = n;
        }
      }
      return [o, best, 0.6];
    });
  }

  /** Writes the frame's vertex positions into `out` (length 2 x vertexCount). */
  pose(p: FrameParams, out: Float32Array): void {
    const W = this.mouthWidth;
    out.set(this.rest);
    const jawDrop = p.jawOpen * 0.42 * W;
    const widthPush = p.lipWidth * 0.1 * W - p.rounding * 0.16 * W + p.smile * 0.05 * W;
    const smileLift = p.smile * 0.07 * W;
    const pucker = p.rounding * 0.03 * W;
    for (let i = 0; i < this.ringEnd; i++) {
      const jw = this.jawWeight[i]!;
      const lw = this.lipWeight[i]!;
      const xr = this.xRel[i]!;
      let dx = lw * widthPush * xr;
      let dy =
        jw * jawDrop - this.upperLipLift[i]! * (p.jawOpen * 0.07 * W + pucker) - lw * smileLift * xr * xr;
      if (jw > 0.9 && lw > 0.5) dy += pucker * lw;
      if (i >= this.faceCount) {
        dx *= 0.5;
        dy *= 0.5;
      }
      out[2 * i] = out[2 * i]! + dx;
      out[2 * i + 1] = out[2 * i + 1]! + dy;
    }
    if (p.lipClosure > 0) {
      const moved = new Map<number, [number, number]>();
      for (const [u, l] of this.innerPairs) {
        const mx = (out[2 * u]! + out[2 * l]!) / 2;
        const my = (out[2 * u + 1]! + out[2 * l + 1]!) / 2;
        for (const v of [u, l]) {
          const ddx = (mx - out[2 * v]!) * p.lipClosure;
          const ddy = (my - out[2 * v + 1]!) * p.lipClosure;
          moved.set(v, [ddx, ddy]);
          out[2 * v] = out[2 * v]! + ddx;
          out[2 * v + 1] = out[2 * v + 1]! + ddy;
        }
      }
      for (const [o, n, k] of this.outerFollow) {
        const d = moved.get(n);
        if (!d) continue;
        out[2 * o] = out[2 * o]! + d[0] * k;
        out[2 * o + 1] = out[2 * o + 1]! + d[1] * k;
      }
    }
    this.rotateHead(p, out);
  }

  private rotateHead(p: FrameParams, out: Float32Array): void {
    const yaw = p.headYaw * DEG;
    const pitch = p.headPitch * DEG;
    const roll = p.headRoll * DEG;
    const cy = Math.cos(yaw);
    const sy = Math.sin(yaw);
    const cp = Math.cos(pitch);
    const sp = Math.sin(pitch);
    const cr = Math.cos(roll);
    const sr = Math.sin(roll);
    // R = Rz(roll) * Ry(yaw) * Rx(pitch); only the x and y rows are needed (orthographic projection).
    const r00 = cr * cy;
    const r01 = cr * sy * sp - sr * cp;
    const r02 = cr * sy * cp + sr * sp;
    const r10 = sr * cy;
    const r11 = sr * sy * sp + cr * cp;
    const r12 = sr * sy * cp - cr * sp;
    const [px, py, pz] = this.pivot;
    const lift = p.breathLift * this.mouthWidth * 0.03;
    const ringZ = this.meanDepth - pz;
    for (let i = 0; i < this.ringEnd; i++) {
      const ox = out[2 * i]!;
      const oy = out[2 * i + 1]!;
      const face = i < this.faceCount;
      const x = ox - px;
      const y = oy - py;
      // Ring points have no depth of their own: they turn as if on the face's mean surface.
      const z = face ? this.depth[i]! - pz : ringZ;
      const nx = r00 * x + r01 * y + r02 * z + px;
      const ny = r10 * x + r11 * y + r12 * z + py;
      const follow = face ? 1 : RING_FOLLOW;
      out[2 * i] = ox + (nx - ox) * follow;
      out[2 * i + 1] = oy + (ny - oy) * follow - lift * follow;
    }
  }
}
