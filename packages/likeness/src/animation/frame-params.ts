import type { IdleState } from './idle-layer.ts';
import { type MouthShape, REST_MOUTH, type Viseme } from './visemes.ts';

/** Everything the renderer needs for one frame: the mouth shape and the idle state (see IdleState). */
export interface FrameParams extends MouthShape, IdleState {
  /** Dominant viseme at this time (for captions, contact sheets and 3D clients). */
  viseme: Viseme;
}

export const NEUTRAL_FRAME: FrameParams = {
  viseme: 'sil',
  ...REST_MOUTH,
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
