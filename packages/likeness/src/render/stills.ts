import sharp from 'sharp';
import { type FrameParams, NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { MOUTH_TARGETS } from '../animation/visemes.ts';
import type { PortraitRenderer } from './renderer.ts';

export const EXPRESSIONS = ['neutral', 'smile', 'talking'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

/** Still poses, drawn by the same renderer as the video frames: the same face in an image and in motion. */
export const EXPRESSION_FRAMES: Record<Expression, FrameParams> = {
  neutral: NEUTRAL_FRAME,
  smile: { ...NEUTRAL_FRAME, smile: 1, jawOpen: 0.06, teeth: 0.4 },
  talking: { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.E, viseme: 'E' },
};

export async function renderStill(renderer: PortraitRenderer, expression: Expression): Promise<Buffer> {
  const rgba = renderer.render(EXPRESSION_FRAMES[expression]);
  return sharp(rgba, { raw: { width: renderer.size, height: renderer.size, channels: 4 } })
    .removeAlpha()
    .png()
    .toBuffer();
}
