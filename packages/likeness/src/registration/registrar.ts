import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import type { Kysely } from 'kysely';
import sharp from 'sharp';
import type { Limits } from '../config.ts';
import { Problem } from '../errors.ts';
import type { FileStore } from '../store/files.ts';
import type { Database } from '../store/schema.ts';
import { decodeImage, type RgbImage } from './decode-image.ts';
import { type FaceRules, requireSingleUsableFace } from './face-checks.ts';
import type { DetectedFace, FaceDetector } from './face-detector.ts';
import { buildIdentity, type Identity, type IdleMotionProfile, identityId } from './identity.ts';
import type { MouthHarvest } from './mouth-samples.ts';
import { framingTransform, transformFace, warpSimilarity } from './normalize.ts';
import { analyseReferenceVideo, sniffVideoFormat } from './reference-video.ts';

export interface IdentitySummary {
  id: string;
  cached: boolean;
  landmark_count: number;
  face_box: { x: number; y: number; width: number; height: number };
}

export type RegistrationInput = { kind: 'image'; bytes: Uint8Array } | { kind: 'video'; bytes: Uint8Array };

/**
 * Stage 1: portrait (or reference clip) -> identity. Identities are content-addressed (image bytes +
 * pipeline version) and cached per tenant: the same bytes again skip detection entirely. The cache is
 * per tenant on purpose: a shared one would tell one tenant (by `cached` or by timing) what another uploaded.
 */
export class Registrar {
  private readonly memo = new Map<string, Identity>();

  constructor(
    private readonly deps: { db: Kysely<Database>; files: FileStore; detector: FaceDetector; limits: Limits },
  ) {}

  get files(): FileStore {
    return this.deps.files;
  }

  portraitFile(id: string): string {
    return `identities/${id}/portrait.png`;
  }

  /** `trusted` skips the face-quality rules (size, head turn): for curated content whatever the limits are set to. */
  async register(
    tenantId: string,
    input: RegistrationInput,
    opts: { trusted?: boolean } = {},
  ): Promise<IdentitySummary> {
    const id = identityId(input.bytes);
    const hit = await this.deps.db
      .selectFrom('identity_owners')
      .innerJoin('identities', 'identities.id', 'identity_owners.identity_id')
      .select(['identities.id', 'identities.landmark_count', 'identities.face_box'])
      .where('identity_owners.tenant_id', '=', tenantId)
      .where('identity_owners.identity_id', '=', id)
      .executeTakeFirst();
    if (hit && (await this.deps.files.exists(`identities/${id}/identity.json`))) {
      return { id, cached: true, landmark_count: hit.landmark_count, face_box: hit.face_box };
    }
    const rules = opts.trusted ? { minFacePixels: 1, maxHeadTurnDegrees: 90 } : this.deps.limits;
    const result =
      input.kind === 'image'
        ? await this.fromImage(id, input.bytes, rules)
        : await this.fromVideo(id, input.bytes, rules);
    await this.save(result, await encodePng(result.portrait));
    await this.own(tenantId, id);
    return {
      id,
      cached: false,
      landmark_count: result.identity.landmarks.length,
      face_box: result.identity.faceBox,
    };
  }

  /**
   * For content every tenant sees anyway (the default cast): reuse the identity if any tenant built it.
   * Never use this for uploads, or the cache would tell tenants about each other.
   */
  async registerShared(
    tenantId: string,
    input: RegistrationInput,
    opts: { trusted?: boolean } = {},
  ): Promise<IdentitySummary> {
    const id = identityId(input.bytes);
    const row = await this.deps.db
      .selectFrom('identities')
      .select(['landmark_count', 'face_box'])
      .where('id', '=', id)
      .executeTakeFirst();
    if (row && (await this.deps.files.exists(`identities/${id}/identity.json`))) {
      await this.own(tenantId, id);
      return { id, cached: true, landmark_count: row.landmark_count, face_box: row.face_box };
    }
    return this.register(tenantId, input, opts);
  }

  /** Records that a tenant may use an identity that already exists (the default cast). */
  async own(tenantId: string, identityIdValue: string): Promise<void> {
    await this.deps.db
      .insertInto('identity_owners')
      .values({ tenant_id: tenantId, identity_id: identityIdValue, created_at: new Date() })
      .onConflict((oc) => oc.doNothing())
      .execute();
  }

  async load(id: string): Promise<Identity> {
    const cached = this.memo.get(id);
    if (cached) return cached;
    const identity = JSON.parse(
      (await this.deps.files.read(`identities/${id}/identity.json`)).toString(),
    ) as Identity;
    this.memo.set(id, identity);
    return identity;
  }

  private normalise(
    id: string,
    image: RgbImage,
    face: DetectedFace,
    source: Identity['source'],
    idle?: IdleMotionProfile,
    mouths?: MouthHarvest,
  ) {
    return normaliseFace({
      id,
      image,
      face,
      source,
      size: this.deps.limits.portraitSize,
      ...(idle ? { idle } : {}),
      ...(mouths ? { mouths } : {}),
    });
  }

