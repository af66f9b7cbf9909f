import sharp from 'sharp';
import type { FrameParams } from '../animation/frame-params.ts';
import { IMAGE_EYE_LINES, LIPS_LOWER_INNER, LIPS_UPPER_INNER } from '../registration/face-topology.ts';
import type { Identity } from '../registration/identity.ts';
import { FaceRig } from './face-rig.ts';
import { MouthInterior, SampledMouth } from './mouth-interior.ts';
import { warpTriangles } from './warp.ts';

export const MIN_RENDER_SIZE = 256;
export const MAX_RENDER_SIZE = 1024;

const LASH: [number, number, number] = [48, 36, 36];

/** y of a polyline (sorted by x or not) at x, by linear interpolation between its points. */
function polyY(xs: Float32Array, ys: Float32Array, x: number): number {
  const n = xs.length;
  const increasing = xs[n - 1]! >= xs[0]!;
  for (let k = 0; k < n - 1; k++) {
    const x0 = xs[increasing ? k : n - 1 - k]!;
    const x1 = xs[increasing ? k + 1 : n - 2 - k]!;
    if (x >= Math.min(x0, x1) && x <= Math.max(x0, x1)) {
      const y0 = ys[increasing ? k : n - 1 - k]!;
      const y1 = ys[increasing ? k + 1 : n - 2 - k]!;
      return x1 === x0 ? (y0 + y1) / 2 : y0 + ((x - x0) / (x1 - x0)) * (y1 - y0);
    }
  }
  return Number.NaN;
}

function blend(out: Uint8Array, o: number, rgb: readonly number[], alpha: number) {
  if (alpha <= 0) return;
  const a = alpha >= 1 ? 1 : alpha;
  out[o] = out[o]! + (rgb[0]! - out[o]!) * a;
  out[o + 1] = out[o + 1]! + (rgb[1]! - out[o + 1]!) * a;
  out[o + 2] = out[o + 2]! + (rgb[2]! - out[o + 2]!) * a;
}

/**
 * Identity + frame parameters -> an RGBA frame. The portrait is warped through the identity's mesh (posed by
 * the FaceRig), then the mouth interior is drawn where the lips part and the eyelids over the eyes.
 * One instance per identity and size; `render` allocates nothing per frame but the Float32Array it reuses.
 */
export class PortraitRenderer {
  readonly size: number;
  private readonly rig: FaceRig;
  private readonly triangles: Uint32Array;
  private readonly posed: Float32Array;
  private readonly eyeCopy: Uint8Array;
  private readonly skin: [number, number, number];
  private readonly interior: MouthInterior;
  /** Real mouths from the reference video, when the character has them. */
  private readonly sampled: SampledMouth | undefined;
  /** The inner lip lines of the portrait at rest (for portraits whose mouth is open). */
  private readonly restMouth: {
    upper: { xs: Float32Array; ys: Float32Array };
    lower: { xs: Float32Array; ys: Float32Array };
    left: number;
    right: number;
    /** Share of the open-at-rest interior that hangs from the upper lip (the rest rises with the lower). */
    upperShare: number;
  };

