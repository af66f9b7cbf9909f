import type { FrameParams } from '../animation/frame-params.ts';
import {
  CHIN,
  FACE_OVAL,
  FOREHEAD_TOP,
  IMAGE_EYE_LINES,
  IMAGE_LEFT_BROW,
  IMAGE_LEFT_EYE,
  IMAGE_RIGHT_BROW,
  IMAGE_RIGHT_EYE,
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
  /** How much each vertex follows the brows (0..1), and how near the brow's inner end it is (0..1). */
  private readonly browWeight: Float32Array;
  private readonly browInnerness: Float32Array;
  /** +1 / -1: which way is towards the face's middle, per vertex (the inner ends draw together). */
  private readonly browSide: Float32Array;
  private readonly eyeWidth: number;
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
    // The jaw hinges below the lip seam (the upper inner lip line), not below the corners: on a mouth whose
    // corners turn down, the middle of the upper lip lies below them and must still stay with the skull.
    const seam = LIPS_UPPER_INNER.map(at).sort((a, b) => a[0] - b[0]);
    const seamY = (x: number) => {
      if (x <= seam[0]![0]) return Math.min(cornerY, seam[0]![1]);
      if (x >= seam[seam.length - 1]![0]) return Math.min(cornerY, seam[seam.length - 1]![1]);
      for (let k = 0; k < seam.length - 1; k++) {
        const [x0, y0] = seam[k]!;
        const [x1, y1] = seam[k + 1]!;
        if (x <= x1) return x1 === x0 ? y0 : y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
      }
      return cornerY;
    };
    const upperLip = new Set([...LIPS_UPPER_INNER.slice(1, -1), ...LIPS_UPPER_OUTER.slice(1, -1)]);
    for (let i = 0; i < this.ringEnd; i++) {
      const [x, y] = at(i);
      const ring = i >= this.faceCount;
      const hx = Math.abs(x - cx) / faceHalfWidth;
      const sideFalloff = 1 - smooth((hx - 0.5) / 0.6);
      let jaw = smooth((y - seamY(x)) / (0.18 * W));
      if (upperLip.has(i)) jaw = 0;
      // The lower lip drops most in the middle: the opening tapers to the corners like a lens, not a box.
      if (lowerLip.has(i)) jaw = 0.45 + 0.55 * (1 - Math.min(1, ((x - cx) / (0.5 * W)) ** 2));
      if (corners.has(i)) jaw = 0.3;
      // The jaw does not reach above the mouth corners, and the lower ring (neck) follows it only partly.
      this.jawWeight[i] = jaw * sideFalloff * (ring ? (y > chinY ? 0.5 : 0) : 1);
      const dx = (x - cx) / (0.5 * W);
      const dy = (y - this.mouthCenter[1]) / (0.5 * W);
      const dist = Math.hypot(dx * 0.8, dy);
      this.lipWeight[i] = ring ? 0 : 1 - smooth((dist - 0.9) / 0.9);
      this.xRel[i] = Math.max(-1.3, Math.min(1.3, dx));
      // Which lip a point belongs to decides, not its height: on a closed mouth the lower lip's inner line
      // can lie above the mouth's centre.
      this.upperLipLift[i] = upperLip.has(i)
        ? this.lipWeight[i]!
        : lowerLip.has(i)
          ? 0
          : !ring && y < this.mouthCenter[1] && y > foreheadY
            ? this.lipWeight[i]! * smooth(1 - (this.mouthCenter[1] - y) / (0.5 * W))
            : 0;
    }
    // Brows: a vertex follows the nearest brow point, fully on the brow and fading over about an eye's
    // width; the eyes' own contours stay put (lids are drawn from them).
    // The brows' scale is a fifth of the face's width (a typical eye's width), not the eye itself: a drawn
    // eye can be twice that (the eye fit follows the drawing), and the brows must not move twice as far.
    this.eyeWidth = Math.max(1, 0.4 * faceHalfWidth);
    const E = this.eyeWidth;
    const browPoints: { x: number; y: number; inner: number }[] = [];
    for (const brow of [IMAGE_LEFT_BROW, IMAGE_RIGHT_BROW]) {
      for (const line of [brow.lower, brow.upper]) {
        line.forEach((id, k) => {
          const [x, y] = at(id);
          browPoints.push({ x, y, inner: k / (line.length - 1) });
        });
      }
    }
    const eyePoints = new Set([...IMAGE_LEFT_EYE, ...IMAGE_RIGHT_EYE]);
    this.browWeight = new Float32Array(this.vertexCount);
    this.browInnerness = new Float32Array(this.vertexCount);
    this.browSide = new Float32Array(this.vertexCount);
    // The upper lid goes up a little with the brows (eyes widen in surprise): a drawn eye's outline and lashes
    // then travel with the lid instead of tearing between a still lid and a rising brow.
    const upperLids = new Set([
      ...IMAGE_EYE_LINES.left.upper.slice(1, -1),
      ...IMAGE_EYE_LINES.right.upper.slice(1, -1),
    ]);
    for (let i = 0; i < this.faceCount; i++) {
      if (eyePoints.has(i) && !upperLids.has(i)) continue;
      const [x, y] = at(i);
      let best = browPoints[0]!;
      let bestD = Number.POSITIVE_INFINITY;
      for (const b of browPoints) {
        const d = Math.hypot(b.x - x, b.y - y);
        if (d < bestD) {
          bestD = d;
          best = b;
        }
      }
      // Below the brow the weight falls faster (towards the eye) than above it (the forehead stretches).
      const reach = y > best.y ? 0.3 * E : 0.9 * E;
      this.browWeight[i] = upperLids.has(i) ? 0.3 : 1 - smooth((bestD - 0.12 * E) / reach);
      this.browInnerness[i] = best.inner;
      this.browSide[i] = x < faceCx ? 1 : -1;
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

  /** How far the middle of the upper lip is raised off the teeth in this frame, pixels (see pose). */
  lipLift(p: FrameParams): number {
    return p.jawOpen * 0.07 * this.mouthWidth + p.rounding * 0.03 * this.mouthWidth;
  }

  /** Writes the frame's vertex positions into `out` (length 2 x vertexCount). */
  pose(p: FrameParams, out: Float32Array): void {
    const W = this.mouthWidth;
    out.set(this.rest);
    // A mouth drawn open already shows its opening: speech moves the jaw less around it.
    const jawDrop = p.jawOpen * (this.restMouthOpen ? 0.24 : 0.38) * W;
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
    if (p.browRaise !== 0 || p.browInner !== 0) {
      const E = this.eyeWidth;
      for (let i = 0; i < this.faceCount; i++) {
        const w = this.browWeight[i]!;
        if (w <= 0) continue;
        const inner = this.browInnerness[i]!;
        // Raise lifts the whole brow (the outer end a little less); inner lifts and draws in the inner end.
        out[2 * i + 1] =
          out[2 * i + 1]! -
          w * E * (0.2 * p.browRaise * (0.75 + 0.25 * inner) + 0.16 * p.browInner * inner ** 1.5);
        out[2 * i] = out[2 * i]! + w * E * 0.06 * p.browInner * inner * this.browSide[i]!;
      }
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
