import { MetricsService } from './metrics.service';

const NAMES = {
  stats_http_requests_total: 'counter',
  stats_http_request_duration_seconds: 'histogram',
  stats_events_total: 'counter',
  stats_influx_write_duration_seconds: 'histogram',
  stats_influx_write_lines: 'histogram',
  stats_influx_write_failures_total: 'counter',
  stats_spool_bytes: 'gauge',
  stats_spool_records: 'gauge',
  stats_spool_oldest_record_age_seconds: 'gauge',
  stats_spool_drained_lines_total: 'counter',
  stats_spool_dead_lettered_lines_total: 'counter',
};

describe(MetricsService.name, () => {
  it('renders every instrument and the process metrics as Prometheus text', async () => {
    const { contentType, body } = await new MetricsService().render();

    expect(contentType).toBe('text/plain; version=0.0.4; charset=utf-8');
    for (const [name, type] of Object.entries(NAMES)) {
      expect(body).toContain(`# TYPE ${name} ${type}\n`);
    }
    expect(body).toContain('# TYPE process_cpu_seconds_total counter\n');
  });

  it('renders recorded values with their labels', async () => {
    const metrics = new MetricsService();
    metrics.events.inc({ outcome: 'refused', reason: 'type_conflict' }, 3);
    metrics.influxWriteFailures.inc({ kind: 'unavailable' });
    metrics.spoolBytes.set(4096);
    metrics.influxBatchLines.observe(5000);

    const { body } = await metrics.render();

    expect(body).toContain('stats_events_total{outcome="refused",reason="type_conflict"} 3\n');
    expect(body).toContain('stats_influx_write_failures_total{kind="unavailable"} 1\n');
    expect(body).toContain('stats_spool_bytes 4096\n');
    expect(body).toContain('stats_influx_write_lines_bucket{le="5000"} 1\n');
    expect(body).toContain('stats_influx_write_lines_bucket{le="2000"} 0\n');
  });

  it('gives each instance a registry of its own', async () => {
    const first = new MetricsService();
    const second = new MetricsService();

    first.spoolDrained.inc(7);

    expect((await first.render()).body).toContain('stats_spool_drained_lines_total 7\n');
    expect((await second.render()).body).toContain('stats_spool_drained_lines_total 0\n');
  });

  it('times HTTP requests from 1 ms to 10 s', async () => {
    const metrics = new MetricsService();
    metrics.httpDuration.observe({ method: 'GET', route: '/ping', status: '200' }, 0.0005);

    const { body } = await metrics.render();

    const bounds = [
      ...body.matchAll(/^stats_http_request_duration_seconds_bucket\{le="([^"]+)"/gm),
    ];
    expect(bounds.map((match) => match[1])).toEqual([
      '0.001',
      '0.0025',
      '0.005',
      '0.01',
      '0.025',
      '0.05',
      '0.1',
      '0.25',
      '0.5',
      '1',
      '2.5',
      '5',
      '10',
      '+Inf',
    ]);
  });
});
