import fs from 'node:fs';

/** Follows a session's event stream (Server-Sent Events) and keeps every event, for benches. */
export function followEvents(url: string, key: string) {
  const events: { event: string; data: Record<string, unknown>; at: number }[] = [];
  const abort = new AbortController();
  void (async () => {
    const res = await fetch(url, { headers: { authorization: `Bearer ${key}` }, signal: abort.signal });
    const decoder = new TextDecoder();
    let buffered = '';
    for await (const part of res.body as unknown as AsyncIterable<Uint8Array>) {
      buffered += decoder.decode(part, { stream: true });
      for (let end = buffered.indexOf('\n\n'); end >= 0; end = buffered.indexOf('\n\n')) {
        const block = buffered.slice(0, end);
        buffered = buffered.slice(end + 2);
        const event = /^event: (.*)$/m.exec(block)?.[1];
        const data = /^data: (.*)$/m.exec(block)?.[1];
        if (event && data) events.push({ event, data: JSON.parse(data), at: performance.now() });
      }
    }
  })().catch(() => undefined);
  return {
    events,
    /** The latest `metrics` event's data. */
    metrics: () =>
      [...events].reverse().find((e) => e.event === 'metrics')?.data as
        | { fps: number; frames_dropped: number; late_frames: number; audio_underruns: number }
        | undefined,
    close: () => abort.abort(),
  };
}

/** Resident memory (MB) and open file descriptors of a process, from /proc. */
export function processStats(pid: number): { rss_mb: number; open_fds: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
  const rss = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  return { rss_mb: Math.round(rss), open_fds: fs.readdirSync(`/proc/${pid}/fd`).length };
}

/** Child processes of a process (the speech engines), from /proc. */
export function childPids(pid: number): number[] {
  const text = fs.readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
  return text ? text.split(/\s+/).map(Number) : [];
}

/** CPU seconds a process has used (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
