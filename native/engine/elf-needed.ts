// Reads the DT_NEEDED list (and RUNPATH) of a 64-bit little-endian ELF shared library without loading it, so CUDA
// discovery can say exactly which CUDA library (libcublas.so.12, libcudnn.so.9, …) the provider needs and lacks.
// Only the headers, the dynamic segment and the string table bytes are read, never the whole (large) file.
import { closeSync, openSync, readSync } from 'node:fs';

export interface ElfDynamicInfo {
  needed: string[];
  runpath: string[];
}

const PT_LOAD = 1;
const PT_DYNAMIC = 2;
const DT_NEEDED = 1n;
const DT_STRTAB = 5n;
const DT_RPATH = 15n;
const DT_RUNPATH = 29n;

function readAt(fd: number, offset: number, length: number): Buffer {
  const buffer = Buffer.alloc(length);
  const read = readSync(fd, buffer, 0, length, offset);
  return buffer.subarray(0, read);
}

function readCString(fd: number, offset: number): string {
  const bytes = readAt(fd, offset, 4096);
  const end = bytes.indexOf(0);
  return bytes.subarray(0, end < 0 ? bytes.length : end).toString('utf8');
}

/** Returns the libraries `path` needs, or throws an Error when it is not a 64-bit little-endian ELF file. */
export function readElfDynamicInfo(path: string): ElfDynamicInfo {
  const fd = openSync(path, 'r');
  try {
    const header = readAt(fd, 0, 64);
    if (header.length < 64 || header.readUInt32BE(0) !== 0x7f454c46) throw new Error(`${path} is not an ELF file`);
    if (header[4] !== 2 || header[5] !== 1) throw new Error(`${path} is not a 64-bit little-endian ELF file`);
    const phoff = Number(header.readBigUInt64LE(0x20));
    const phentsize = header.readUInt16LE(0x36);
    const phnum = header.readUInt16LE(0x38);
    const programHeaders = readAt(fd, phoff, phentsize * phnum);
    const loads: { vaddr: bigint; offset: bigint; filesz: bigint }[] = [];
    let dynamic: { offset: number; size: number } | undefined;
    for (let i = 0; i < phnum; i++) {
      const ph = programHeaders.subarray(i * phentsize, (i + 1) * phentsize);
      const type = ph.readUInt32LE(0);
      const offset = ph.readBigUInt64LE(0x08);
      const vaddr = ph.readBigUInt64LE(0x10);
      const filesz = ph.readBigUInt64LE(0x20);
      if (type === PT_LOAD) loads.push({ vaddr, offset, filesz });
      if (type === PT_DYNAMIC) dynamic = { offset: Number(offset), size: Number(filesz) };
    }
    if (!dynamic) return { needed: [], runpath: [] };
    const entries = readAt(fd, dynamic.offset, dynamic.size);
    const neededOffsets: bigint[] = [];
    const runpathOffsets: bigint[] = [];
    let strtabVaddr: bigint | undefined;
    for (let at = 0; at + 16 <= entries.length; at += 16) {
      const tag = entries.readBigInt64LE(at);
      const value = entries.readBigUInt64LE(at + 8);
      if (tag === 0n) break;
      if (tag === DT_NEEDED) neededOffsets.push(value);
      else if (tag === DT_STRTAB) strtabVaddr = value;
      else if (tag === DT_RUNPATH || tag === DT_RPATH) runpathOffsets.push(value);
    }
    if (strtabVaddr === undefined) return { needed: [], runpath: [] };
    const segment = loads.find((l) => strtabVaddr! >= l.vaddr && strtabVaddr! < l.vaddr + l.filesz);
    const strtab = Number(segment ? strtabVaddr - segment.vaddr + segment.offset : strtabVaddr);
    return {
      needed: neededOffsets.map((o) => readCString(fd, strtab + Number(o))),
      runpath: runpathOffsets.flatMap((o) => readCString(fd, strtab + Number(o)).split(':')).filter((p) => p !== ''),
    };
  } finally {
    closeSync(fd);
  }
}
