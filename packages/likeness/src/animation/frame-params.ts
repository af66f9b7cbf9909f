import type { IdleState } from './idle-layer.ts';
import type { MouthShape, Viseme } from './visemes.ts';

/** Everything the renderer needs for one frame: the mouth shape and the idle state (see IdleState). */
export interface FrameParams extends MouthShape, IdleState {
  /** Dominant viseme at this time (for captions, contact sheets and 3D clients). */
  viseme: Viseme;
}

export const NEUTRAL_FRAME: FrameParams = {
  viseme: 'sil',
  jawOpen: 0,
  lipWidth: 0,
  rounding: 0,
  lipClosure: 0,
  teeth: 0,
  tongue: 0,
  smile: 0,
  browRaise: 0,
  browInner: 0,
  blink: 0,
  gazeX: 0,
  gazeY: 0,
  headYaw: 0,
  headPitch: 0,
  headRoll: 0,
  breathLift: 0,
};
