/** Which remotes the git plugin accepts (pure: no git runs). */
import { parseRemote, UnsafeGitInputError } from '../../../src/plugins/git';

describe('parseRemote', () => {
  it.each([
    ['/srv/repos/app.git', '/srv/repos/app.git'],
    ['/srv/repos/app.git/', '/srv/repos/app.git'],
    ['file:///srv/repos/app.git', 'file:///srv/repos/app.git'],
    ['https://github.com/acme/app.git', 'https://github.com/acme/app.git'],
    ['ssh://git@github.com:22/acme/app.git', 'ssh://git@github.com:22/acme/app.git'],
    ['git@github.com:acme/app.git', 'git@github.com:acme/app.git'],
  ])('accepts %s', (repo, url) => {
    expect(parseRemote(repo)).toEqual({ url, fingerprint: expect.stringMatching(/^[0-9a-f]{16}$/) });
  });

  it.each([
    'relative/app.git',
    './app.git',
    'http://example.com/app.git',
    'git://example.com/app.git',
    'ext::sh -c touch% /tmp/pwned',
    'fd::3',
    '-uhello',
    'git@-oProxyCommand=x:app.git',
    'git@host:-app.git',
    'https://user:token@github.com/acme/app.git',
    '/srv/repo\n.git',
    '',
  ])('refuses %j', (repo) => {
    expect(() => parseRemote(repo)).toThrow(UnsafeGitInputError);
  });

  it('gives one fingerprint per remote', () => {
    expect(parseRemote('/srv/a.git').fingerprint).toBe(parseRemote('/srv/a.git/').fingerprint);
    expect(parseRemote('/srv/a.git').fingerprint).not.toBe(parseRemote('/srv/b.git').fingerprint);
  });
});
