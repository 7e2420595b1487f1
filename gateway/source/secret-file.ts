import { readFileSync, statSync } from 'node:fs';

/**
 * A secret kept in a file (a mounted Kubernetes secret, a token refreshed by a sidecar): read again
 * whenever the file changed (modification time, size or inode: a secret volume swaps a symlink),
 * so a rotated secret is used from the next login on. Surrounding whitespace is dropped. When the
 * file cannot be read (mid-swap), the last content read is used and `onError` is told.
 */
export class FileSecret {
  private stamp = '';
  private text: string | null = null;

  constructor(
    readonly path: string,
    private readonly onError: (err: Error) => void = () => {},
  ) {}

  /** The current content. @throws if the file has never been readable. */
  read(): string {
    try {
      const st = statSync(this.path);
      const stamp = `${st.mtimeMs}:${st.size}:${st.ino}`;
      if (stamp !== this.stamp || this.text === null) {
        this.text = readFileSync(this.path, 'utf8').trim();
        this.stamp = stamp;
      }
    } catch (err) {
      if (this.text === null) throw err;
      this.onError(err as Error);
    }
    return this.text;
  }
}
