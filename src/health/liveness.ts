import { VERSION as version } from '../version';

/** The liveness answer, the same on PORT (HealthController) and on HEALTH_PORT (HealthListener). */
export const LIVENESS = { status: 'ok', name: 'stats-service', version } as const;
