import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import * as path from 'node:path';

/**
 * The local state folder: signing keys, tables and the last deployment, kept between starts. It holds
 * key material, so it is created 0700, its files 0600, and it ignores itself in git.
 */
export class StateFolder {
  constructor(public readonly dir: string) {
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    // mkdir's mode does not apply to a folder that already exists (or is masked by umask).
    chmodSync(dir, 0o700);
    const ignore = path.join(dir, '.gitignore');
    if (!existsSync(ignore)) writeFileSync(ignore, '# Local state of npm start (key material): never commit it.\n*\n', { mode: 0o600 });
  }

  file(name: string): string {
    return path.join(this.dir, name);
  }

  /** A private sub-folder (0700). */
  folder(name: string): string {
    const dir = path.join(this.dir, name);
    mkdirSync(dir, { recursive: true, mode: 0o700 });
    chmodSync(dir, 0o700);
    return dir;
  }

  readJson<T>(name: string): T | undefined {
    const file = this.file(name);
    if (!existsSync(file)) return undefined;
    try {
      return JSON.parse(readFileSync(file, 'utf8')) as T;
    } catch (err) {
      throw new Error(`The local state file ${file} is not valid JSON (${(err as Error).message}); move it away to start fresh.`);
    }
  }

  /** Writes atomically (a crash leaves the old file or the new one), readable by the owner only. */
  writeJson(name: string, value: unknown): void {
    const file = this.file(name);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
    chmodSync(tmp, 0o600);
    renameSync(tmp, file);
  }

  /** Writes a text file readable by the owner only (the admin token, for scripts such as the README's). */
  writeText(name: string, text: string): void {
    const file = this.file(name);
    writeFileSync(file, text, { mode: 0o600 });
    chmodSync(file, 0o600);
  }

  /** Octal permission bits, for the start banner and tests. */
  mode(name?: string): string {
    return (statSync(name ? this.file(name) : this.dir).mode & 0o777).toString(8);
  }
}
