/**
 * A buffered line writer for large generated files: lines collect in memory up to a fixed size
 * and are written synchronously (bounded memory, no back-pressure bookkeeping), into a temporary
 * file (folders created as needed) that `close()` renames into place, so a crash never leaves a complete-looking half file.
 */
import { closeSync, mkdirSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

const FLUSH_CHARS = 1 << 20;

export class LineSink {
  readonly path: string;
  private readonly tmpPath: string;
  private fd: number | undefined;
  private buffer: string[] = [];
  private bufferedChars = 0;
  lines = 0;
  bytes = 0;

  constructor(path: string) {
    this.path = path;
    this.tmpPath = `${path}.partial`;
    mkdirSync(dirname(path), { recursive: true });
    this.fd = openSync(this.tmpPath, 'w');
  }

  /** Appends one line; a newline is added. */
  write(line: string): void {
    this.buffer.push(line);
    this.bufferedChars += line.length + 1;
    this.lines++;
    if (this.bufferedChars >= FLUSH_CHARS) this.flush();
  }

  flush(): void {
    if (this.fd === undefined) throw new Error(`${this.path}: write after close`);
    if (this.buffer.length === 0) return;
    const chunk = Buffer.from(`${this.buffer.join('\n')}\n`, 'utf8');
    let offset = 0;
    while (offset < chunk.length) offset += writeSync(this.fd, chunk, offset);
    this.bytes += chunk.length;
    this.buffer = [];
    this.bufferedChars = 0;
  }

  /** Flushes, closes and moves the file into place. Safe to call twice. */
  close(): void {
    if (this.fd === undefined) return;
    this.flush();
    closeSync(this.fd);
    this.fd = undefined;
    renameSync(this.tmpPath, this.path);
  }

  /** Closes and deletes the partial file (after a failure). Safe to call twice. */
  abort(): void {
    if (this.fd === undefined) return;
    closeSync(this.fd);
    this.fd = undefined;
    rmSync(this.tmpPath, { force: true });
  }
}
