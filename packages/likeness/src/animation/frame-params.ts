import type { MouthShape, Viseme } from './visemes.ts';

/** Everything the renderer needs for one frame. Angles in degrees, offsets in portrait pixels. */
export interface FrameParams extends MouthShape {
  /** Dominant viseme at this time (for captions, contact sheets and 3D clients). */
  viseme: Viseme;
  /** Corners of the mouth up, 0..1 (mood). */
  smile: number;
  /** Eyelid closure, 0 open .. 1 closed. */
  blink: number;
  /** Gaze offset as a fraction of the eye width; 0, 0 is eye contact. */
  gazeX: number;
  gazeY: number;
  headYaw: number;
  headPitch: number;
  headRoll: number;
  /** Breathing phase as a vertical lift of head and shoulders, pixels. */
  breathLift: number;
}

export const NEUTRAL_FRAME: FrameParams = {
  viseme: 'sil',
  jawOpen: 0,
  lipWidth: 0,
  rounding: 0,
  lipClosure: 0,
  teeth: 0,
  smile: 0,
  blink: 0,
  gazeX: 0,
  gazeY: 0,
  headYaw: 0,
  headPitch: 0,
  headRoll: 0,
  breathLift: 0,
};
