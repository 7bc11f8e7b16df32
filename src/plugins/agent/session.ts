/**
 * Warm sessions: an agent profile with `session: { warm: true, maxTasks: N }` continues one CLI session across
 * the tasks of ONE card (its review rounds), so a revision sees the conversation that produced the first pass.
 *
 * Bleed from one card into another is impossible by construction, not by care:
 * - the session's key is derived from the card key (plus the run and pipeline step) and nothing else that could
 *   be shared: `warmSessionFor` is a pure function, and no lookup "by agent" exists;
 * - its directory lives under the card's own run directory and is named by a digest of the full key, and the
 *   owner record inside it must match the card exactly before the directory is handed to an agent;
 * - after `maxTasks` tasks the generation goes up: a new key, a new directory, a new CLI session id; the old
 *   generation's directory is deleted.
 *
 * "Task" here is a review round of a pipeline step of one run of a card (the effect ID `r<run>/agent/<step>/<round>`
 * names all three): round r of a step is task r of its session scope, so generation = floor(r / maxTasks).
 * A card restarted from scratch (a new run) and each pipeline step get their own sessions.
 */
import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

export interface WarmSessionSettings {
  /** Tasks per session: the session is replaced by a fresh one after this many. */
  maxTasks: number;
}

export interface WarmSession {
  cardKey: string;
  /** What else the session is scoped to within the card: `r<run>/<step>`. */
  scope: string;
  /** `floor(task / maxTasks)`: the session's number within its scope, from 0. */
  generation: number;
  /** This task's index in the session, from 0 (0 = the session is fresh). */
  taskInSession: number;
  /** The full key, human-readable: `<card key> <scope> g<generation>`. */
  key: string;
  /** A UUID derived from the key (name-based, version 5), for CLIs that take a session id (`claude --session-id`). */
  id: string;
}

/** Where a warm session lives on disk, once opened for a run. */
export interface WarmSessionHandle extends WarmSession {
  dir: string;
}

export class WarmSessionError extends Error {
  override name = 'WarmSessionError';
}

// A fixed namespace for Ouija's name-based session UUIDs (itself a random v4 UUID, chosen once).
const NAMESPACE = 'a3f1c2d4-5b6e-4f70-8a91-b2c3d4e5f607';

/** RFC 4122 version 5 UUID of `name` in `NAMESPACE`. */
function uuidV5(name: string): string {
  const hash = createHash('sha1').update(Buffer.from(NAMESPACE.replace(/-/g, ''), 'hex')).update(name, 'utf8').digest();
  hash[6] = (hash[6]! & 0x0f) | 0x50;
  hash[8] = (hash[8]! & 0x3f) | 0x80;
  const hex = hash.subarray(0, 16).toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}

/**
 * The session a card's task belongs to. Pure: the same card key, scope, task number and maxTasks always give
 * the same session, and two different card keys never give the same key or id.
 */
export function warmSessionFor(input: { cardKey: string; task: number; maxTasks: number; scope?: string }): WarmSession {
  const { cardKey, task, maxTasks } = input;
  const scope = input.scope ?? '';
  if (cardKey === '') throw new WarmSessionError('a warm session needs a card key');
  if (!Number.isInteger(task) || task < 0) throw new WarmSessionError(`task must be a non-negative integer, got ${task}`);
  if (!Number.isInteger(maxTasks) || maxTasks < 1) throw new WarmSessionError(`maxTasks must be a positive integer, got ${maxTasks}`);
  const generation = Math.floor(task / maxTasks);
  // JSON keeps the parts apart: no card key and scope can be glued into another pair's key.
  const key = `${JSON.stringify(cardKey)} ${JSON.stringify(scope)} g${generation}`;
  return { cardKey, scope, generation, taskInSession: task % maxTasks, key, id: uuidV5(key) };
}

/**
 * The scope and task number of an agent effect (`r<run>/agent/<step>/<round>`, see src/core/effect-ids.ts).
 * An ID in any other shape gets a scope of its own and task 0: a fresh session, never a shared one.
 */
export function sessionTaskOfEffect(effectId: string): { scope: string; task: number } {
  const match = /^r(\d+)\/agent\/(.+)\/(\d+)$/.exec(effectId);
  if (!match) return { scope: effectId, task: 0 };
  return { scope: `r${match[1]}/${match[2]}`, task: Number(match[3]) };
}

/** The session of an agent effect of a card. */
export function warmSessionForEffect(cardKey: string, effectId: string, settings: WarmSessionSettings): WarmSession {
  return warmSessionFor({ cardKey, ...sessionTaskOfEffect(effectId), maxTasks: settings.maxTasks });
}

const digest = (text: string): string => createHash('sha256').update(text, 'utf8').digest('hex').slice(0, 24);

interface OwnerRecord {
  cardKey: string;
  scope: string;
  generation: number;
  id: string;
}

/**
 * Creates (or reopens) the session's directory under `root` (the card's own directory):
 * `<root>/sessions/<adapter>/<digest of card key and scope>/g<generation>`, with `owner.json` naming the card.
 * An existing directory whose owner is anything but this card, scope and generation is refused. Older
 * generations of the same scope are deleted: a rotated session is gone, not merely unused.
 */
export function openWarmSession(input: { root: string; adapter: string; session: WarmSession }): WarmSessionHandle {
  const { root, session } = input;
  if (!/^[a-z0-9-]+$/.test(input.adapter)) throw new WarmSessionError(`bad adapter name ${JSON.stringify(input.adapter)}`);
  const scopeDir = path.join(root, 'sessions', input.adapter, digest(JSON.stringify([session.cardKey, session.scope])));
  const dir = path.join(scopeDir, `g${session.generation}`);
  const owner: OwnerRecord = { cardKey: session.cardKey, scope: session.scope, generation: session.generation, id: session.id };
  const ownerFile = path.join(dir, 'owner.json');
  fs.mkdirSync(dir, { recursive: true, mode: 0o700 });
  if (fs.existsSync(ownerFile)) {
    let found: Partial<OwnerRecord> = {};
    try {
      found = JSON.parse(fs.readFileSync(ownerFile, 'utf8')) as Partial<OwnerRecord>;
    } catch {
      /* unreadable: treated as someone else's */
    }
    if (found.cardKey !== owner.cardKey || found.scope !== owner.scope || found.generation !== owner.generation || found.id !== owner.id) {
      throw new WarmSessionError(`session directory ${dir} belongs to ${JSON.stringify(found)}, not ${JSON.stringify(owner)}: refusing to hand it over`);
    }
  } else {
    fs.writeFileSync(ownerFile, `${JSON.stringify(owner)}\n`, { mode: 0o600 });
  }
  for (const entry of fs.readdirSync(scopeDir)) {
    const older = /^g(\d+)$/.exec(entry);
    if (older && Number(older[1]) < session.generation) fs.rmSync(path.join(scopeDir, entry), { recursive: true, force: true });
  }
  return { ...session, dir };
}
