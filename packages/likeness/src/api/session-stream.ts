import type { Context } from 'hono';
import { streamSSE } from 'hono/streaming';
import type { Services } from '../services.ts';
import type { SessionRow } from '../sessions/session-service.ts';

type Push = (event: string, data: unknown) => void;

/**
 * A session's Server-Sent Events stream: `session.state` first and at every transition, then whatever
 * `subscribe` pushes, until the session ends, the client goes away or the server shuts down. A comment line
 * every 15 s keeps proxies from closing an idle stream.
 *
 * `droppable`: events of that type are dropped, oldest first, once more than `maxQueued` wait for a slow
 * client (animation frames: a late frame is worth nothing, and memory must not grow with a stalled reader).
 */
export function sessionEventStream(
  c: Context,
  s: Pick<Services, 'sessions' | 'stopping'>,
  session: SessionRow,
  opts: { subscribe(push: Push): Promise<() => void>; droppable?: string; maxQueued?: number },
): Response {
  return streamSSE(c, async (stream) => {
    const queue: { event: string; data: string }[] = [];
    let wake: (() => void) | undefined;
    const maxQueued = opts.maxQueued ?? Number.POSITIVE_INFINITY;
    const push: Push = (event, data) => {
      if (event === opts.droppable && queue.length >= maxQueued) {
        const oldest = queue.findIndex((q) => q.event === event);
        if (oldest >= 0) queue.splice(oldest, 1);
      }
      queue.push({ event, data: JSON.stringify(data) });
      wake?.();
    };
    push('session.state', { status: session.status });
    const unsubscribe = await opts.subscribe(push);
    const onTransition = (e: { session: { id: string; status: string; end_reason: string | null } }) => {
      if (e.session.id === session.id)
        push('session.state', { status: e.session.status, reason: e.session.end_reason });
    };
    s.sessions.on('transition', onTransition);
    let open = true;
    const stop = () => {
      open = false;
      wake?.();
    };
    stream.onAbort(stop);
    // Shutdown ends every stream, whether or not its client is still reading.
    s.stopping.addEventListener('abort', stop, { once: true });
    try {
      while (open) {
        while (queue.length) {
          const item = queue.shift()!;
          await stream.writeSSE(item);
          if (item.event === 'session.state' && /"(ended|expired)"/.test(item.data)) open = false;
        }
        if (!open) break;
        await new Promise<void>((resolve) => {
          wake = resolve;
          setTimeout(resolve, 15_000).unref();
        });
        wake = undefined;
        if (stream.aborted || stream.closed) break;
        if (open && queue.length === 0) await stream.write(': keep-alive\n\n');
      }
    } finally {
      unsubscribe();
      s.sessions.off('transition', onTransition);
      s.stopping.removeEventListener('abort', stop);
    }
  });
}
