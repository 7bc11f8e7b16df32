/** The bubblewrap command line: what is writable, hidden and isolated, and in which order the mounts apply. */
import { bwrapArgs, findBwrap, SandboxError } from '../../../src/plugins/agent/sandbox';

/** The mount operations as [flag, destination] pairs, in order. */
function mounts(args: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === '--') break;
    if (flag === '--tmpfs') out.push([flag, args[++i]!]);
    else if (flag === '--bind' || flag === '--ro-bind') {
      i++;
      out.push([flag, args[++i]!]);
    }
  }
  return out;
}

const plan = {
  cwd: '/data/workspaces/worktrees/card-1',
  writable: ['/data/runs/card-1/attempt-1', '/data/runs/card-1/state', '/data/workspaces/mirrors/m.git/objects'],
  readOnly: ['/data/workspaces/mirrors/m.git'],
  hidden: ['/data'],
};

describe('bwrapArgs', () => {
  const args = bwrapArgs(plan, '/usr/bin/node', ['agent.js', '--flag']);

  it('runs the command as is after `--`, in the worktree', () => {
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '/usr/bin/node', 'agent.js', '--flag']);
    expect(args[args.indexOf('--chdir') + 1]).toBe(plan.cwd);
  });

  it('shows the system read-only, hides the data directory, and makes only the run paths writable', () => {
    const m = mounts(args);
    expect(m[0]).toEqual(['--ro-bind', '/']);
    expect(m.filter(([flag]) => flag === '--bind').map(([, dir]) => dir).sort()).toEqual([plan.cwd, ...plan.writable].sort());
    expect(m).toContainEqual(['--tmpfs', '/data']);
    expect(m).toContainEqual(['--tmpfs', '/tmp']);
    expect(m).toContainEqual(['--ro-bind', '/data/workspaces/mirrors/m.git']);
  });

  it('mounts every directory after its parents, so nothing writable is covered up again', () => {
    const order = mounts(args).map(([, dir]) => dir);
    for (const [i, dir] of order.entries()) {
      for (const later of order.slice(i + 1)) expect(dir.startsWith(`${later}/`)).toBe(false);
    }
  });

  it('isolates processes and capabilities but keeps the network and the process group', () => {
    expect(args).toEqual(expect.arrayContaining(['--unshare-pid', '--die-with-parent', '--cap-drop', 'ALL']));
    expect(args.indexOf('--proc')).toBeGreaterThan(-1);
    expect(args).not.toContain('--unshare-net');
    expect(args).not.toContain('--unshare-all');
    // A new session would take the agent out of the process group that cancellation and shutdown kill.
    expect(args).not.toContain('--new-session');
  });

  it('refuses relative paths', () => {
    expect(() => bwrapArgs({ ...plan, writable: ['runs/x'] }, 'node', [])).toThrow(SandboxError);
  });
});

describe('findBwrap', () => {
  it('says how to install bubblewrap when it is not on PATH', () => {
    expect(() => findBwrap('/nonexistent-dir')).toThrow(/apt-get install bubblewrap/);
    expect(() => findBwrap(undefined)).toThrow(SandboxError);
  });
});
