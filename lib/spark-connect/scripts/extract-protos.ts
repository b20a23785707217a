/**
 * Build step: copies Spark Connect's `.proto` files out of the Spark Connect jar.
 *
 *   tsx lib/spark-connect/scripts/extract-protos.ts [<spark-connect jar>] [<outDir>]
 *
 * Without a jar it looks for `infra/jvm/target-jars/spark/spark-connect_*.jar`; the default
 * output is the git-ignored `lib/spark-connect/generated/`.
 */
import { extractProtos, findSparkConnectJar, GENERATED_PROTO_DIR } from '../src/protos.ts';

const [jarArg, outArg] = process.argv.slice(2);
const jar = jarArg ?? findSparkConnectJar();
if (!jar) {
  console.error('no Spark Connect jar given or found; run `npm run infra:setup` first or pass the jar path');
  process.exit(2);
}
const outDir = outArg ?? GENERATED_PROTO_DIR;
const written = extractProtos(jar, outDir);
console.log(`extracted ${written.length} .proto files from ${jar} into ${outDir}`);
