import type { Registrar } from '../registration/registrar.ts';
import { PortraitRenderer } from './renderer.ts';

/**
 * Renderers per (identity, size), kept warm: building one decodes the portrait and rigs the mesh (a few ms),
 * which should not happen on every request. Bounded, least recently used first out.
 */
export class RenderService {
  private readonly cache = new Map<string, Promise<PortraitRenderer>>();

  constructor(
    private readonly registrar: Registrar,
    private readonly capacity = 32,
  ) {}

  renderer(identityId: string, size: number): Promise<PortraitRenderer> {
    const key = `${identityId}@${size}`;
    let entry = this.cache.get(key);
    if (entry) {
      this.cache.delete(key);
      this.cache.set(key, entry);
      return entry;
    }
    entry = (async () => {
      const identity = await this.registrar.load(identityId);
      const png = await this.registrar.files.read(this.registrar.portraitFile(identityId));
      return PortraitRenderer.create(identity, png, size);
    })();
    entry.catch(() => this.cache.delete(key));
    this.cache.set(key, entry);
    while (this.cache.size > this.capacity) this.cache.delete(this.cache.keys().next().value!);
    return entry;
  }
}
