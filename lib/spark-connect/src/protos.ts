/**
 * Finding, extracting and loading Spark Connect's `.proto` files.
 *
 * The files are not part of the repository: they ship inside Spark's `spark-connect_2.13-<v>.jar`
 * under `spark/connect/`. `extractProtos()` copies them out at build time (the infra setup calls
 * `scripts/extract-protos.ts`); `loadProtocol()` finds them at run time and loads them with
 * protobufjs, extracting lazily from the jar when they are missing.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { unzipSync } from 'fflate';
import protobuf from 'protobufjs';
import { SparkConnectProtocolError } from './errors.ts';

const packageDir = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Where the build step writes the protos (git-ignored). */
export const GENERATED_PROTO_DIR = join(packageDir, 'generated');

const PROTO_PREFIX = 'spark/connect/';

/**
 * Copies `spark/connect/*.proto` out of a Spark Connect jar into `outDir` (keeping the
 * `spark/connect/` sub-path) and returns the relative paths written.
 */
export function extractProtos(jarPath: string, outDir: string = GENERATED_PROTO_DIR): string[] {
  if (!existsSync(jarPath)) throw new SparkConnectProtocolError(`jar not found: ${jarPath}`);
  const entries = unzipSync(readFileSync(jarPath), {
    filter: (file) => file.name.startsWith(PROTO_PREFIX) && file.name.endsWith('.proto'),
  });
  const names = Object.keys(entries).sort();
  if (!names.includes(`${PROTO_PREFIX}base.proto`)) {
    throw new SparkConnectProtocolError(
      `${jarPath} has no ${PROTO_PREFIX}base.proto: not a Spark Connect jar`,
    );
  }
  for (const name of names) {
    const target = join(outDir, name);
    mkdirSync(dirname(target), { recursive: true });
    writeFileSync(target, entries[name]!);
  }
  return names;
}

/** Looks for `infra/jvm/target-jars/spark/spark-connect_*.jar` in this folder and its parents. */
export function findSparkConnectJar(from: string = packageDir): string | undefined {
  const fromEnv = process.env['SPARK_CONNECT_JAR'];
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  let dir = from;
  for (;;) {
    const jarDir = join(dir, 'infra', 'jvm', 'target-jars', 'spark');
    if (existsSync(jarDir)) {
      const jar = readdirSync(jarDir).find((f) => /^spark-connect_[\d.]+-[\w.-]+\.jar$/.test(f));
      if (jar) return join(jarDir, jar);
    }
    const parent = dirname(dir);
    if (parent === dir) return undefined;
    dir = parent;
  }
}

const hasProtos = (dir: string) => existsSync(join(dir, PROTO_PREFIX, 'base.proto'));

/**
 * The folder holding `spark/connect/*.proto`: `SPARK_CONNECT_PROTO_DIR`, else the generated
 * folder, else extracted now from the resolved jar.
 */
export function resolveProtoDir(): string {
  const fromEnv = process.env['SPARK_CONNECT_PROTO_DIR'];
  if (fromEnv) {
    if (hasProtos(fromEnv)) return fromEnv;
    throw new SparkConnectProtocolError(
      `SPARK_CONNECT_PROTO_DIR=${fromEnv} has no ${PROTO_PREFIX}base.proto; point it at the folder that contains spark/connect/`,
    );
  }
  if (hasProtos(GENERATED_PROTO_DIR)) return GENERATED_PROTO_DIR;
  const jar = findSparkConnectJar();
  if (jar) {
    extractProtos(jar, GENERATED_PROTO_DIR);
    return GENERATED_PROTO_DIR;
  }
  throw new SparkConnectProtocolError(
    'Spark Connect .proto files not found. Run `npm run infra:setup` (resolves the Spark jars and extracts the protos), ' +
      'or `tsx lib/spark-connect/scripts/extract-protos.ts <spark-connect_2.13-x.y.z.jar>`, ' +
      'or set SPARK_CONNECT_PROTO_DIR to a folder containing spark/connect/*.proto.',
  );
}

/** google.rpc.Status and ErrorInfo: how Spark attaches error details to a gRPC status. */
const RPC_STATUS_DESCRIPTOR = {
  nested: {
    google: {
      nested: {
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 },
              },
            },
          },
        },
      },
    },
  },
};

export interface Protocol {
  root: protobuf.Root;
  type(name: string): protobuf.Type;
}

let cached: Protocol | undefined;

/** Loads (once) every Spark Connect message type. */
export function loadProtocol(): Protocol {
  if (cached) return cached;
  const dir = resolveProtoDir();
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) => {
    if (target.startsWith('google/protobuf/')) return target;
    return join(dir, target);
  };
  const files = readdirSync(join(dir, PROTO_PREFIX))
    .filter((f) => f.endsWith('.proto'))
    .map((f) => `${PROTO_PREFIX}${f}`);
  try {
    root.loadSync(files, { keepCase: false });
    root.addJSON(RPC_STATUS_DESCRIPTOR.nested);
    root.resolveAll();
  } catch (error) {
    throw new SparkConnectProtocolError(`cannot load the Spark Connect protos from ${dir}`, { cause: error });
  }
  const types = new Map<string, protobuf.Type>();
  cached = {
    root,
    type(name) {
      let t = types.get(name);
      if (!t) {
        t = root.lookupType(name);
        types.set(name, t);
      }
      return t;
    },
  };
  return cached;
}
