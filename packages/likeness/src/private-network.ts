import { lookup } from 'node:dns/promises';
import net from 'node:net';

/**
 * Addresses a tenant must not make this server call (its own machine and network: metadata services, admin
 * ports), unless the operator allows them: loopback, private, link-local, carrier-grade NAT and unique-local
 * addresses, and names that stand for them. Used for every URL a tenant gives and the server fetches: a
 * character's model endpoint, a webhook, an MCP portrait.
 */
export function isPrivateHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h.endsWith('.localhost') || h.endsWith('.local') || h.endsWith('.internal'))
    return true;
  if (net.isIPv4(h)) {
    const [a, b] = h.split('.').map(Number) as [number, number];
    return (
      a === 10 ||
      a === 127 ||
      a === 0 ||
      (a === 169 && b === 254) ||
      (a === 172 && b >= 16 && b <= 31) ||
      (a === 192 && b === 168) ||
      (a === 100 && b >= 64 && b <= 127)
    );
  }
  if (net.isIPv6(h)) {
    if (h.startsWith('::ffff:') && net.isIPv4(h.slice(7))) return isPrivateHost(h.slice(7));
    return h === '::1' || h === '::' || h.startsWith('fc') || h.startsWith('fd') || h.startsWith('fe80');
  }
  return false;
}

/**
 * Resolves a host name (within `timeoutMs`) and says whether it exists and whether any of its addresses is
 * private: checking the name alone would let a public name that points inside through.
 */
export async function resolveHost(
  host: string,
  timeoutMs = 3000,
): Promise<{ resolves: boolean; private: boolean }> {
  const h = host.replace(/^\[|\]$/g, '');
  if (isPrivateHost(h)) return { resolves: true, private: true };
  let timer: NodeJS.Timeout | undefined;
  try {
    const addresses = await Promise.race([
      lookup(h, { all: true }),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error('timeout')), timeoutMs);
      }),
    ]);
    return { resolves: addresses.length > 0, private: addresses.some((a) => isPrivateHost(a.address)) };
  } catch {
    return { resolves: false, private: false };
  } finally {
    clearTimeout(timer);
  }
}
