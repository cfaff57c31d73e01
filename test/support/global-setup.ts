/**
 * Jest globalSetup of the e2e project: one InfluxDB for the whole run. With INFLUX_URL set, that
 * server is used as it is; otherwise a throwaway influxd starts and INFLUX_URL points at it
 * (workers inherit the environment). Specs isolate themselves with uniqueDatabase().
 */
import { httpRequest, startInfluxd, type InfluxdHandle } from './influxd';

/** Where the handle waits for global-teardown (both run in Jest's main process). */
export const shared = globalThis as { e2eInfluxd?: InfluxdHandle };

/** The URL without user:password, fit for a log line. */
function printable(url: string): string {
  try {
    const parsed = new URL(url);
    parsed.username = '';
    parsed.password = '';
    return parsed.toString().replace(/\/$/, '');
  } catch {
    return '(unparseable INFLUX_URL)';
  }
}

export default async function globalSetup(): Promise<void> {
  const given = process.env.INFLUX_URL?.trim();
  if (given) {
    const ping = await httpRequest('GET', `${given.replace(/\/$/, '')}/ping`).catch(
      (error: Error) => ({ status: 0, body: error.message }),
    );
    if (ping.status < 200 || ping.status >= 300) {
      const reason = ping.status === 0 ? ping.body : `status ${ping.status}`;
      throw new Error(`INFLUX_URL ${printable(given)} does not answer /ping (${reason})`);
    }
    process.stderr.write(`\n[e2e] InfluxDB from INFLUX_URL: ${printable(given)}\n`);
    return;
  }
  const influxd = await startInfluxd();
  shared.e2eInfluxd = influxd;
  process.env.INFLUX_URL = influxd.url;
  process.stderr.write(
    `\n[e2e] started influxd ${influxd.url} (pid ${influxd.pid}, ${influxd.dataDir})\n`,
  );
}
