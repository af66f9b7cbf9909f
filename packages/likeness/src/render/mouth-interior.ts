import type { MouthShape } from '../animation/visemes.ts';
import type { Rgb } from '../registration/identity.ts';
import type { MouthSample } from '../registration/mouth-samples.ts';

/** A lip line as points; any order (sorted by x on use). */
export interface LipLine {
  xs: Float32Array;
  ys: Float32Array;
}

const DEFAULT_TEETH: Rgb = [236, 231, 220];
const TONGUE: Rgb = [186, 92, 98];
const smooth = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x * x * (3 - 2 * x));
const mix = (a: number, b: number, t: number) => a + (b - a) * t;

/**
 * y of a smooth curve (Catmull-Rom through the points, taken in order of x) at x; NaN outside its span.
 * A polyline through eleven landmarks shows its corners at full size; the spline does not.
 */
export function curveY(line: LipLine, order: Uint8Array, x: number): number {
  const n = order.length;
  const X = (k: number) => line.xs[order[Math.min(n - 1, Math.max(0, k))]!]!;
  const Y = (k: number) => line.ys[order[Math.min(n - 1, Math.max(0, k))]!]!;
  if (x < X(0) || x > X(n - 1)) return Number.NaN;
  let k = 0;
  while (k < n - 2 && x > X(k + 1)) k++;
  const x0 = X(k);
  const x1 = X(k + 1);
  const t = x1 > x0 ? (x - x0) / (x1 - x0) : 0.5;
  const p0 = Y(k - 1);
  const p1 = Y(k);
  const p2 = Y(k + 1);
  const p3 = Y(k + 2);
  return (
    0.5 *
    (2 * p1 +
      (-p0 + p2) * t +
      (2 * p0 - 5 * p1 + 4 * p2 - p3) * t * t +
      (-p0 + 3 * p1 - 3 * p2 + p3) * t * t * t)
  );
}

/** y of the straight polyline through the points (in order of x) at x; NaN outside its span. */
function lineY(line: LipLine, order: Uint8Array, x: number): number {
  const n = order.length;
  const X = (k: number) => line.xs[order[k]!]!;
  if (x < X(0) || x > X(n - 1)) return Number.NaN;
  let k = 0;
  while (k < n - 2 && x > X(k + 1)) k++;
  const x0 = X(k);
  const x1 = X(k + 1);
  const y0 = line.ys[order[k]!]!;
  const y1 = line.ys[order[k + 1]!]!;
  return x1 > x0 ? y0 + ((x - x0) / (x1 - x0)) * (y1 - y0) : (y0 + y1) / 2;
}

function sortByX(line: LipLine, order: Uint8Array): void {
  for (let i = 0; i < order.length; i++) order[i] = i;
  order.sort((a, b) => line.xs[a]! - line.xs[b]!);
}

/**
 * The opening between posed inner lips, as both painters read it: the lines in order of x, their common span,
 * and per column the smooth curve widened to the mesh's own straight edges where they lie outside it, so the
 * hole the warp leaves between the lips is always covered (no stretched lip seam showing through).
 */
class Opening {
  private readonly upperOrder = new Uint8Array(32);
  private readonly lowerOrder = new Uint8Array(32);
  private uo = this.upperOrder;
  private lo = this.lowerOrder;
  private upper: LipLine = { xs: new Float32Array(0), ys: new Float32Array(0) };
  private lower: LipLine = this.upper;
  left = 0;
  right = 0;

  set(upper: LipLine, lower: LipLine): this {
    this.upper = upper;
    this.lower = lower;
    this.uo = this.upperOrder.subarray(0, upper.xs.length);
    this.lo = this.lowerOrder.subarray(0, lower.xs.length);
    sortByX(upper, this.uo);
    sortByX(lower, this.lo);
    this.left = Math.max(upper.xs[this.uo[0]!]!, lower.xs[this.lo[0]!]!);
    this.right = Math.min(upper.xs[this.uo[this.uo.length - 1]!]!, lower.xs[this.lo[this.lo.length - 1]!]!);
    return this;
  }

  top(x: number): number {
    return Math.min(curveY(this.upper, this.uo, x), lineY(this.upper, this.uo, x));
  }

  bottom(x: number): number {
    return Math.max(curveY(this.lower, this.lo, x), lineY(this.lower, this.lo, x));
  }

  /** The gap at x along the smooth curves (how open the mouth is there). */
  gap(x: number): number {
    return curveY(this.lower, this.lo, x) - curveY(this.upper, this.uo, x);
  }
}

/**
 * What shows between parted lips, drawn column by column with anti-aliased edges:
 * - the cavity, tinted from the lips' own colour (a drawing's red lips give a deep red mouth, not black),
 *   darkest at the back and towards the corners;
 * - upper teeth fixed to the skull: their biting edge stays where the upper lip rests, so the lip lifting
 *   off them uncovers more, and a dropping jaw never drags them down; shaded under the lip, darker towards
 *   the corners, with faint gaps between the front teeth;
 * - lower teeth riding on the lower lip (they move with the jaw);
 * - the tongue: a dome low in the mouth, its tip rising behind the upper teeth on L, N, T, D and between the
 *   teeth on TH;
 * - the upper lip's shadow along the top of the opening.
 */