  constructor(
    private readonly identity: Identity,
    /** The normalised portrait as RGBA at `size` x `size`. */
    private readonly portrait: Uint8Array,
    size: number,
  ) {
    if (portrait.length !== size * size * 4) throw new Error(`portrait must be ${size}x${size} RGBA`);
    this.size = size;
    this.rig = new FaceRig(identity, size / identity.size);
    this.triangles = Uint32Array.from(identity.mesh.triangles.flat());
    this.posed = new Float32Array(this.rig.vertexCount * 2);
    this.eyeCopy = new Uint8Array(portrait.length);
    this.skin = identity.palette.skin;
    this.interior = new MouthInterior({
      lip: identity.palette.lip,
      skin: identity.palette.skin,
      cavity: identity.palette.mouthCavity,
    });
    this.sampled = SampledMouth.from(identity.mouthSamples, size / identity.size);
    const restLine = (ids: number[]) => {
      const xs = new Float32Array(ids.length);
      const ys = new Float32Array(ids.length);
      ids.forEach((id, k) => {
        xs[k] = this.rig.rest[2 * id]!;
        ys[k] = this.rig.rest[2 * id + 1]!;
      });
      return { xs, ys };
    };
    const upper = restLine(LIPS_UPPER_INNER);
    const lower = restLine(LIPS_LOWER_INNER);
    const left = Math.min(upper.xs[0]!, upper.xs[upper.xs.length - 1]!);
    const right = Math.max(upper.xs[0]!, upper.xs[upper.xs.length - 1]!);
    // A smile that shows its teeth shows the upper teeth: they stay with the skull when the jaw drops, so most
    // of a bright interior hangs from the upper lip. A darker one (a drawn open mouth) splits in half.
    let lum = 0;
    let n = 0;
    for (let x = Math.ceil(left); x <= Math.floor(right); x++) {
      const t = polyY(upper.xs, upper.ys, x + 0.5);
      const b = polyY(lower.xs, lower.ys, x + 0.5);
      for (let y = Math.ceil(t); y < b; y++) {
        const o = (Math.min(size - 1, Math.max(0, y)) * size + Math.min(size - 1, Math.max(0, x))) * 4;
        lum += 0.299 * portrait[o]! + 0.587 * portrait[o + 1]! + 0.114 * portrait[o + 2]!;
        n++;
      }
    }
    this.restMouth = { upper, lower, left, right, upperShare: n && lum / n > 150 ? 0.75 : 0.5 };
  }

  /** The portrait as RGBA at this renderer's size (read only): a render thread builds its own renderer from it. */
  get portraitPixels(): Uint8Array {
    return this.portrait;
  }

  /** Decodes the identity's portrait PNG at the wanted size and builds a renderer. */
  static async create(
    identity: Identity,
    portraitPng: Uint8Array,
    size = identity.size,
  ): Promise<PortraitRenderer> {
    if (!Number.isInteger(size) || size < MIN_RENDER_SIZE || size > MAX_RENDER_SIZE) {
      throw new RangeError(`render size must be an integer from ${MIN_RENDER_SIZE} to ${MAX_RENDER_SIZE}`);
    }
    const rgba = await sharp(portraitPng).resize(size, size).ensureAlpha().raw().toBuffer();
    return new PortraitRenderer(
      identity,
      new Uint8Array(rgba.buffer, rgba.byteOffset, rgba.byteLength),
      size,
    );
  }

  render(params: FrameParams, out: Uint8Array = new Uint8Array(this.portrait.length)): Uint8Array {
    out.set(this.portrait);
    this.rig.pose(params, this.posed);
    warpTriangles(this.portrait, out, this.size, this.size, this.rig.rest, this.posed, this.triangles);
    this.drawMouth(params, out);
    this.drawEye('left', params, out);
    this.drawEye('right', params, out);
    return out;
  }

  /** Posed position of landmark i (mesh vertices 0..467 are the face landmarks). */
  private point(i: number): [number, number] {
    return [this.posed[2 * i]!, this.posed[2 * i + 1]!];
  }

  private polyline(ids: number[]): { xs: Float32Array; ys: Float32Array } {
    const xs = new Float32Array(ids.length);
    const ys = new Float32Array(ids.length);
    ids.forEach((id, k) => {
      [xs[k], ys[k]] = this.point(id);
    });
    return { xs, ys };
  }

