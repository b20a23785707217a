/**
 * `npm start`: the quickstart. Until it lands, it explains what to run instead.
 */
console.log(
  [
    'npm start (the one-command quickstart) is coming: it will generate sample data, train on local Spark,',
    'and serve recommendations on :8000 with live updates.',
    '',
    'Today you can run the pieces:',
    '  npm run infra:setup          # JVM jars through Maven (once)',
    '  npm run infra:up             # Redis, Kafka, Spark Connect as local processes',
    '  npm test                     # every test, starting what it needs',
  ].join('\n'),
);
