import sharp from 'sharp';
import { type FrameParams, NEUTRAL_FRAME } from '../animation/frame-params.ts';
import { MOOD_EXPRESSIONS } from '../animation/idle-layer.ts';
import { MOUTH_TARGETS } from '../animation/visemes.ts';
import type { PortraitRenderer } from './renderer.ts';

export const EXPRESSIONS = ['neutral', 'smile', 'talking', 'surprised', 'thinking', 'concerned'] as const;
export type Expression = (typeof EXPRESSIONS)[number];

/** Still poses, drawn by the same renderer as the video frames: the same face in an image and in motion. */
export const EXPRESSION_FRAMES: Record<Expression, FrameParams> = {
  neutral: NEUTRAL_FRAME,
  smile: { ...NEUTRAL_FRAME, smile: 1, jawOpen: 0.06, teeth: 0.4 },
  talking: { ...NEUTRAL_FRAME, ...MOUTH_TARGETS.E, viseme: 'E' },
  // The moods' faces, exactly as the video blends them in.
  surprised: { ...NEUTRAL_FRAME, ...MOOD_EXPRESSIONS.surprised, jawOpen: 0.12, teeth: 0.3 },
  thinking: { ...NEUTRAL_FRAME, ...MOOD_EXPRESSIONS.thinking },
  concerned: { ...NEUTRAL_FRAME, ...MOOD_EXPRESSIONS.concerned },
};

export async function renderStill(renderer: PortraitRenderer, expression: Expression): Promise<Buffer> {
  const rgba = renderer.render(EXPRESSION_FRAMES[expression]);
  return sharp(rgba, { raw: { width: renderer.size, height: renderer.size, channels: 4 } })
    .removeAlpha()
    .png()
    .toBuffer();
}
