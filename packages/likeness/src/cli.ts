/**
 * likeness say --character <id | slug | portrait file> "text" -o out.mp4 [--voice slt] [--mood happy]
 *               [--seed 1] [--size 512] [--sheet sheet.png]
 *
 * Makes the same MP4 as POST /v1/sessions/{id}/generate, without a running server. A portrait file is
 * registered in memory; a character id or cast slug is read from the data directory (LIKENESS_DATA_DIR,
 * default ./data), which must not be open in a running server at the same time (embedded database).
 */
import fs from 'node:fs/promises';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { seedFrom } from './animation/random.ts';
import { loadConfig } from './config.ts';
import { Problem } from './errors.ts';
import { MCP_USAGE, runStdioMcp } from './mcp/stdio.ts';
import { contactSheet, type SheetFrame } from './media/contact-sheet.ts';
import { renderUtteranceVideo } from './media/utterance-video.ts';
import { MOODS, type Mood } from './persona/persona.ts';
import { FaceDetector } from './registration/face-detector.ts';
import type { Identity } from './registration/identity.ts';
import { encodePng, identityFromImage } from './registration/registrar.ts';
import { PortraitRenderer } from './render/renderer.ts';
import { buildServices } from './server.ts';
import { FliteEngine } from './speech/flite-engine.ts';
import { SpeechService } from './speech/speech-service.ts';
import { DEFAULT_VOICE, parseVoice, type VoiceRef } from './speech/voice-catalog.ts';

const USAGE =
  'usage: likeness say --character <id | slug | portrait.png> "text" -o out.mp4 [--voice slt] [--mood neutral|happy|surprised|thinking|concerned] [--seed N] [--size 512] [--sheet sheet.png]';

async function loadCharacter(
  ref: string,
  size: number,
): Promise<{ identity: Identity; png: Uint8Array; voice: VoiceRef; mood: Mood }> {
  const config = loadConfig();
  const asFile = await fs.readFile(ref).catch(() => undefined);
  if (asFile) {
    const limits = { ...config.limits, portraitSize: size };
    const { identity, portrait } = await identityFromImage(asFile, limits, new FaceDetector());
    return { identity, png: await encodePng(portrait), voice: DEFAULT_VOICE, mood: 'neutral' };
  }
  const services = await buildServices({ ...config, logLevel: 'silent' });
  try {
    const row = await services.store.db
      .selectFrom('characters')
      .select(['identity_id', 'voice', 'persona'])
      .where((eb) => eb.or([eb('id', '=', ref), eb('slug', '=', ref)]))
      .orderBy('created_at')
      .executeTakeFirst();
    if (!row) throw new Error(`no portrait file and no character "${ref}" in ${config.dataDir}`);
    const identity = await services.registrar.load(row.identity_id);
    const png = await services.registrar.files.read(services.registrar.portraitFile(row.identity_id));
    return { identity, png, voice: row.voice as VoiceRef, mood: (row.persona as { mood: Mood }).mood };
  } finally {
    await services.store.close();
    await services.shutdown();
  }
}

async function say(argv: string[]) {
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      character: { type: 'string', short: 'c' },
      output: { type: 'string', short: 'o' },
      voice: { type: 'string' },
      mood: { type: 'string' },
      seed: { type: 'string' },
      size: { type: 'string' },
      sheet: { type: 'string' },
    },
  });
  const text = positionals.join(' ');
  if (!values.character || !values.output || !text) throw new Error(USAGE);
  const size = values.size ? Number(values.size) : 512;
  const character = await loadCharacter(values.character, size);
  let voice = character.voice;
  if (values.voice) {
    const parsed = parseVoice(values.voice);
    if ('error' in parsed) throw new Error(parsed.error);
    voice = parsed;
  }
  const mood = (values.mood ?? character.mood) as Mood;
  if (!MOODS.includes(mood)) throw new Error(`--mood must be one of ${MOODS.join(', ')}`);
  const renderer = await PortraitRenderer.create(character.identity, character.png, size);
  const flite = new FliteEngine();
  const sheet: SheetFrame[] = [];
  const started = performance.now();
  try {
    const result = await renderUtteranceVideo({
      identity: character.identity,
      renderer,
      speech: new SpeechService({ flite }),
      text,
      voice,
      mood,
      seed: values.seed ? Number(values.seed) : seedFrom(`${character.identity.id}\u0000${text}`),
      file: path.resolve(values.output),
      onFrame: (n, params, rgba) => {
        if (values.sheet && n % 4 === 0) sheet.push({ n, label: params.viseme, rgba: rgba.slice() });
      },
    });
    const wall = (performance.now() - started) / 1000;
    console.log(
      `${values.output}: ${result.durationS.toFixed(2)} s, ${result.frames} frames, made in ${wall.toFixed(2)} s (${(result.durationS / wall).toFixed(1)}x realtime)`,
    );
    if (values.sheet) {
      await fs.writeFile(values.sheet, await contactSheet(sheet, size));
      console.log(`${values.sheet}: contact sheet of every 4th frame`);
    }
  } finally {
    await flite.close();
  }
}

const [command, ...rest] = process.argv.slice(2);
try {
  if (command === 'say') await say(rest);
  else if (command === 'mcp') await runStdioMcp(rest);
  else throw new Error(`${USAGE}\n${MCP_USAGE}`);
} catch (err) {
  console.error(err instanceof Problem ? `${err.slug}: ${err.message}` : (err as Error).message);
  process.exitCode = 1;
}
