/** The bubblewrap command line: what is writable, hidden and isolated, and in which order the mounts apply. */
import { bwrapArgs, describeSandboxes, findBwrap, programRoot, SandboxError, type SandboxPlan } from '../../../src/plugins/agent/sandbox';

/** The mount operations as [flag, destination] pairs, in order. */
function mounts(args: string[]): Array<[string, string]> {
  const out: Array<[string, string]> = [];
  for (let i = 0; i < args.length; i++) {
    const flag = args[i]!;
    if (flag === '--') break;
    if (flag === '--tmpfs' || flag === '--remount-ro') out.push([flag, args[++i]!]);
    else if (flag === '--bind' || flag === '--ro-bind' || flag === '--symlink') {
      i++;
      out.push([flag, args[++i]!]);
    }
  }
  return out;
}

const plan: SandboxPlan = {
  cwd: '/data/workspaces/worktrees/card-1',
  mounts: [
    { kind: 'ro', path: '/usr' },
    { kind: 'symlink', path: '/bin', target: 'usr/bin' },
    { kind: 'ro', path: '/etc' },
    { kind: 'mask', path: '/etc/shadow' },
    { kind: 'tmpfs', path: '/tmp' },
    { kind: 'tmpfs', path: '/data' },
    { kind: 'ro', path: '/data/workspaces/cards/card-1.git' },
    { kind: 'ro', path: '/data/workspaces/mirrors/m.git/objects' },
    { kind: 'rw', path: '/data/workspaces/worktrees/card-1' },
    { kind: 'rw', path: '/data/runs/card-1/attempt-1' },
    { kind: 'rw', path: '/data/runs/card-1/state' },
    { kind: 'rw', path: '/data/workspaces/cards/card-1.git/objects' },
    { kind: 'ro', path: '/data/workspaces/cards/card-1.git/objects/info' },
    { kind: 'ro', path: '/opt/agent/bin/agent', source: '/opt/agent/real/agent' },
  ],
};
const writable = ['/data/workspaces/worktrees/card-1', '/data/runs/card-1/attempt-1', '/data/runs/card-1/state', '/data/workspaces/cards/card-1.git/objects'];

describe('bwrapArgs', () => {
  const args = bwrapArgs(plan, '/usr/bin/node', ['agent.js', '--flag']);

  it('runs the command as is after `--`, in the worktree', () => {
    expect(args.slice(args.indexOf('--'))).toEqual(['--', '/usr/bin/node', 'agent.js', '--flag']);
    expect(args[args.indexOf('--chdir') + 1]).toBe(plan.cwd);
  });

  it('builds the root from what it is told to show: no bind of / itself, and the root is read-only', () => {
    const m = mounts(args);
    expect(m.filter(([flag]) => flag !== '--remount-ro').map(([, dir]) => dir)).not.toContain('/');
    expect(m).toContainEqual(['--ro-bind', '/usr']);
    expect(m).toContainEqual(['--symlink', '/bin']);
    expect(args.slice(args.indexOf('--symlink'), args.indexOf('--symlink') + 3)).toEqual(['--symlink', 'usr/bin', '/bin']);
    expect(m).toContainEqual(['--tmpfs', '/data']);
    expect(m).toContainEqual(['--tmpfs', '/tmp']);
    expect(m.filter(([flag]) => flag === '--bind').map(([, dir]) => dir).sort()).toEqual([...writable].sort());
    expect(m[m.length - 1]).toEqual(['--remount-ro', '/']);
  });

  it('masks a file with /dev/null and binds an alias from its source', () => {
    const at = (dest: string) => args.slice(args.indexOf(dest) - 2, args.indexOf(dest) + 1);
    expect(at('/etc/shadow')).toEqual(['--ro-bind', '/dev/null', '/etc/shadow']);
    expect(at('/opt/agent/bin/agent')).toEqual(['--ro-bind', '/opt/agent/real/agent', '/opt/agent/bin/agent']);
  });

  it('mounts every directory after its parents, so nothing writable is covered up again', () => {
    const order = mounts(args).filter(([flag]) => flag !== '--remount-ro').map(([, dir]) => dir);
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

  it('keeps the protected alternates read-only on top of the writable objects directory', () => {
    const order = mounts(args).map(([flag, dir]) => `${flag} ${dir}`);
    expect(order.indexOf('--ro-bind /data/workspaces/cards/card-1.git/objects/info')).toBeGreaterThan(order.indexOf('--bind /data/workspaces/cards/card-1.git/objects'));
  });

  it('refuses relative paths', () => {
    expect(() => bwrapArgs({ ...plan, mounts: [{ kind: 'rw', path: 'runs/x' }] }, 'node', [])).toThrow(SandboxError);
  });
});

describe('programRoot', () => {
  it('is the outermost node_modules of a package program, else the file alone', () => {
    expect(programRoot('/home/u/.nvm/lib/node_modules/@anthropic-ai/claude-code/cli.js')).toBe('/home/u/.nvm/lib/node_modules');
    expect(programRoot('/w/node_modules/a/node_modules/b/bin.js')).toBe('/w/node_modules');
    expect(programRoot('/home/u/agent.js')).toBe('/home/u/agent.js');
  });
});

describe('describeSandboxes', () => {
  const usable = { usable: true as const, bwrap: '/usr/bin/bwrap' };
  const missing = { usable: false as const, reason: 'bwrap is not on PATH' };
  it('says sandboxed, naming the profiles that opted out', () => {
    expect(describeSandboxes([{ name: 'agent', mode: 'bwrap' }], usable)).toBe('sandboxed (bubblewrap, /usr/bin/bwrap)');
    expect(describeSandboxes([{ name: 'agent', mode: 'bwrap' }, { name: 'agents.codex', mode: 'none' }], usable)).toMatch(/^sandboxed .*UNSANDBOXED by "sandbox": "none": agents\.codex$/);
  });
  it('says refused when bwrap cannot run, and unsandboxed when every profile opted out', () => {
    expect(describeSandboxes([{ name: 'agent', mode: 'bwrap' }], missing)).toMatch(/^REFUSED: agent would run sandboxed, but bwrap is not on PATH/);
    expect(describeSandboxes([{ name: 'agent', mode: 'none' }], missing)).toMatch(/^UNSANDBOXED/);
  });
});

describe('findBwrap', () => {
  it('says how to install bubblewrap when it is not on PATH', () => {
    expect(() => findBwrap('/nonexistent-dir')).toThrow(/apt-get install bubblewrap/);
    expect(() => findBwrap(undefined)).toThrow(SandboxError);
  });
});
