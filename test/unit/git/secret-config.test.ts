/** Credentials for https remotes reach git through its environment-variable config, never through argv. */
import { gitConfigEnv, githubHttpAuth } from '../../../src/plugins/git';

describe('gitConfigEnv', () => {
  it('numbers each setting as GIT_CONFIG_KEY_n / GIT_CONFIG_VALUE_n with the count', () => {
    expect(gitConfigEnv({ 'a.b': '1', 'http.https://x/.extraheader': 'H: v' })).toEqual({
      GIT_CONFIG_COUNT: '2',
      GIT_CONFIG_KEY_0: 'a.b',
      GIT_CONFIG_VALUE_0: '1',
      GIT_CONFIG_KEY_1: 'http.https://x/.extraheader',
      GIT_CONFIG_VALUE_1: 'H: v',
    });
  });

  it('sets nothing for no settings (a stray GIT_CONFIG_COUNT=0 is not needed)', () => {
    expect(gitConfigEnv({})).toEqual({});
  });
});

describe('githubHttpAuth', () => {
  it('scopes a basic x-access-token header to the https remote, without credentials in the URL', () => {
    const settings = githubHttpAuth('https://github.com/acme/widgets.git', 'ghs_secret');
    expect(Object.keys(settings)).toEqual(['http.https://github.com/acme/widgets.git.extraheader']);
    const header = Object.values(settings)[0]!;
    expect(header).toMatch(/^Authorization: Basic /);
    expect(Buffer.from(header.slice('Authorization: Basic '.length), 'base64').toString()).toBe('x-access-token:ghs_secret');
  });

  it('drops user info from the URL key, and sends nothing to local paths or ssh remotes', () => {
    expect(Object.keys(githubHttpAuth('https://someone@github.com/acme/w.git', 't'))).toEqual(['http.https://github.com/acme/w.git.extraheader']);
    expect(githubHttpAuth('/srv/git/widgets.git', 't')).toEqual({});
    expect(githubHttpAuth('git@github.com:acme/widgets.git', 't')).toEqual({});
  });
});
