import type { FrameParams } from './frame-params.ts';

/**
 * The 52 ARKit face blendshapes, in Apple's order: the rig that three.js (morph targets), Unity, Unreal
 * (Live Link Face), VRM/ReadyPlayerMe avatars and most 3D face tools accept. Names are exactly Apple's.
 */
export const ARKIT_BLENDSHAPES = [
  'eyeBlinkLeft',
  'eyeLookDownLeft',
  'eyeLookInLeft',
  'eyeLookOutLeft',
  'eyeLookUpLeft',
  'eyeSquintLeft',
  'eyeWideLeft',
  'eyeBlinkRight',
  'eyeLookDownRight',
  'eyeLookInRight',
  'eyeLookOutRight',
  'eyeLookUpRight',
  'eyeSquintRight',
  'eyeWideRight',
  'jawForward',
  'jawLeft',
  'jawRight',
  'jawOpen',
  'mouthClose',
  'mouthFunnel',
  'mouthPucker',
  'mouthLeft',
  'mouthRight',
  'mouthSmileLeft',
  'mouthSmileRight',
  'mouthFrownLeft',
  'mouthFrownRight',
  'mouthDimpleLeft',
  'mouthDimpleRight',
  'mouthStretchLeft',
  'mouthStretchRight',
  'mouthRollLower',
  'mouthRollUpper',
  'mouthShrugLower',
  'mouthShrugUpper',
  'mouthPressLeft',
  'mouthPressRight',
  'mouthLowerDownLeft',
  'mouthLowerDownRight',
  'mouthUpperUpLeft',
  'mouthUpperUpRight',
  'browDownLeft',
  'browDownRight',
  'browInnerUp',
  'browOuterUpLeft',
  'browOuterUpRight',
  'cheekPuff',
  'cheekSquintLeft',
  'cheekSquintRight',
  'noseSneerLeft',
  'noseSneerRight',
  'tongueOut',
] as const;
export type ArkitBlendshape = (typeof ARKIT_BLENDSHAPES)[number];

const INDEX = Object.fromEntries(ARKIT_BLENDSHAPES.map((name, i) => [name, i])) as Record<
  ArkitBlendshape,
  number
>;

const clamp01 = (x: number) => (x <= 0 ? 0 : x >= 1 ? 1 : x);
/** Three decimals: plenty for a rig, and a third of the JSON of full doubles. */
const round3 = (x: number) => Math.round(x * 1000) / 1000;

/**
 * One frame of the 2D renderer's parameters as ARKit weights (0..1), so a 3D client moves its face exactly
 * as the rendered video does. The mouth comes from the same mouth track (jawOpen is the same number the
 * renderer opens the jaw by), eyes from blinks and gaze, the smile from the mood. Gaze is a fraction of the
 * eye's width (±0.08 at most): scaled so a full saccade reads as a third of ARKit's look range.
 */
export function arkitWeights(p: FrameParams): number[] {
  const w = new Array<number>(ARKIT_BLENDSHAPES.length).fill(0);
  const set = (name: ArkitBlendshape, value: number) => {
    w[INDEX[name]] = round3(clamp01(value));
  };
  set('jawOpen', p.jawOpen);
  // ARKit's mouthClose is the lips held together *against* an open jaw; on P/B/M the jaw is nearly shut, so
  // the lips' closure shows as a press instead, with mouthClose covering what jaw opening there is.
  set('mouthClose', p.lipClosure * p.jawOpen);
  set('mouthPressLeft', p.lipClosure * 0.6);
  set('mouthPressRight', p.lipClosure * 0.6);
  set('mouthFunnel', p.rounding * 0.8 * Math.min(1, p.jawOpen * 2.5));
  set('mouthPucker', p.rounding * (1 - Math.min(1, p.jawOpen * 1.5)) + Math.max(0, -p.lipWidth) * 0.4);
  set('mouthStretchLeft', Math.max(0, p.lipWidth) * 0.7);
  set('mouthStretchRight', Math.max(0, p.lipWidth) * 0.7);
  // Teeth show when the upper lip lifts and the lower lip drops away from them.
  set('mouthUpperUpLeft', p.teeth * 0.3 * (1 - p.lipClosure));
  set('mouthUpperUpRight', p.teeth * 0.3 * (1 - p.lipClosure));
  set('mouthLowerDownLeft', p.teeth * 0.4 * p.jawOpen * 2);
  set('mouthLowerDownRight', p.teeth * 0.4 * p.jawOpen * 2);
  // Only the tip between the teeth (TH) is tongue out; L and N raise it behind the teeth.
  set('tongueOut', Math.max(0, p.tongue - 0.8) * 5 * Math.min(1, p.jawOpen * 5));
  set('mouthSmileLeft', p.smile);
  set('mouthSmileRight', p.smile);
  // A negative smile is the corners turned down (concern).
  set('mouthFrownLeft', -p.smile);
  set('mouthFrownRight', -p.smile);
  set('browInnerUp', Math.max(0, p.browRaise) * 0.6 + p.browInner);
  set('browOuterUpLeft', Math.max(0, p.browRaise));
  set('browOuterUpRight', Math.max(0, p.browRaise));
  set('browDownLeft', Math.max(0, -p.browRaise) * 2);
  set('browDownRight', Math.max(0, -p.browRaise) * 2);
  set('cheekSquintLeft', p.smile * 0.4);
  set('cheekSquintRight', p.smile * 0.4);
  set('eyeBlinkLeft', p.blink);
  set('eyeBlinkRight', p.blink);
  // Gaze is in image space (the renderer's): +x moves the irises to the image's right, which is the
  // character's left; +y moves them down.
  const look = (g: number) => clamp01(Math.abs(g) / 0.24);
  if (p.gazeX > 0) {
    set('eyeLookOutLeft', look(p.gazeX));
    set('eyeLookInRight', look(p.gazeX));
  } else {
    set('eyeLookInLeft', look(p.gazeX));
    set('eyeLookOutRight', look(p.gazeX));
  }
  set(p.gazeY > 0 ? 'eyeLookDownLeft' : 'eyeLookUpLeft', look(p.gazeY));
  set(p.gazeY > 0 ? 'eyeLookDownRight' : 'eyeLookUpRight', look(p.gazeY));
  return w;
}

/** Head rotation in degrees (yaw, pitch, roll): not a blendshape, so it travels beside them. */
export function headPose(p: FrameParams): [number, number, number] {
  return [
    Math.round(p.headYaw * 100) / 100,
    Math.round(p.headPitch * 100) / 100,
    Math.round(p.headRoll * 100) / 100,
  ];
}

/** One frame of a live session's animation, as streamed to clients that draw their own face. */
export interface AnimationFrame {
  /** Frame number since the session's clock started. */
  n: number;
  /** Session audio time of this frame, seconds: the audio sent with it starts here. */
  t: number;
  viseme: string;
  /** ARKit weights in ARKIT_BLENDSHAPES order. */
  weights: number[];
  /** Head rotation, degrees: yaw, pitch, roll. */
  head: [number, number, number];
}

export function animationFrame(n: number, t: number, p: FrameParams): AnimationFrame {
  return { n, t: Math.round(t * 1000) / 1000, viseme: p.viseme, weights: arkitWeights(p), head: headPose(p) };
}
