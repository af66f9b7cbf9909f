/**
 * Small pixel-region tools shared by the lip and eye fits, which both turn a colour region of the portrait
 * into lip or lid lines: a clamped window around a feature, connected pieces of a mask, and a region's
 * column profile.
 */

/** A window of the image around (cx, cy), clamped to the image: its origin and size. */
export function clampedWindow(
  image: { width: number; height: number },
  cx: number,
  cy: number,
  reach: { left: number; right: number; up: number; down: number },
): { x0: number; y0: number; w: number; h: number } {
  const x0 = Math.max(0, Math.floor(cx - reach.left));
  const x1 = Math.min(image.width - 1, Math.ceil(cx + reach.right));
  const y0 = Math.max(0, Math.floor(cy - reach.up));
  const y1 = Math.min(image.height - 1, Math.ceil(cy + reach.down));
  return { x0, y0, w: x1 - x0 + 1, h: y1 - y0 + 1 };
}

export interface Piece {
  /** Bounding box, inclusive, in window pixels. */
  x0: number;
  x1: number;
  y0: number;
  y1: number;
  count: number;
  /** Touches the window's border. */
  edge: boolean;
}

/** The 4-connected pieces of a mask: a label per pixel (-1 outside the mask) and each piece's extent. */
export function labelPieces(mask: Uint8Array, w: number, h: number): { label: Int32Array; pieces: Piece[] } {
  const label = new Int32Array(w * h).fill(-1);
  const pieces: Piece[] = [];
  const stack: number[] = [];
  let id = 0;
  const visit = (j: number) => {
    if (mask[j] && label[j]! < 0) {
      label[j] = id;
      stack.push(j);
    }
  };
  for (let start = 0; start < w * h; start++) {
    if (!mask[start] || label[start]! >= 0) continue;
    const piece = { x0: w, x1: -1, y0: h, y1: -1, count: 0, edge: false };
    id = pieces.length;
    visit(start);
    while (stack.length) {
      const i = stack.pop()!;
      const x = i % w;
      const y = (i - x) / w;
      piece.count++;
      piece.x0 = Math.min(piece.x0, x);
      piece.x1 = Math.max(piece.x1, x);
      piece.y0 = Math.min(piece.y0, y);
      piece.y1 = Math.max(piece.y1, y);
      if (x === 0 || y === 0 || x === w - 1 || y === h - 1) piece.edge = true;
      if (x > 0) visit(i - 1);
      if (x < w - 1) visit(i + 1);
      if (y > 0) visit(i - w);
      if (y < h - 1) visit(i + w);
    }
    pieces.push(piece);
  }
  return { label, pieces };
}

/** A mask of the pixels whose label is in `members`, and how many there are. */
export function regionOf(
  label: Int32Array,
  members: ReadonlySet<number>,
): { region: Uint8Array; count: number } {
  const region = new Uint8Array(label.length);
  let count = 0;
  for (let i = 0; i < label.length; i++) {
    if (label[i]! >= 0 && members.has(label[i]!)) {
      region[i] = 1;
      count++;
    }
  }
  return { region, count };
}

/**
 * A pixel region's column profile: per column its first and last row (NaN where the column is empty), and
 * the first and last non-empty columns. `bottom` is the last row itself, or one past it with `pastEnd`.
 */
export function columnProfile(
  region: Uint8Array,
  w: number,
  h: number,
  pastEnd = false,
): { top: Float32Array; bottom: Float32Array; left: number; right: number } {
  const top = new Float32Array(w).fill(Number.NaN);
  const bottom = new Float32Array(w).fill(Number.NaN);
  let left = w;
  let right = -1;
  for (let x = 0; x < w; x++) {
    for (let y = 0; y < h; y++) {
      if (!region[y * w + x]) continue;
      if (Number.isNaN(top[x]!)) top[x] = y;
      bottom[x] = pastEnd ? y + 1 : y;
    }
    if (!Number.isNaN(top[x]!)) {
      left = Math.min(left, x);
      right = Math.max(right, x);
    }
  }
  return { top, bottom, left, right };
}
