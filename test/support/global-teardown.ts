/** Jest globalTeardown of the e2e project: stops the influxd that global-setup started, if any. */
import { shared } from './global-setup';

export default async function globalTeardown(): Promise<void> {
  const influxd = shared.e2eInfluxd;
  if (influxd === undefined) return;
  shared.e2eInfluxd = undefined;
  // Jest's watch mode runs setup again in this process: let it start a new server.
  if (process.env.INFLUX_URL === influxd.url) delete process.env.INFLUX_URL;
  await influxd.stop();
}
