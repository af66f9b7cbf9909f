import { randomBytes } from 'node:crypto';
import fs from 'node:fs/promises';
import path from 'node:path';

/**
 * Files under the data directory. Writes go to a temporary name and are renamed into place, so a crash
 * never leaves a half-written file under its real name.
 */
export class FileStore {
  constructor(readonly root: string) {}

  resolve(...parts: string[]): string {
    const full = path.resolve(this.root, ...parts);
    if (!full.startsWith(path.resolve(this.root) + path.sep))
      throw new Error(`path escapes the data dir: ${full}`);
    return full;
  }

  async write(relative: string, data: Uint8Array | string): Promise<void> {
    const target = this.resolve(relative);
    await fs.mkdir(path.dirname(target), { recursive: true });
    const tmp = `${target}.${randomBytes(4).toString('hex')}.tmp`;
    await fs.writeFile(tmp, data);
    await fs.rename(tmp, target);
  }

  async read(relative: string): Promise<Buffer> {
    return fs.readFile(this.resolve(relative));
  }

  async remove(relative: string): Promise<void> {
    await fs.rm(this.resolve(relative), { force: true });
  }

  async exists(relative: string): Promise<boolean> {
    try {
      await fs.access(this.resolve(relative));
      return true;
    } catch {
      return false;
    }
  }
}
