import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatRequestSeen {
  auth: string | undefined;
  body: {
    model: string;
    messages: { role: string; content: string }[];
    stream: boolean;
    max_tokens?: number;
  };
}

/**
 * A local server speaking OpenAI's streaming chat-completions wire format (the cloud cannot be reached here):
 * `data: {chat.completion.chunk}` lines, then `data: [DONE]`. What it says is up to the test (`reply`), and it
 * records every request, so tests can see exactly what the server sent the model.
 */
export async function startFakeChat(opts: {
  reply: (req: ChatRequestSeen['body']) => string;
  /** ms before the first token, and between tokens. */
  firstTokenMs?: number;
  tokenMs?: number;
  status?: () => number;
}) {
  const requests: ChatRequestSeen[] = [];
  const server = http.createServer(async (req, res) => {
    let raw = '';
    for await (const part of req) raw += part;
    if (req.url !== '/v1/chat/completions' || req.method !== 'POST') {
      res.writeHead(404).end();
      return;
    }
    const body = JSON.parse(raw) as ChatRequestSeen['body'];
    requests.push({ auth: req.headers.authorization, body });
    const status = opts.status?.() ?? 200;
    if (status !== 200) {
      res.writeHead(status, { 'content-type': 'application/json' }).end('{"error":{"message":"overloaded"}}');
      return;
    }
    res.writeHead(200, { 'content-type': 'text/event-stream' });
    const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
    let closed = false;
    res.on('close', () => {
      closed = true;
    });
    await sleep(opts.firstTokenMs ?? 0);
    const words = opts.reply(body).match(/\S+\s*/g) ?? [];
    for (const [i, w] of words.entries()) {
      if (closed) return;
      const chunk = {
        id: 'chatcmpl-test',
        object: 'chat.completion.chunk',
        created: 0,
        model: body.model,
        choices: [
          {
            index: 0,
            delta: i === 0 ? { role: 'assistant', content: w } : { content: w },
            finish_reason: null,
          },
        ],
      };
      res.write(`data: ${JSON.stringify(chunk)}\n\n`);
      if (opts.tokenMs) await sleep(opts.tokenMs);
    }
    res.write(
      `data: ${JSON.stringify({ id: 'chatcmpl-test', object: 'chat.completion.chunk', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] })}\n\n`,
    );
    res.end('data: [DONE]\n\n');
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1`,
    requests,
    close: () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  };
}
