/**
 * `tradecore run`: the command line around `Service` (src/cli/service.ts): arguments, signals,
 * the start-up line and the exit codes.
 */
import { parseArgs } from 'node:util';
import { createLogger } from '../ops/logger.js';
import { parseClockSpec } from '../core/clock.js';
import { DEFAULT_DATA_DIR, DEFAULT_OPS_PORT, Service, ServiceError } from './service.js';
import { UsageError } from './net-commands.js';

export const RUN_USAGE = `  run       run the engine as a service until stopped (docs/service.md)
            --config FILE     the config file (required): instruments, risk, markets and
                              the service sections broker, ops, monitor, shutdown, recon,
                              tradingDay (docs/example-config.yaml)
            --strategy MODULE an ES module whose default export is a strategy factory
                              (examples/strategy.mjs); without it the engine holds state,
                              reconciles and takes operator commands
            --data DIR        journal, broker records and reports (default ${DEFAULT_DATA_DIR});
                              one run per directory
            --ops-port N      ops endpoint and page port (default: ops.port, else ${DEFAULT_OPS_PORT};
                              0 picks a free one); token from TRADECORE_OPS_TOKEN or
                              ops.tokenFile, without one the endpoint is read-only
            prints {"event":"started",...} on stdout once Ready
            --clock SPEC      system (default), or accelerated=N[,start=ISO]: simulated
                              time N times the wall clock from START (default now), for
                              the engine, the embedded broker, monitor and strategy timers
                              (accelerated=60: an hour a minute); embedded broker only
            --until-roll      stop as on SIGTERM once the trading day has rolled and its
                              end-of-day report is written (a full day as go-live evidence:
                              docs/go-live.md)
            SIGTERM, SIGINT: stop gracefully (open orders per shutdown.openOrders, a
            snapshot), exit 0; a second signal exits at once with 130
            SIGHUP: reload the risk section; a file with a problem changes nothing
            exit status: 0 stopped by a signal; 1 could not start, or failed running;
            2 usage or config error; 3 the data directory is in use by another run;
            4 the data directory cannot be used with this broker as it is (the reason
            is printed)`;

export async function runCommand(argv: string[]): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: { config: { type: 'string' }, strategy: { type: 'string' }, data: { type: 'string' }, 'ops-port': { type: 'string' }, clock: { type: 'string' }, 'until-roll': { type: 'boolean' } },
      strict: true,
      allowPositionals: false,
    }));
  } catch (err) {
    throw new UsageError((err as Error).message);
  }
  if (values.config === undefined) throw new UsageError('run needs --config FILE');
  let opsPort: number | undefined;
  if (values['ops-port'] !== undefined) {
    opsPort = Number(values['ops-port']);
    if (!Number.isInteger(opsPort) || opsPort < 0 || opsPort > 65535) throw new UsageError(`--ops-port must be a whole number from 0 to 65535, got "${values['ops-port']}"`);
  }
  let clock;
  if (values.clock !== undefined) {
    try {
      clock = parseClockSpec(values.clock);
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  }
  const logger = createLogger(process.env.TRADECORE_LOG_LEVEL ?? 'info');
  const note = (line: string) => process.stderr.write(`tradecore run: ${line}\n`);
  const service = new Service({
    configFile: values.config,
    ...(values.strategy !== undefined ? { strategyModule: values.strategy } : {}),
    ...(values.data !== undefined ? { dataDir: values.data } : {}),
    ...(opsPort !== undefined ? { opsPort } : {}),
    ...(clock !== undefined ? { clock } : {}),
    logger,
    note,
  });
  // signals from the start: a SIGTERM while starting stops as soon as the start is done
  let stopRequested: string | undefined;
  let wake: (() => void) | undefined;
  const onStop = (signal: NodeJS.Signals) => {
    if (stopRequested !== undefined) {
      note(`${signal} again: exiting now`);
      process.exit(130);
    }
    stopRequested = signal;
    note(`${signal}: stopping`);
    wake?.();
  };
  const onHup = () => {
    const r = service.reload();
    note(r.message);
    if (r.ok) logger.warn(r.message);
    else logger.error(r.message);
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onHup);
  try {
    let started;
    try {
      started = await service.start();
    } catch (err) {
      if (err instanceof ServiceError) {
        note(err.message);
        return err.exitCode;
      }
      throw err;
    }
    note(`ready: ${started.broker} (${started.environment}), data ${started.dataDir}, ops page ${started.opsUrl}${started.readOnly ? ' (read-only: no TRADECORE_OPS_TOKEN or ops.tokenFile, so every command is refused)' : ''}${started.restored !== null ? `, restored from the journal (snapshot seq ${started.restored.snapshotSeq}, ${started.restored.replayed} records replayed)` : ''}`);
    process.stdout.write(`${JSON.stringify(started)}\n`);
    let rollWatch: ReturnType<typeof setInterval> | undefined;
    if (values['until-roll'] === true && stopRequested === undefined) {
      const engine = service.running!;
      const day0 = engine.currentDay.day;
      let seen = false;
      rollWatch = setInterval(() => {
        if (seen || engine.currentDay.day === day0) return;
        seen = true;
        // the day's report is written off the main thread: stop once it is on disk
        void Promise.resolve(engine.lastDayReport).then((files) => {
          note(`the trading day ${day0} rolled${files !== undefined ? `; its end-of-day report: ${files.json}` : ' (no end-of-day report: tradingDay.reportDir is not set or the report failed)'}: stopping (--until-roll)`);
          stopRequested ??= 'until-roll';
          wake?.();
        });
      }, 20);
    }
    if (stopRequested === undefined) await new Promise<void>((resolve) => (wake = resolve));
    if (rollWatch !== undefined) clearInterval(rollWatch);
    const s = await service.stop(stopRequested === 'until-roll' ? 'the trading day rolled (--until-roll)' : `signal ${stopRequested}`);
    note(`stopped (${s.reason}): ${s.cancelsSent} cancel(s) sent, ${s.openOrdersLeft} open order(s) left at the broker, ${s.snapshot ? 'snapshot written' : 'no snapshot'}`);
    process.stdout.write(`${JSON.stringify({ event: 'stopped', ...s })}\n`);
    return 0;
  } catch (err) {
    note(`failed: ${(err as Error).message}`);
    await service.stop('failure').catch(() => {});
    return 1;
  } finally {
    process.off('SIGTERM', onStop);
    process.off('SIGINT', onStop);
    process.off('SIGHUP', onHup);
  }
}
