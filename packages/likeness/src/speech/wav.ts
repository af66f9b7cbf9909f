/** 16-bit mono PCM as a WAV file (previews, and recognisers that take files). */
export function wavFile(pcm: Int16Array, sampleRate: number): Uint8Array<ArrayBuffer> {
  const header = Buffer.alloc(44);
  const bytes = pcm.length * 2;
  header.write('RIFF', 0);
  header.writeUInt32LE(36 + bytes, 4);
  header.write('WAVEfmt ', 8);
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(1, 22);
  header.writeUInt32LE(sampleRate, 24);
  header.writeUInt32LE(sampleRate * 2, 28);
  header.writeUInt16LE(2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36);
  header.writeUInt32LE(bytes, 40);
  const out = new Uint8Array(44 + bytes);
  out.set(header);
  out.set(new Uint8Array(pcm.buffer, pcm.byteOffset, bytes), 44);
  return out;
}