  private async fromImage(id: string, bytes: Uint8Array, rules: FaceRules) {
    if (bytes.length > this.deps.limits.maxImageBytes)
      throw tooLarge('image', bytes.length, this.deps.limits.maxImageBytes);
    const image = await decodeImage(bytes, { maxPixels: this.deps.limits.maxImagePixels });
    const face = requireSingleUsableFace(await this.deps.detector.detect(image), rules);
    return this.normalise(id, image, face, {
      kind: 'image',
      width: image.width,
      height: image.height,
      format: image.format,
    });
  }

  private async fromVideo(id: string, bytes: Uint8Array, rules: FaceRules) {
    if (bytes.length > this.deps.limits.maxVideoBytes)
      throw tooLarge('video', bytes.length, this.deps.limits.maxVideoBytes);
    const format = sniffVideoFormat(bytes);
    if (!format) {
      throw new Problem('unsupported-video-format', 'The reference video must be an MP4 or WebM file.');
    }
    // ffmpeg needs a seekable file for MP4s whose index sits at the end.
    const tmp = this.deps.files.resolve('tmp', `upload-${randomBytes(6).toString('hex')}.${format}`);
    await fs.mkdir(this.deps.files.resolve('tmp'), { recursive: true });
    await fs.writeFile(tmp, bytes);
    try {
      const clip = await analyseReferenceVideo({
        file: tmp,
        format,
        identityId: id,
        detector: this.deps.detector,
        rules,
        maxSeconds: this.deps.limits.maxVideoSeconds,
      });
      return this.normalise(
        id,
        clip.frame,
        clip.face,
        {
          kind: 'video',
          width: clip.source.width,
          height: clip.source.height,
          format,
          frameTimeS: clip.frameTimeS,
        },
        clip.idle,
        clip.mouths,
      );
    } finally {
      await fs.rm(tmp, { force: true });
    }
  }

  private async save(result: { identity: Identity }, png: Buffer): Promise<void> {
    const { identity } = result;
    // Files first, then the row: a row never points at missing files.
    await this.deps.files.write(this.portraitFile(identity.id), png);
    await this.deps.files.write(`identities/${identity.id}/identity.json`, JSON.stringify(identity));
    await this.deps.db
      .insertInto('identities')
      .values({
        id: identity.id,
        pipeline_version: identity.pipelineVersion,
        source_kind: identity.source.kind,
        landmark_count: identity.landmarks.length,
        face_box: JSON.stringify(identity.faceBox),
        created_at: new Date(),
      })
      .onConflict((oc) => oc.doNothing())
      .execute();
    this.memo.set(identity.id, identity);
  }
}

/** Frames the face and builds its identity: the shared tail of image and video registration. */
export function normaliseFace(args: {
  id: string;
  image: RgbImage;
  face: DetectedFace;
  source: Identity['source'];
  size: number;
  idle?: IdleMotionProfile;
  /** Open mouths harvested from a reference video: kept in the identity's coordinates. */
  mouths?: MouthHarvest;
}): { identity: Identity; portrait: RgbImage } {
  const t = framingTransform(args.face, args.size);
  const portrait = warpSimilarity(args.image, t, args.size);
  const face = transformFace(args.face, t);
  const mouthSamples = args.mouths?.samples(face, args.size);
  const identity = buildIdentity({
    id: args.id,
    portrait,
    face,
    source: args.source,
    ...(args.idle ? { idle: args.idle } : {}),
    ...(mouthSamples?.length ? { mouthSamples } : {}),
  });
  return { identity, portrait };
}

/** Stage 1 for a still image, without any store: used by the registrar and by the CLI. */
export async function identityFromImage(
  bytes: Uint8Array,
  limits: Pick<Limits, 'maxImageBytes' | 'maxImagePixels' | 'portraitSize'> & FaceRules,
  detector: FaceDetector,
  id = identityId(bytes),
): Promise<{ identity: Identity; portrait: RgbImage }> {
  if (bytes.length > limits.maxImageBytes) throw tooLarge('image', bytes.length, limits.maxImageBytes);
  const image = await decodeImage(bytes, { maxPixels: limits.maxImagePixels });
  const face = requireSingleUsableFace(await detector.detect(image), limits);
  return normaliseFace({
    id,
    image,
    face,
    source: { kind: 'image', width: image.width, height: image.height, format: image.format },
    size: limits.portraitSize,
  });
}

function tooLarge(what: string, size: number, limit: number): Problem {
  return new Problem('payload-too-large', `The ${what} is ${size} bytes; the limit is ${limit} bytes.`, {
    size_bytes: size,
    max_bytes: limit,
  });
}

export function encodePng(image: RgbImage): Promise<Buffer> {
  return sharp(image.data, { raw: { width: image.width, height: image.height, channels: 3 } })
    .png()
    .toBuffer();
}
