// A WASI preview1 host that keeps every file in memory. Flite (a WASI command) needs only the 13 imports below:
// its arguments, a clock, stdout/stderr and one directory to write its WAV into. node:wasi opens a real
// directory descriptor for each preopen and never closes it (one leaked descriptor per synthesis, measured:
// +30 after 30 utterances); this host opens nothing, so nothing can leak, and no temporary file is ever left.
// Plain JS so the engine process starts without a TypeScript loader.

const ERRNO = { SUCCESS: 0, BADF: 8, INVAL: 28, NOENT: 44, NOSYS: 52, SPIPE: 70 };
const FILETYPE = { CHARACTER_DEVICE: 2, DIRECTORY: 3, REGULAR_FILE: 4 };
const PREOPEN_FD = 3;
const PREOPEN_NAME = '/out';

/** Thrown by proc_exit to unwind out of `_start`. */
class ProcExit extends Error {
  constructor(code) {
    super(`exit ${code}`);
    this.code = code;
  }
}

/** A growable byte buffer with a cursor, enough for fopen/fwrite/fseek. */
class MemoryFile {
  constructor() {
    this.bytes = new Uint8Array(64 * 1024);
    this.size = 0;
    this.cursor = 0;
  }
  write(chunk) {
    const end = this.cursor + chunk.length;
    if (end > this.bytes.length) {
      const grown = new Uint8Array(Math.max(end, this.bytes.length * 2));
      grown.set(this.bytes.subarray(0, this.size));
      this.bytes = grown;
    }
    this.bytes.set(chunk, this.cursor);
    this.cursor = end;
    this.size = Math.max(this.size, end);
  }
  contents() {
    return this.bytes.subarray(0, this.size);
  }
}

/**
 * A WASI command module, instantiated before it is needed: instantiating copies the module's data (Flite's
 * voices) into a fresh memory, about 20 ms here, which a request then no longer waits for. `run(args)` runs it
 * once and returns its exit code, stdout, stderr and the files it created under /out. `maxOutputBytes` bounds
 * what the program may write in all, so a runaway program fails instead of eating memory.
 */
