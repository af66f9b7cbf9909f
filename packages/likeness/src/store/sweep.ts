import fs from 'node:fs/promises';
import path from 'node:path';
import type { Kysely } from 'kysely';
import type { Database } from './schema.ts';

/**
 * Run at start, before serving: removes what a crash (kill -9, power loss) can leave in the data directory.
 * - `tmp/`: MP4s being rendered, reference videos being analysed, spooled request bodies. Nothing there
 *   outlives the request that made it, so after a restart all of it is garbage.
 * - `*.tmp` files: half-written files (FileStore writes to a temporary name and renames into place).
 * - identity folders with no database row: files are written before the row, so a crash between the two
 *   leaves files nothing points at. (Registering the same image again would rebuild them.)
 * One server process owns a data directory; do not point two at the same one.
 */
export async function sweepDataDir(dataDir: string, db: Kysely<Database>): Promise<{ removed: string[] }> {
  const removed: string[] = [];
  const tmp = path.join(dataDir, 'tmp');
  for (const name of await fs.readdir(tmp).catch(() => [])) {
    await fs.rm(path.join(tmp, name), { recursive: true, force: true });
    removed.push(`tmp/${name}`);
  }
  const identitiesDir = path.join(dataDir, 'identities');
  const dirs = await fs.readdir(identitiesDir).catch(() => [] as string[]);
  if (dirs.length) {
    const known = new Set((await db.selectFrom('identities').select('id').execute()).map((r) => r.id));
    for (const id of dirs) {
      const dir = path.join(identitiesDir, id);
      if (!known.has(id)) {
        await fs.rm(dir, { recursive: true, force: true });
        removed.push(`identities/${id}/`);
        continue;
      }
      for (const name of await fs.readdir(dir).catch(() => [])) {
        if (!name.endsWith('.tmp')) continue;
        await fs.rm(path.join(dir, name), { force: true });
        removed.push(`identities/${id}/${name}`);
      }
    }
  }
  // Reply videos whose turn is gone (the character or the user's memory was deleted) or never got written.
  const messagesDir = path.join(dataDir, 'messages');
  const videos = await fs.readdir(messagesDir).catch(() => [] as string[]);
  if (videos.length) {
    const kept = new Set(
      (
        await db
          .selectFrom('conversation_turns')
          .select('video_file')
          .where('video_file', 'is not', null)
          .execute()
      ).map((r) => r.video_file),
    );
    for (const name of videos) {
      if (kept.has(`messages/${name}`)) continue;
      await fs.rm(path.join(messagesDir, name), { force: true });
      removed.push(`messages/${name}`);
    }
  }
  // Stored videos: files are moved into place before their row says ready, so a crash can leave a file whose
  // row still says rendering (marked failed at start: media/video-jobs.ts) or no row at all.
  const videosDir = path.join(dataDir, 'videos');
  const stored = await fs.readdir(videosDir).catch(() => [] as string[]);
  if (stored.length) {
    const ready = new Set(
      (await db.selectFrom('videos').select('file').where('status', '=', 'ready').execute()).map(
        (r) => r.file,
      ),
    );
    for (const name of stored) {
      if (ready.has(`videos/${name}`)) continue;
      await fs.rm(path.join(videosDir, name), { force: true });
      removed.push(`videos/${name}`);
    }
  }
  return { removed };
}
