/** Finding programs the way spawn does, without spawning them. */
import { accessSync, constants } from 'node:fs';
import path from 'node:path';

export function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The program `name` on `pathVariable` (a PATH value), or null. */
export function findOnPath(name: string, pathVariable: string | undefined = process.env.PATH): string | null {
  for (const dir of (pathVariable ?? '').split(path.delimiter)) {
    if (dir && isExecutable(path.join(dir, name))) return path.join(dir, name);
  }
  return null;
}
