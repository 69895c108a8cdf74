import pg from 'pg';

// The benchmark's database, built the same way every time (no random(): every value comes from
// the row number), shaped like issue 13's measurement: pgbench's accounts (≈54 % of the size,
// blank filler that compresses to almost nothing), text-heavy crawler articles (≈30 %, the
// bulk of the dump's bytes) and jsonb prediction signals (≈15 %) referencing them. The two
// last are the critical tables the backup also writes as CSV. `megabytes` scales every table.

export const CRITICAL_TABLES = ['crawler.articles', 'prediction.signals'] as const;

/** The config the benchmark runs dbops with: the two critical tables, nothing left out. */
export const BENCH_CONFIG = `categories:
  core:
    description: the benchmark's critical data
    patterns: [crawler.*, prediction.*]
    exclude: never
critical_tables: [${CRITICAL_TABLES.join(', ')}]
`;

// 256 common English words: article bodies are drawn from them by a hash of the row number.
const WORDS = `the of and to in is that for it as was with be by on not he this are or his from at which but have an they you were her she there been one all we their has would when if so no what can more will who about out up them some could other into than then only its time like these two may first any new also after most made over did many before must through years where much your way well down should because each just those people how too little state good very make world still own see men work long here get both between life being under never day same another know while last might us great old year off come since against go came right used take three`;

export function benchStatements(megabytes: number): string[] {
  const scaled = (rowsAt800: number) => `(${megabytes}::bigint * ${rowsAt800} / 800)`;
  const branches = `greatest(1, ${scaled(35)})`;
  const articles = `greatest(1, ${scaled(120_000)})`;
  return [
    'CREATE SCHEMA crawler',
    'CREATE SCHEMA prediction',
    'CREATE TABLE public.pgbench_branches (bid int PRIMARY KEY, bbalance int, filler char(88))',
    'CREATE TABLE public.pgbench_tellers (tid int PRIMARY KEY, bid int, tbalance int, filler char(84))',
    'CREATE TABLE public.pgbench_accounts (aid int PRIMARY KEY, bid int, abalance int, filler char(84)) WITH (fillfactor = 100)',
    `INSERT INTO public.pgbench_branches SELECT b, 0, '' FROM generate_series(1, ${branches}) b`,
    `INSERT INTO public.pgbench_tellers SELECT t, (t - 1) / 10 + 1, 0, '' FROM generate_series(1, 10 * ${branches}) t`,
    `INSERT INTO public.pgbench_accounts SELECT a, (a - 1) / 100000 + 1, 0, '' FROM generate_series(1, ${scaled(2_900_000)}) a`,
    'CREATE TABLE crawler.articles (id bigint PRIMARY KEY, url text NOT NULL, title text, lang text, fetched_at timestamptz, word_count int, body text)',
    `WITH words AS (SELECT regexp_split_to_array('${WORDS}', ' ') AS w)
     INSERT INTO crawler.articles
     SELECT g, 'https://news.example.com/' || (g % 97) || '/' || md5('u' || g),
            initcap((SELECT string_agg(w[1 + (abs(hashint8(g * 16 + k)) % 256)], ' ') FROM generate_series(1, 8) k)),
            (ARRAY['en', 'de', 'fr', 'es'])[1 + g % 4],
            timestamptz '2024-01-01 00:00:00+00' + make_interval(secs => g * 37),
            540,
            (SELECT string_agg(CASE WHEN k % 9 = 0 THEN substr(md5(g::text || ':' || k), 1, 6 + k % 5) ELSE w[1 + (abs(hashint8(g * 1000 + k)) % 256)] END, ' ')
               FROM generate_series(1, 540) k)
       FROM words, generate_series(1, ${articles}) g`,
    `CREATE TABLE prediction.signals (id bigint PRIMARY KEY, article_id bigint NOT NULL REFERENCES crawler.articles (id), at timestamptz NOT NULL,
       kind text NOT NULL, score double precision, payload jsonb NOT NULL)`,
    `INSERT INTO prediction.signals
     SELECT g, 1 + (g * 7) % ${articles},
            timestamptz '2024-06-01 00:00:00+00' + make_interval(secs => g * 11),
            (ARRAY['trend', 'spike', 'sentiment', 'topic', 'anomaly'])[1 + g % 5],
            (abs(hashint8(g)) % 1000000) / 1000000.0,
            jsonb_build_object('model', 'm' || (g % 7), 'version', 1 + g % 3, 'confidence', (abs(hashint8(g + 1)) % 10000) / 10000.0,
              'features', jsonb_build_array(abs(hashint8(g + 2)) % 1000, abs(hashint8(g + 3)) % 1000, abs(hashint8(g + 4)) % 1000, abs(hashint8(g + 5)) % 1000),
              'labels', jsonb_build_object('region', (ARRAY['eu', 'us', 'apac'])[1 + g % 3], 'hash', md5('s' || g), 'note', md5('n' || g) || md5('m' || g)))
       FROM generate_series(1, ${scaled(300_000)}) g`,
    'CREATE INDEX ON prediction.signals (article_id)',
    'VACUUM ANALYZE',
  ];
}

/** Builds the database at `url` (which must be empty); returns its size in bytes. */
export async function buildBenchDatabase(url: string, megabytes: number): Promise<number> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query('SET synchronous_commit = off');
    for (const statement of benchStatements(megabytes)) await client.query(statement);
    return Number((await client.query<{ n: string }>('SELECT pg_database_size(current_database())::text AS n')).rows[0]!.n);
  } finally {
    await client.end();
  }
}
