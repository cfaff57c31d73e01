/**
 * How the service writes its log: `pretty` (one plain line per entry, for a person at a
 * terminal) when stdout is a terminal and NODE_ENV is not `production`; JSON lines otherwise,
 * for log shippers, files and pipes. Production always gets JSON, even on a terminal
 * (`kubectl run -it`, `docker run -t`), so that what ships logs never sees another format.
 */
export type LogFormat = 'json' | 'pretty';

export function logFormat(nodeEnv: string | undefined, stdoutIsTty: boolean): LogFormat {
  return stdoutIsTty && nodeEnv?.trim() !== 'production' ? 'pretty' : 'json';
}
