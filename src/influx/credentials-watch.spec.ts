import { CredentialsWatch } from './credentials-watch';

function watch(config: { api: 'v1' | 'v2'; username?: string }) {
  const logged: string[] = [];
  let now = 1_000_000;
  const credentials = new CredentialsWatch(
    config,
    {
      error: (line: string) => logged.push(`error ${line}`),
      log: (line: string) => logged.push(`log ${line}`),
    },
    () => now,
  );
  return { credentials, logged, later: (ms: number) => (now += ms) };
}

describe(CredentialsWatch.name, () => {
  it('names the variables to fix for each API, never their values', () => {
    const v1 = watch({ api: 'v1', username: 'secret-user' });
    const bare = watch({ api: 'v1' });
    const v2 = watch({ api: 'v2' });
    for (const { credentials } of [v1, bare, v2])
      credentials.saw({ kind: 'credentials', status: 403 });

    expect(v1.credentials.problem()).toBe('InfluxDB refuses INFLUX_USERNAME/INFLUX_PASSWORD (403)');
    expect(bare.credentials.problem()).toBe(
      'InfluxDB asks for credentials (403): INFLUX_USERNAME and INFLUX_PASSWORD are not set',
    );
    expect(v2.credentials.problem()).toBe('InfluxDB refuses INFLUX_TOKEN (403)');
    expect(v1.logged.join()).not.toContain('secret-user');
  });

  it('logs an error at most once a minute, and once when the credentials are taken again', () => {
    const { credentials, logged, later } = watch({ api: 'v2' });
    const refused = { kind: 'credentials', status: 401 } as const;

    credentials.saw(refused);
    later(59_999);
    credentials.saw(refused);
    later(1);
    credentials.saw(refused);
    credentials.saw({ kind: 'unavailable', detail: 'down' });
    expect(credentials.refused).toBe(true);
    credentials.saw(undefined);
    credentials.saw(undefined);

    expect(logged).toEqual([
      'error InfluxDB refuses INFLUX_TOKEN (401); events are kept in the spool until this is fixed',
      'error InfluxDB refuses INFLUX_TOKEN (401); events are kept in the spool until this is fixed',
      'log InfluxDB accepts the credentials again',
    ]);
    expect(credentials.refused).toBe(false);
    expect(credentials.problem()).toBeUndefined();
  });

  it('tells its listeners of every refusal', () => {
    const { credentials } = watch({ api: 'v1' });
    let count = 0;
    const stop = credentials.onRefused(() => count++);

    credentials.saw({ kind: 'credentials', status: 401 });
    credentials.saw({ kind: 'refused', status: 400, detail: '' });
    stop();
    credentials.saw({ kind: 'credentials', status: 401 });

    expect(count).toBe(1);
  });
});
