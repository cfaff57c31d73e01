import { mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  createDatabase,
  freePort,
  httpRequest,
  influxQuery,
  startInfluxd,
  uniqueDatabase,
  writeLines,
} from './influxd';

// Each test starts influxd; leave room for a slow machine beyond startInfluxd's own 30 s limit.
jest.setTimeout(60_000);

describe(startInfluxd.name, () => {
  let dir: string;

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'influxd-spec-'));
  });

  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('comes back on the same port with the same data after stop and start', async () => {
    const first = await startInfluxd({ dataDir: dir });
    const db = uniqueDatabase();
    try {
      await createDatabase(first.url, db);
      await writeLines(first.url, db, 'm,k=a v=1i 1000');
    } finally {
      await first.stop();
    }
    await expect(httpRequest('GET', `${first.url}/ping`)).rejects.toThrow();

    const second = await startInfluxd({ dataDir: dir, port: first.port });
    try {
      expect(second.url).toBe(first.url);
      expect(second.pid).not.toBe(first.pid);
      await expect(
        influxQuery(second.url, db, 'SELECT * FROM m GROUP BY *', 'ns'),
      ).resolves.toEqual([{ k: 'a', time: 1000, v: 1 }]);
    } finally {
      await second.stop();
    }
  });

  it('goes down and up again with down() and up(), and stop() removes the temp dir it made', async () => {
    const influxd = await startInfluxd();
    const db = uniqueDatabase();
    try {
      await createDatabase(influxd.url, db);
      await writeLines(influxd.url, db, 'm v=2 2000');
      await influxd.down();
      await expect(httpRequest('GET', `${influxd.url}/ping`)).rejects.toThrow();
      await influxd.up();
      await expect(influxQuery(influxd.url, db, 'SELECT v FROM m', 'ns')).resolves.toEqual([
        { time: 2000, v: 2 },
      ]);
    } finally {
      await influxd.stop();
    }
    await expect(stat(influxd.dataDir)).rejects.toMatchObject({ code: 'ENOENT' });
  });

  it('fails clearly when the port is taken', async () => {
    const port = await freePort();
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      await expect(startInfluxd({ dataDir: dir, port })).rejects.toThrow(
        `influxd: port ${port} on 127.0.0.1 is not available (EADDRINUSE)`,
      );
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });
});
