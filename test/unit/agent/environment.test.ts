import { agentEnvironment, AgentEnvironmentError } from '../../../src/plugins/agent/environment';

const base = {
  PATH: '/usr/bin:/bin',
  LANG: 'C.UTF-8',
  HOME: '/root',
  TMPDIR: '/tmp',
  TERM: 'xterm-256color',
  GITHUB_TOKEN: 'ghp_secret',
  OUIJA_GITHUB_WEBHOOK_SECRET: 'secret',
  DATABASE_URL: 'postgres://secret',
  AGENT_API_KEY: 'key',
};
const dirs = { home: '/runs/1/home', tmpDir: '/runs/1/tmp' };

describe('agentEnvironment', () => {
  test('contains the allow-list and nothing else', () => {
    expect(agentEnvironment({ base, ...dirs, extra: { OUIJA_TASK_FILE: '/runs/1/task.json' } })).toEqual({
      PATH: '/usr/bin:/bin',
      LANG: 'C.UTF-8',
      TERM: 'dumb',
      HOME: '/runs/1/home',
      TMPDIR: '/runs/1/tmp',
      OUIJA_TASK_FILE: '/runs/1/task.json',
    });
  });

  test('copies passEnv names that are set, and adds explicit values', () => {
    const env = agentEnvironment({ base, ...dirs, passEnv: ['AGENT_API_KEY', 'UNSET_NAME'], env: { MODEL: 'small' }, extra: {} });
    expect(env).toMatchObject({ AGENT_API_KEY: 'key', MODEL: 'small' });
    expect(env).not.toHaveProperty('UNSET_NAME');
  });

  test.each(['GITHUB_TOKEN', 'OUIJA_GITHUB_WEBHOOK_SECRET', 'DATABASE_URL', 'OUIJA_TASK_FILE', 'PGPASSWORD', 'TEMPORAL_API_KEY'])(
    'refuses to hand %s to an agent, through passEnv or env',
    (name) => {
      expect(() => agentEnvironment({ base, ...dirs, passEnv: [name], extra: {} })).toThrow(AgentEnvironmentError);
      expect(() => agentEnvironment({ base, ...dirs, env: { [name]: 'x' }, extra: {} })).toThrow(AgentEnvironmentError);
    },
  );

  test('task variables must be OUIJA_* and not secrets', () => {
    expect(() => agentEnvironment({ base, ...dirs, extra: { GITHUB_TOKEN: 'x' } })).toThrow(AgentEnvironmentError);
    expect(() => agentEnvironment({ base, ...dirs, extra: { OUIJA_TRELLO_SECRET: 'x' } })).toThrow(AgentEnvironmentError);
  });

  test('rejects names that are not variable names', () => {
    expect(() => agentEnvironment({ base, ...dirs, env: { 'A=B': 'x' }, extra: {} })).toThrow(AgentEnvironmentError);
  });
});
