import { randomBytes } from 'node:crypto';
import { mkdir, open, rename, unlink } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * Writes one message into `dir` as `<timestamp>-<random>.eml` (mode 0600), creating `dir` (mode
 * 0700) when missing. The message goes to a hidden `.tmp` file first, is flushed to disk, and is
 * then renamed into place, so whoever lists `*.eml` never sees half a message. The timestamp is
 * ISO 8601 in its basic format (`20250630T140512.345Z`): it sorts by time and has no colons, which
 * some file systems and tools refuse. Returns the file's path.
 */
export async function writeMailFile(dir: string, message: Buffer, now: Date = new Date()): Promise<string> {
  await mkdir(dir, { recursive: true, mode: 0o700 });
  const name = `${now.toISOString().replace(/[-:]/g, '')}-${randomBytes(6).toString('hex')}.eml`;
  const file = join(dir, name);
  const temporary = join(dir, `.${name}.tmp`);
  const handle = await open(temporary, 'wx', 0o600);
  try {
    try {
      await handle.writeFile(message);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temporary, file);
  } catch (error) {
    await unlink(temporary).catch(() => undefined);
    throw error;
  }
  return file;
}
