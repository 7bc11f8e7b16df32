/**
 * Settings an adapter reads from its agent profile's environment (a provider's base URL, say): the literal
 * `env` value from config, else the host's value when the profile passes that variable through `passEnv`.
 * Both reach the CLI's environment as well; the adapter only also needs them to write the CLI's config files.
 */
import type { AgentProfile } from '../../../config';

export function profileVariable(profile: Pick<AgentProfile, 'env' | 'passEnv'>, name: string, host: NodeJS.ProcessEnv = process.env): string | undefined {
  const literal = profile.env[name];
  if (literal !== undefined) return literal;
  return profile.passEnv.includes(name) ? host[name] : undefined;
}