export class MouthInterior {
  private readonly teeth: Rgb;
  private readonly tongue: Rgb;
  private readonly cavity: Rgb;
  private readonly opening = new Opening();

  constructor(palette: { lip: Rgb; cavity: Rgb; skin: Rgb; teeth?: Rgb | undefined }) {
    this.teeth = palette.teeth ?? (DEFAULT_TEETH.map((c, i) => mix(c, palette.skin[i]!, 0.08)) as Rgb);
    this.tongue = TONGUE.map((c, i) => mix(c, palette.lip[i]!, 0.25)) as Rgb;
    this.cavity = palette.cavity;
  }

  /**
   * Paints into `out` (RGBA, `size` wide) between the posed inner lip lines. `W` is the mouth's width at
   * rest and `lipLift` how far the upper lip was raised off the teeth this frame (pixels).
   */
  paint(
    out: Uint8Array,
    size: number,
    upper: LipLine,
    lower: LipLine,
    shape: MouthShape,
    W: number,
    lipLift: number,
  ): void {
    const opening = this.opening.set(upper, lower);
    const { left, right } = opening;
    const cx = (left + right) / 2;
    const halfSpan = Math.max(1, (right - left) / 2);
    const upperShow = W * (0.015 + 0.075 * shape.teeth);
    // The lower teeth show only on spread, teeth-forward sounds (E, I, S); the lower lip covers them otherwise.
    const lowerShow = W * 0.06 * Math.max(0, shape.teeth - 0.4);
    const toothGap = 0.09 * W;
    const { cavity, teeth, tongue } = this;
    for (let x = Math.max(0, Math.floor(left)); x <= Math.min(size - 1, Math.ceil(right)); x++) {
      const fx = x + 0.5;
      const top = opening.top(fx);
      const bottom = opening.bottom(fx);
      const h = bottom - top;
      if (!(h > 0.25)) continue;
      const across = Math.min(1, Math.abs(fx - cx) / halfSpan); // 0 centre .. 1 corner
      const round = 1 - across * across;
      // Upper teeth: the biting edge hangs from the skull's line (the lip's rest), not from the lip.
      const upperEdge = Math.min(
        top + 0.62 * h,
        top + (lipLift * round + upperShow) * Math.max(0, 1 - across ** 4),
      );
      const lowerEdge = Math.max(top + 0.6 * h, bottom - lowerShow * Math.max(0, 1 - across ** 3));
      const tongueTop =
        shape.tongue > 0.85
          ? Math.max(top + 0.35 * h, upperEdge - 1) + (h * across * across) / 1.5
          : bottom - h * (0.22 + 0.5 * shape.tongue) * (1 - 1.4 * across * across);
      const nearTooth = Math.abs(((fx - cx) / toothGap) % 1);
      const gap = Math.abs(fx - cx) > 0.5 && Math.min(nearTooth, 1 - nearTooth) * toothGap < 0.45 ? 0.86 : 1;
      const side = 1 - 0.4 * across * across;
      for (let y = Math.max(0, Math.floor(top)); y <= Math.min(size - 1, Math.ceil(bottom)); y++) {
        const fy = y + 0.5;
        const coverage = Math.min(1, fy - top + 0.5, bottom - fy + 0.5);
        if (coverage <= 0) continue;
        // Cavity: lit near the lips, darkest at the back.
        const edge = Math.min(1, Math.max(0, Math.min(fy - top, bottom - fy)) / Math.max(1, h / 2));
        const dark = (1 - 0.55 * Math.sqrt(edge)) * side;
        let r = cavity[0] * dark;
        let g = cavity[1] * dark;
        let b = cavity[2] * dark;
        // Tongue.
        const inTongue = Math.min(1, fy - tongueTop + 0.5);
        if (inTongue > 0 && across < 0.85) {
          const lit = (0.62 + 0.38 * smooth((fy - tongueTop) / Math.max(1, 0.4 * h))) * side;
          const a = inTongue * smooth((0.85 - across) / 0.15);
          r = mix(r, tongue[0] * lit, a);
          g = mix(g, tongue[1] * lit, a);
          b = mix(b, tongue[2] * lit, a);
        }
        // Lower teeth (behind a tongue tip between the teeth).
        const inLower = Math.min(1, fy - lowerEdge + 0.5);
        if (inLower > 0 && lowerShow > 0.3 && !(shape.tongue > 0.85 && fy > tongueTop)) {
          const lit = 0.8 * side * gap;
          r = mix(r, teeth[0] * lit, inLower);
          g = mix(g, teeth[1] * lit, inLower);
          b = mix(b, teeth[2] * lit, inLower);
        }
        // Upper teeth: in the lip's shadow at the top, bright at the edge, soft-edged.
        const inUpper = Math.min(1, upperEdge - fy + 0.5);
        if (inUpper > 0) {
          const v = (fy - top) / Math.max(1, upperEdge - top);
          const lit = (0.7 + 0.3 * smooth(v * 1.8)) * side * gap;
          r = mix(r, teeth[0] * lit, inUpper);
          g = mix(g, teeth[1] * lit, inUpper);
          b = mix(b, teeth[2] * lit, inUpper);
        }
        // The upper lip's shadow.
        const shadow = fy - top < 1.8 ? 0.72 + 0.28 * ((fy - top) / 1.8) : 1;
        const o = (y * size + x) * 4;
        out[o] = mix(out[o]!, r * shadow, coverage);
        out[o + 1] = mix(out[o + 1]!, g * shadow, coverage);
        out[o + 2] = mix(out[o + 2]!, b * shadow, coverage);
      }
    }
  }
}

