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

/**
 * Memory of a server and its engine processes. RSS counts shared pages (the node binary, libraries) in every
 * process, so its sum overstates what the server takes; PSS shares them out and sums to the truth.
 */
export function serverMemory(pid: number): {
  server_rss_mb: number;
  total_rss_mb: number;
  total_pss_mb: number;
  pss_mb_by_process: Record<string, number>;
} {
  const kb = (text: string, field: string) =>
    Number(new RegExp(`^${field}:\\s+(\\d+)`, 'm').exec(text)?.[1] ?? 0);
  let rss = 0;
  let pss = 0;
  let serverRss = 0;
  const byProcess: Record<string, number> = {};
  for (const p of [pid, ...childPids(pid)]) {
    let rollup: string;
    let cmd: string;
    try {
      rollup = fs.readFileSync(`/proc/${p}/smaps_rollup`, 'utf8');
      cmd = fs.readFileSync(`/proc/${p}/cmdline`, 'utf8').split('\0').join(' ');
    } catch {
      continue; // gone meanwhile
    }
    rss += kb(rollup, 'Rss');
    pss += kb(rollup, 'Pss');
    if (p === pid) serverRss = kb(rollup, 'Rss');
    // "flite-process", "whisper_worker", "espeak-ng"...: the script or program a process runs.
    const name =
      p === pid
        ? 'server'
        : (/([\w-]+)\.(?:mjs|py)\b/.exec(cmd)?.[1] ?? cmd.split(' ')[0]!.split('/').pop()!);
    byProcess[name] = Math.round((byProcess[name] ?? 0) + kb(rollup, 'Pss') / 1024);
  }
  return {
    server_rss_mb: Math.round(serverRss / 1024),
    total_rss_mb: Math.round(rss / 1024),
    total_pss_mb: Math.round(pss / 1024),
    pss_mb_by_process: byProcess,
  };
}

/** CPU seconds a process has used (user + system), from /proc. */
export function cpuSeconds(pid: number): number {
  const fields = fs.readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return (Number(fields[11]) + Number(fields[12])) / 100;
}