export async function prepareWasiCommand(module, { maxOutputBytes = 64 * 1024 * 1024 } = {}) {
  let args = [];
  let memory;
  const view = () => new DataView(memory.buffer);
  const bytes = () => new Uint8Array(memory.buffer);
  const encoder = new TextEncoder();
  const decoder = new TextDecoder();
  let argBytes = [];
  const stdout = new MemoryFile();
  const stderr = new MemoryFile();
  const files = new Map(); // name -> MemoryFile
  const fds = new Map([
    [1, stdout],
    [2, stderr],
  ]);
  let nextFd = PREOPEN_FD + 1;
  let written = 0;

  const iovecs = (ptr, len) => {
    const out = [];
    for (let i = 0; i < len; i++) {
      const base = view().getUint32(ptr + i * 8, true);
      const size = view().getUint32(ptr + i * 8 + 4, true);
      out.push(bytes().subarray(base, base + size));
    }
    return out;
  };

  const wasi = {
    args_sizes_get(argcPtr, bufSizePtr) {
      view().setUint32(argcPtr, argBytes.length, true);
      view().setUint32(
        bufSizePtr,
        argBytes.reduce((s, b) => s + b.length, 0),
        true,
      );
      return ERRNO.SUCCESS;
    },
    args_get(argvPtr, bufPtr) {
      let at = bufPtr;
      argBytes.forEach((b, i) => {
        view().setUint32(argvPtr + i * 4, at, true);
        bytes().set(b, at);
        at += b.length;
      });
      return ERRNO.SUCCESS;
    },
    clock_time_get(_id, _precision, timePtr) {
      view().setBigUint64(timePtr, process.hrtime.bigint(), true);
      return ERRNO.SUCCESS;
    },
    fd_close(fd) {
      return fds.delete(fd) ? ERRNO.SUCCESS : ERRNO.BADF;
    },
    fd_fdstat_get(fd, ptr) {
      let type;
      if (fd === 0 || fd === 1 || fd === 2) type = FILETYPE.CHARACTER_DEVICE;
      else if (fd === PREOPEN_FD) type = FILETYPE.DIRECTORY;
      else if (fds.has(fd)) type = FILETYPE.REGULAR_FILE;
      else return ERRNO.BADF;
      const v = view();
      v.setUint8(ptr, type);
      v.setUint16(ptr + 2, 0, true);
      v.setBigUint64(ptr + 8, 0xffffffffffffffffn, true); // all rights
      v.setBigUint64(ptr + 16, 0xffffffffffffffffn, true);
      return ERRNO.SUCCESS;
    },
    fd_fdstat_set_flags() {
      return ERRNO.SUCCESS;
    },
    fd_prestat_get(fd, ptr) {
      if (fd !== PREOPEN_FD) return ERRNO.BADF;
      view().setUint8(ptr, 0); // a directory
      view().setUint32(ptr + 4, PREOPEN_NAME.length, true);
      return ERRNO.SUCCESS;
    },
    fd_prestat_dir_name(fd, ptr, len) {
      if (fd !== PREOPEN_FD) return ERRNO.BADF;
      bytes().set(encoder.encode(PREOPEN_NAME).subarray(0, len), ptr);
      return ERRNO.SUCCESS;
    },
    fd_read(fd, _iovs, _iovsLen, nreadPtr) {
      if (fd !== 0) return ERRNO.BADF;
      view().setUint32(nreadPtr, 0, true); // stdin is empty: the text comes as an argument
      return ERRNO.SUCCESS;
    },
    fd_seek(fd, offset, whence, newOffsetPtr) {
      const file = fds.get(fd);
      if (!file) return ERRNO.BADF;
      if (fd === 1 || fd === 2) return ERRNO.SPIPE;
      const base = whence === 0 ? 0 : whence === 1 ? file.cursor : file.size;
      const to = base + Number(offset);
      if (to < 0) return ERRNO.INVAL;
      file.cursor = to;
      view().setBigUint64(newOffsetPtr, BigInt(to), true);
      return ERRNO.SUCCESS;
    },
    fd_write(fd, iovs, iovsLen, nwrittenPtr) {
      const file = fds.get(fd);
      if (!file) return ERRNO.BADF;
      let n = 0;
      for (const chunk of iovecs(iovs, iovsLen)) {
        written += chunk.length;
        if (written > maxOutputBytes) throw new Error(`the program wrote more than ${maxOutputBytes} bytes`);
        file.write(chunk.slice());
        n += chunk.length;
      }
      view().setUint32(nwrittenPtr, n, true);
      return ERRNO.SUCCESS;
    },
    path_open(dirFd, _dirFlags, pathPtr, pathLen, oflags, _rightsBase, _rightsInh, _fdFlags, fdPtr) {
      if (dirFd !== PREOPEN_FD) return ERRNO.BADF;
      const name = decoder.decode(bytes().slice(pathPtr, pathPtr + pathLen));
      const create = (oflags & 1) !== 0;
      const truncate = (oflags & 8) !== 0;
      let file = files.get(name);
      if (!file) {
        if (!create) return ERRNO.NOENT;
        file = new MemoryFile();
        files.set(name, file);
      } else if (truncate) {
        file.size = 0;
        file.cursor = 0;
      }
      const fd = nextFd++;
      fds.set(fd, file);
      view().setUint32(fdPtr, fd, true);
      return ERRNO.SUCCESS;
    },
    proc_exit(code) {
      throw new ProcExit(code);
    },
  };
  // Anything else Flite might call answers "not supported" instead of failing to link.
  const imports = new Proxy(wasi, {
    get: (target, name) => target[name] ?? (() => ERRNO.NOSYS),
  });

  const instance = await WebAssembly.instantiate(module, { wasi_snapshot_preview1: imports });
  memory = instance.exports.memory;
  let ran = false;
  return {
    run(commandArgs) {
      if (ran) throw new Error('a WASI command instance runs once');
      ran = true;
      args = commandArgs;
      argBytes = args.map((a) => encoder.encode(`${a}\0`));
      let code = 0;
      try {
        instance.exports._start();
      } catch (err) {
        if (!(err instanceof ProcExit)) throw err;
        code = err.code;
      }
      return {
        code,
        stdout: decoder.decode(stdout.contents()),
        stderr: decoder.decode(stderr.contents()),
        files: new Map([...files].map(([name, f]) => [name, f.contents()])),
      };
    },
  };
}
