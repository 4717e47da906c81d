import { pino, symbols, type Logger } from 'pino';

export type { Logger };

/** Paths redacted from every log line (credentials reach the logger only by mistake). */
export const REDACT_PATHS = ['password', 'secret', 'token', 'apiKey', '*.password', '*.secret', '*.token', '*.apiKey'];

/**
 * The default logger: pino to stderr, level from TRADECORE_LOG_LEVEL (default "warn"), so an
 * embedding process sees problems and nothing per order. Inject your own with `logger`.
 */
export function createLogger(level = process.env.TRADECORE_LOG_LEVEL ?? 'warn'): Logger {
  return pino({ level, base: { name: 'tradecore' }, redact: { paths: REDACT_PATHS, censor: '[redacted]' } }, pino.destination(2));
}

const LEVEL_VAL = symbols.levelValSym;

/**
 * Whether `logger` writes debug lines: pino's own numeric level, read from the slot its
 * `levelVal` getter reads (the getter call measured ~2.5% of a submit, asked once per order).
 * Follows level changes exactly; a logger without that slot is asked through `levelVal`.
 */
export function debugEnabled(logger: Logger): boolean {
  const v = (logger as unknown as Record<symbol, number | undefined>)[LEVEL_VAL];
  return (v !== undefined ? v : logger.levelVal) <= 20;
}