interface DecodedSample {
  opening: number;
  box: { x: number; y: number; width: number; height: number };
  upper: LipLine;
  lower: LipLine;
  upperOrder: Uint8Array;
  lowerOrder: Uint8Array;
  left: number;
  right: number;
  rgb: Uint8Array;
}

/**
 * The opening filled from real mouths (harvested from the character's reference video): the sample nearest
 * in opening is stretched from its own inner-lip lines onto the posed ones, column by column, so its teeth
 * and tongue sit where the lips part now. Anti-aliased at the lips like the painted interior.
 */
export class SampledMouth {
  private constructor(private readonly samples: DecodedSample[]) {}

  /** From the identity's samples (in its coordinates) at a render scale; undefined when there are none. */
  static from(samples: MouthSample[] | undefined, scale: number): SampledMouth | undefined {
    if (!samples?.length) return undefined;
    const line = (points: [number, number][]): LipLine => ({
      xs: Float32Array.from(points, (p) => p[0] * scale),
      ys: Float32Array.from(points, (p) => p[1] * scale),
    });
    return new SampledMouth(
      samples.map((s) => {
        const upper = line(s.upper);
        const lower = line(s.lower);
        const upperOrder = new Uint8Array(s.upper.length);
        const lowerOrder = new Uint8Array(s.lower.length);
        sortByX(upper, upperOrder);
        sortByX(lower, lowerOrder);
        return {
          opening: s.opening,
          box: { x: s.box.x * scale, y: s.box.y * scale, width: s.box.width, height: s.box.height },
          upper,
          lower,
          upperOrder,
          lowerOrder,
          left: Math.max(Math.min(...upper.xs), Math.min(...lower.xs)),
          right: Math.min(Math.max(...upper.xs), Math.max(...lower.xs)),
          rgb: new Uint8Array(Buffer.from(s.rgb, 'base64')),
        };
      }),
    );
  }

  private readonly lips = new Opening();

  /** Paints the opening; false when the lips are (nearly) closed and nothing was drawn. */
  paint(out: Uint8Array, size: number, upper: LipLine, lower: LipLine, W: number, scale: number): boolean {
    const lips = this.lips.set(upper, lower);
    const { left, right } = lips;
    const opening = lips.gap((left + right) / 2) / W;
    if (!(opening > 0.04)) return false;
    let s = this.samples[0]!;
    for (const c of this.samples)
      if (Math.abs(Math.log(c.opening / opening)) < Math.abs(Math.log(s.opening / opening))) s = c;
    // The crop was cut at the identity's size: read it at this render's scale.
    const bw = s.box.width;
    const bh = s.box.height;
    for (let x = Math.max(0, Math.floor(left)); x <= Math.min(size - 1, Math.ceil(right)); x++) {
      const fx = x + 0.5;
      const top = lips.top(fx);
      const bottom = lips.bottom(fx);
      const h = bottom - top;
      if (!(h > 0.25)) continue;
      const sx = s.left + ((fx - left) / Math.max(1, right - left)) * (s.right - s.left);
      const sTop = curveY(s.upper, s.upperOrder, sx);
      const sBottom = curveY(s.lower, s.lowerOrder, sx);
      if (!(sBottom > sTop)) continue;
      const px = Math.min(bw - 1.001, Math.max(0, (sx - s.box.x) / scale - 0.5));
      const ix = Math.floor(px);
      const ax = px - ix;
      for (let y = Math.max(0, Math.floor(top)); y <= Math.min(size - 1, Math.ceil(bottom)); y++) {
        const fy = y + 0.5;
        const coverage = Math.min(1, fy - top + 0.5, bottom - fy + 0.5);
        if (coverage <= 0) continue;
        const v = Math.min(1, Math.max(0, (fy - top) / h));
        const py = Math.min(bh - 1.001, Math.max(0, (sTop + v * (sBottom - sTop) - s.box.y) / scale - 0.5));
        const iy = Math.floor(py);
        const ay = py - iy;
        const i00 = (iy * bw + ix) * 3;
        const i01 = i00 + bw * 3;
        const o = (y * size + x) * 4;
        for (let c = 0; c < 3; c++) {
          const a = s.rgb[i00 + c]! + (s.rgb[i00 + 3 + c]! - s.rgb[i00 + c]!) * ax;
          const b = s.rgb[i01 + c]! + (s.rgb[i01 + 3 + c]! - s.rgb[i01 + c]!) * ax;
          out[o + c] = mix(out[o + c]!, a + (b - a) * ay, coverage);
        }
      }
    }
    return true;
  }
}