  /**
   * The hole the mesh leaves between the inner lips. A portrait whose mouth is open at rest shows its own
   * interior (teeth it already has), the upper part hanging from the upper lip and the lower part rising
   * from the lower lip; every other portrait gets the painted interior (cavity, teeth, tongue).
   */
  private drawMouth(p: FrameParams, out: Uint8Array) {
    const upper = this.polyline(LIPS_UPPER_INNER);
    const lower = this.polyline(LIPS_LOWER_INNER);
    if (!this.rig.restMouthOpen) {
      const scale = this.size / this.identity.size;
      // Real mouths once the jaw moves; the lips' own gap at rest keeps the painted interior.
      if (p.jawOpen > 0.05 && this.sampled?.paint(out, this.size, upper, lower, this.rig.mouthWidth, scale))
        return;
      this.interior.paint(out, this.size, upper, lower, p, this.rig.mouthWidth, this.rig.lipLift(p));
      return;
    }
    const size = this.size;
    const left = Math.min(upper.xs[0]!, upper.xs[upper.xs.length - 1]!);
    const right = Math.max(upper.xs[0]!, upper.xs[upper.xs.length - 1]!);
    const own = this.restMouth;
    // What shows between the portrait's own top and bottom halves is the painted mouth (shaded cavity, tongue),
    // not a flat colour: a smile that shows its teeth opens into depth.
    this.interior.paint(out, size, upper, lower, { ...p, teeth: 0 }, this.rig.mouthWidth, 0);
    for (let x = Math.max(0, Math.floor(left)); x <= Math.min(size - 1, Math.ceil(right)); x++) {
      const fx = x + 0.5;
      const top = polyY(upper.xs, upper.ys, fx);
      const bottom = polyY(lower.xs, lower.ys, fx);
      if (!(bottom - top > 0.25)) continue;
      const h = bottom - top;
      const sx = own.left + ((fx - left) / Math.max(1, right - left)) * (own.right - own.left);
      const sTop = polyY(own.upper.xs, own.upper.ys, sx);
      const sBottom = polyY(own.lower.xs, own.lower.ys, sx);
      const sh = sBottom - sTop;
      for (let y = Math.max(0, Math.floor(top)); y <= Math.min(size - 1, Math.ceil(bottom)); y++) {
        const fy = y + 0.5;
        const coverage = Math.min(1, fy - top + 0.5, bottom - fy + 0.5);
        if (coverage <= 0) continue;
        const fromTop = fy - top;
        const fromBottom = bottom - fy;
        let sy = Number.NaN;
        // No wider than at rest: the portrait's own opening, squeezed; wider: its top part hangs from the
        // upper lip, its bottom part rises with the lower lip, and the cavity shows between.
        if (sh > 0 && h <= sh) sy = sTop + fromTop * (sh / h);
        else if (sh > 0 && fromTop <= sh * own.upperShare) sy = sTop + fromTop;
        else if (sh > 0 && fromBottom <= sh * (1 - own.upperShare)) sy = sBottom - fromBottom;
        if (Number.isNaN(sy)) continue;
        const o =
          (Math.min(size - 1, Math.max(0, Math.round(sy - 0.5))) * size +
            Math.min(size - 1, Math.max(0, Math.round(sx - 0.5)))) *
          4;
        blend(
          out,
          (y * size + x) * 4,
          [this.portrait[o]!, this.portrait[o + 1]!, this.portrait[o + 2]!],
          coverage,
        );
      }
    }
  }

