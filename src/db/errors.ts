/** Errors the query modules throw, so callers (HTTP routes, activities) can map them without parsing SQL errors. */

export class NotFoundError extends Error {
  override name = 'NotFoundError';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${JSON.stringify(id)} not found`);
  }
}

export class AlreadyExistsError extends Error {
  override name = 'AlreadyExistsError';
  constructor(
    readonly entity: string,
    readonly id: string,
  ) {
    super(`${entity} ${JSON.stringify(id)} already exists`);
  }
}

/** A compare-and-set write lost: the row moved on. Re-read, decide again, retry with `currentVersion`. */
export class VersionConflictError extends Error {
  override name = 'VersionConflictError';
  constructor(
    readonly cardId: string,
    readonly expectedVersion: number,
    readonly currentVersion: number,
  ) {
    super(`card ${JSON.stringify(cardId)} is at version ${currentVersion}, not ${expectedVersion}`);
  }
}

export class InvalidColumnError extends Error {
  override name = 'InvalidColumnError';
  constructor(
    readonly boardId: string,
    readonly column: string,
  ) {
    super(`board ${JSON.stringify(boardId)} has no column ${JSON.stringify(column)}`);
  }
}

export class InvalidIdError extends Error {
  override name = 'InvalidIdError';
}

export class MigrationError extends Error {
  override name = 'MigrationError';
}

/** Postgres SQLSTATE of a driver error (`pg` and PGlite both expose `code`). */
function sqlState(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

export const isUniqueViolation = (error: unknown): boolean => sqlState(error) === '23505';
export const isForeignKeyViolation = (error: unknown): boolean => sqlState(error) === '23503';

/** The server is unreachable or going away (refused, reset, shut down, starting up): worth waiting out, not a bug. */
export function isConnectionError(error: unknown): boolean {
  const state = sqlState(error);
  if (state && (state.startsWith('08') || ['57P01', '57P02', '57P03'].includes(state))) return true;
  if (state && ['ECONNREFUSED', 'ECONNRESET', 'EPIPE', 'ETIMEDOUT', 'EHOSTUNREACH', 'ENOTFOUND', 'EAI_AGAIN'].includes(state)) return true;
  return /Connection terminated|not queryable|timeout exceeded when trying to connect/i.test((error as Error | null)?.message ?? '');
}
