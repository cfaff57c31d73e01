import type { Server } from 'node:net';
import { ConfigError } from '../env';

/**
 * Connections the kernel may hold for the service before it accepts them (Linux caps it at
 * net.core.somaxconn). Node's default, 511, is below the 2,000 connections a spike opens at
 * once: past the queue, the kernel drops handshakes and clients wait seconds for their retries.
 */
export const LISTEN_BACKLOG = 4096;

/**
 * Listens on HOST:PORT (or the port variable `portVariable` names). A failure is a ConfigError
 * naming the variable and the rule in one line (not Nest's logged error plus a resolver stack):
 * the host and port come from the environment.
 */
export async function listen(
  server: Server,
  port: number,
  host: string,
  portVariable = 'PORT',
): Promise<void> {
  try {
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen({ port, host, backlog: LISTEN_BACKLOG }, () => {
        server.off('error', reject);
        resolve();
      });
    });
  } catch (error) {
    throw listenError(error, portVariable);
  }
}

/** The ConfigError for a failure to listen on HOST and the port `portVariable` names. */
export function listenError(error: unknown, portVariable: string): unknown {
  const code = (error as NodeJS.ErrnoException).code;
  switch (code) {
    case 'EADDRINUSE':
      return new ConfigError(
        `${portVariable} must be free on HOST; it is already in use (EADDRINUSE)`,
      );
    case 'EACCES':
      return new ConfigError(`${portVariable} must be one this user may listen on (EACCES)`);
    case 'EADDRNOTAVAIL':
      return new ConfigError('HOST must be an address of this machine (EADDRNOTAVAIL)');
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EAI_FAIL':
    case 'EAI_NONAME':
      return new ConfigError(`HOST must be an IP address or a name that resolves (${code})`);
    default:
      return error;
  }
}