  /**
   * Gaze: the eye's content shifts by gazeX/gazeY of the eye width, less towards the corners so the whites
   * stay put there. Blink: the upper lid comes down to the lower one, textured from the skin above the eye,
   * shaded towards its edge, with a soft lash line.
   */
  private drawEye(side: 'left' | 'right', p: FrameParams, out: Uint8Array) {
    const size = this.size;
    const upper = this.polyline(IMAGE_EYE_LINES[side].upper);
    const lower = this.polyline(IMAGE_EYE_LINES[side].lower);
    const x0 = Math.min(upper.xs[0]!, upper.xs[upper.xs.length - 1]!);
    const x1 = Math.max(upper.xs[0]!, upper.xs[upper.xs.length - 1]!);
    const eyeW = x1 - x0;
    if (eyeW < 2) return;
    const cx = (x0 + x1) / 2;
    const gazing = Math.abs(p.gazeX) + Math.abs(p.gazeY) > 1e-4;
    if (gazing) {
      // Copy the eye's bounding box first: the shift reads pixels it would otherwise overwrite.
      const top = Math.max(0, Math.floor(Math.min(...upper.ys)) - 2);
      const bottom = Math.min(size - 1, Math.ceil(Math.max(...lower.ys)) + 2);
      for (let y = top; y <= bottom; y++) {
        const row = y * size * 4;
        this.eyeCopy.set(
          out.subarray(
            row + Math.max(0, Math.floor(x0) - 2) * 4,
            row + Math.min(size, Math.ceil(x1) + 3) * 4,
          ),
          row + Math.max(0, Math.floor(x0) - 2) * 4,
        );
      }
    }
    for (let x = Math.max(0, Math.floor(x0)); x <= Math.min(size - 1, Math.ceil(x1)); x++) {
      const fx = x + 0.5;
      const top = polyY(upper.xs, upper.ys, fx);
      const bottom = polyY(lower.xs, lower.ys, fx);
      if (!(bottom - top > 0.2)) continue;
      const across = Math.abs(fx - cx) / (eyeW / 2);
      if (gazing) {
        const taper = Math.max(0, 1 - across * across);
        const shiftX = p.gazeX * eyeW * taper;
        const shiftY = p.gazeY * eyeW * taper;
        for (let y = Math.max(0, Math.floor(top)); y <= Math.min(size - 1, Math.ceil(bottom)); y++) {
          const fy = y + 0.5;
          const coverage = Math.min(1, fy - top, bottom - fy);
          if (coverage <= 0) continue;
          const sx = Math.min(size - 1, Math.max(0, Math.round(fx - shiftX - 0.5)));
          const sy = Math.min(Math.floor(bottom), Math.max(Math.ceil(top), Math.round(fy - shiftY - 0.5)));
          const s = (sy * size + sx) * 4;
          blend(
            out,
            (y * size + x) * 4,
            [this.eyeCopy[s]!, this.eyeCopy[s + 1]!, this.eyeCopy[s + 2]!],
            coverage,
          );
        }
      }
      if (p.blink > 0.02) {
        const h = bottom - top;
        const lid = top + h * Math.min(1, p.blink * 1.05);
        // The lid is the skin above the eye pulled down over it: each row of the lid takes the row that far
        // above the eye's upper edge (past its outline and lashes), three columns averaged so no streaks show.
        // Where that is brow, hair or a glasses frame (far from the skin colour), the skin colour stands in.
        const clear = Math.max(2, 0.3 * h);
        const x0c = Math.max(0, x - 1);
        const x1c = Math.min(size - 1, x + 1);
        for (let y = Math.max(0, Math.floor(top - 1)); y <= Math.min(size - 1, Math.ceil(lid + 1)); y++) {
          const fy = y + 0.5;
          const coverage = Math.min(1, lid - fy + 0.5, fy - top + 1);
          if (coverage <= 0) continue;
          const d = Math.max(0, lid - fy);
          const sy = Math.min(size - 1, Math.max(0, Math.round(top - clear - d * 0.7 - 0.5)));
          let r = 0;
          let g = 0;
          let b = 0;
          for (let sx = x0c; sx <= x1c; sx++) {
            const s = (sy * size + sx) * 4;
            r += out[s]!;
            g += out[s + 1]!;
            b += out[s + 2]!;
          }
          const n = x1c - x0c + 1;
          let skin = [r / n, g / n, b / n];
          const far =
            Math.abs(skin[0]! - this.skin[0]) +
              Math.abs(skin[1]! - this.skin[1]) +
              Math.abs(skin[2]! - this.skin[2]) >
            120;
          if (far) skin = this.skin;
          // The lid curves away from the viewer towards its edge: a little darker there.
          const shade = 0.9 + 0.1 * Math.min(1, d / Math.max(1, 0.5 * h));
          const o = (y * size + x) * 4;
          blend(out, o, [skin[0]! * shade, skin[1]! * shade, skin[2]! * shade], coverage);
          if (d < 1.4 && p.blink > 0.3) blend(out, o, LASH, 0.75 * (1 - d / 1.4) * coverage);
        }
      }
    }
  }

  get identityId(): string {
    return this.identity.id;
  }
}
