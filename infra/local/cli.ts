/**
 * `npm run infra:setup | infra:up [svc...] | infra:down [svc...] | infra:status`
 *
 * Local infrastructure without Docker: Redis, Kafka (KRaft) and a Spark Connect server as child
 * processes, with protocol-level readiness checks, logs and pid files under `.run/`. The
 * standalone cluster (`spark-cluster`: master, two workers, a Connect server) starts only when
 * named; a plain `down` stops it too, a plain `status` lists it.
 */
import { loadConfig } from '../../lib/config.ts';
import { describeError } from '../../lib/errors.ts';
import { downService, isManaged, parseServices, statusOf, upServices } from './launcher.ts';
import { DEFAULT_SERVICES, SERVICE_GROUPS, SERVICE_NAMES, type ServiceName } from './services.ts';
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
    case 'down': {
      // Plain `down`: the default services and whatever else infra:up started.
      const names =
        rest.length > 0
          ? parseServices(rest)
          : SERVICE_NAMES.filter(
              (n) => (DEFAULT_SERVICES as readonly ServiceName[]).includes(n) || isManaged(config, n),
            );
      for (const name of [...names].reverse()) await downService(config, name, log);
      return 0;
    }
    case 'status': {
      // Plain `status` lists every service; the optional ones count only when infra:up started them.
      const names = parseServices(rest, SERVICE_NAMES);
      const required = (n: ServiceName) =>
        rest.length > 0 || (DEFAULT_SERVICES as readonly ServiceName[]).includes(n) || isManaged(config, n);
      const width = Math.max(...names.map((n) => n.length));
      let allReady = true;
      for (const name of names) {
        const s = await statusOf(config, name);
        if (required(name)) allReady &&= s.ready;
        const managed = s.managedPid ? `pid ${s.managedPid}` : 'not managed by infra:up';
        log(
          `${name.padEnd(width)} ${s.ready ? 'UP  ' : 'DOWN'} ${s.endpoint.padEnd(18)} ${managed.padEnd(24)} ${s.description}`,
        );
      }
      return allReady ? 0 : 1;
    }
    default:
      console.error(
        `usage: infra/local/cli.ts setup | up [${[...SERVICE_NAMES, ...Object.keys(SERVICE_GROUPS)].join('|')} ...] | down [...] | status [...]`,
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
