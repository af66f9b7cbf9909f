/**
 * RFC 9457 problem details. Every error the API returns is one of these types; the `type` URI is stable
 * and resolves to a page on the server itself (`GET /problems/{slug}`) that explains it.
 */
export const PROBLEM_TYPES = {
  'validation-error': { status: 400, title: 'The request is not valid' },
  unauthorized: { status: 401, title: 'Missing or invalid API key' },
  forbidden: { status: 403, title: 'This key may not do that' },
  'not-found': { status: 404, title: 'No such resource' },
  'session-not-live': { status: 409, title: 'The session has ended or expired' },
  'payload-too-large': { status: 413, title: 'The upload is larger than the limit' },
  'unsupported-media-type': { status: 415, title: 'That content type is not accepted here' },
  'not-an-image': { status: 422, title: 'The file is not an image' },
  'unsupported-image-format': { status: 422, title: 'The image format is not supported' },
  'corrupt-image': { status: 422, title: 'The image is truncated or corrupt' },
  'image-too-large': { status: 422, title: 'The image has too many pixels' },
  'no-face': { status: 422, title: 'No face was found' },
  'multiple-faces': { status: 422, title: 'More than one face was found' },
  'face-too-small': { status: 422, title: 'The face is too small' },
  'face-not-frontal': { status: 422, title: 'The face is turned too far from the camera' },
  'face-detection-failed': { status: 502, title: 'Face detection failed' },
  'unsupported-video-format': { status: 422, title: 'The video format is not supported' },
  'corrupt-video': { status: 422, title: 'The video cannot be decoded' },
  'video-too-long': { status: 422, title: 'The video is longer than the limit' },
  'too-many-sessions': { status: 429, title: 'Too many concurrent sessions' },
  'server-busy': { status: 429, title: 'The server is at capacity; retry later' },
  'text-too-long': { status: 422, title: 'The text is longer than the limit' },
  'unsupported-characters': { status: 422, title: 'The text has characters the voice cannot say' },
  'unknown-voice': { status: 422, title: 'No such voice' },
  'wrong-session-mode': { status: 409, title: 'The session is not in the mode this needs' },
  'usage-cap-exceeded': { status: 403, title: 'The media cap would be exceeded' },
  'quota-exceeded': { status: 402, title: 'The tenant’s monthly media minutes are used up' },
  'speech-failed': { status: 502, title: 'Speech synthesis failed' },
  'model-failed': { status: 502, title: 'The language model failed' },
  'model-unavailable': { status: 503, title: 'The language model is not available' },
  'turn-in-progress': { status: 409, title: 'The character is still answering the previous message' },
  'livekit-unavailable': { status: 503, title: 'The LiveKit server could not be joined' },
  'unsupported-audio': { status: 422, title: 'The audio cannot be decoded' },
  'audio-too-long': { status: 413, title: 'The audio is longer than the limit' },
  'no-speech': { status: 422, title: 'No speech was heard in the audio' },
  'recognition-failed': { status: 502, title: 'Speech recognition failed' },
  'recognizer-unavailable': { status: 503, title: 'Speech recognition is not available' },
  'invalid-webhook-url': { status: 422, title: 'The webhook URL cannot receive deliveries' },
  'video-not-ready': { status: 409, title: 'The video is not ready' },
  'encoding-failed': { status: 500, title: 'The video encoder failed' },
  'internal-error': { status: 500, title: 'Something went wrong on our side' },
} as const;

export type ProblemSlug = keyof typeof PROBLEM_TYPES;

export interface ProblemBody {
  type: string;
  title: string;
  status: number;
  detail: string;
  instance?: string;
  [extension: string]: unknown;
}

export function problemTypeUri(slug: ProblemSlug): string {
  return `/problems/${slug}`;
}

/**
 * Thrown anywhere in the server; the API layer turns it into a problem+json response. An extension
 * `retry_after_s` becomes a Retry-After header.
 */
export class Problem extends Error {
  readonly slug: ProblemSlug;
  readonly status: number;
  readonly extensions: Record<string, unknown>;

  constructor(slug: ProblemSlug, detail: string, extensions: Record<string, unknown> = {}) {
    super(detail);
    this.name = 'Problem';
    this.slug = slug;
    this.status = PROBLEM_TYPES[slug].status;
    this.extensions = extensions;
  }

  toBody(instance?: string): ProblemBody {
    return {
      ...this.extensions,
      type: problemTypeUri(this.slug),
      title: PROBLEM_TYPES[this.slug].title,
      status: this.status,
      detail: this.message,
      ...(instance ? { instance } : {}),
    };
  }
}
