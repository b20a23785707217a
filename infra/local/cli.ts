/**
 * `npm run infra:setup | infra:up [svc...] | infra:down [svc...] | infra:status`
 *
 * Local infrastructure without Docker: Redis, Kafka (KRaft) and a Spark Connect server as child
 * processes, with protocol-level readiness checks, logs and pid files under `.run/`.
 */
import { loadConfig } from '../../lib/config.ts';
import { describeError } from '../../lib/errors.ts';
import { downService, parseServices, statusOf, upServices } from './launcher.ts';
import { SERVICE_NAMES } from './services.ts';
import { extractProtos, resolveJars } from './setup.ts';

const log = (line: string) => console.log(line);

async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  const config = loadConfig();
  switch (command) {
    case 'setup':
      resolveJars(log);
      extractProtos(log);
      return 0;
    case 'up': {
      const started = Date.now();
      await upServices(config, parseServices(rest), log);
      log(`all ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      return 0;
    }
    case 'down':
      for (const name of parseServices(rest).reverse()) await downService(config, name, log);
      return 0;
    case 'status': {
      let allReady = true;
      for (const name of parseServices(rest)) {
        const s = await statusOf(config, name);
        allReady &&= s.ready;
        const managed = s.managedPid ? `pid ${s.managedPid}` : 'not managed by infra:up';
        log(
          `${name.padEnd(6)} ${s.ready ? 'UP  ' : 'DOWN'} ${s.endpoint.padEnd(18)} ${managed.padEnd(24)} ${s.description}`,
        );
      }
      return allReady ? 0 : 1;
    }
    default:
      console.error(
        `usage: infra/local/cli.ts setup | up [${SERVICE_NAMES.join('|')} ...] | down [...] | status [...]`,
      );
      return 2;
  }
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    console.error(`error: ${describeError(error)}`);
    process.exit(1);
  },
);
