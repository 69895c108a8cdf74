import { describe, expect, it } from 'vitest';
import { classifyLibpqFailure, firstErrorLine } from '../../src/engine/tools/pg-tools.js';

// Which line of a tool's stderr becomes the message. The samples are stderr as pg_dump,
// pg_restore and psql 15 print it (the pg tests produce the first two for real).

describe('firstErrorLine', () => {
  it.each([
    [
      'a worker died after its own error',
      'pg_restore: processing data for table "public.t"\npg_restore: while PROCESSING TOC:\npg_restore: from TOC entry 3342; 0 305136 TABLE DATA t postgres\npg_restore: error: COPY failed for table "t": ERROR:  new row for relation "t" violates check constraint "t_id_check"\nDETAIL:  Failing row contains (3).\nCONTEXT:  COPY t, line 3: "3"\npg_restore: error: a worker process died unexpectedly',
      'COPY failed for table "t": ERROR: new row for relation "t" violates check constraint "t_id_check"',
    ],
    [
      'PQputCopyData before the server says why',
      'pg_restore: error: error returned by PQputCopyData: server closed the connection unexpectedly\npg_restore: error: COPY failed for table "t": ERROR:  could not extend file "base/16384/16385": No space left on device\nHINT:  Check free disk space.',
      'COPY failed for table "t": ERROR: could not extend file "base/16384/16385": No space left on device',
    ],
    ['only a consequence line', 'pg_dump: error: a worker process died unexpectedly', 'a worker process died unexpectedly'],
    [
      'psql with ON_ERROR_STOP',
      'psql:/tmp/x.sql:3: ERROR:  relation "nope" does not exist\nLINE 1: SELECT * FROM nope;\n                      ^',
      'psql:/tmp/x.sql:3: ERROR: relation "nope" does not exist',
    ],
    ['progress only', 'pg_dump: reading extensions\npg_dump: dumping contents of table "public.t"', undefined],
  ])('%s', (_, stderr, expected) => {
    expect(firstErrorLine(stderr)).toBe(expected);
  });
});

describe('classifyLibpqFailure', () => {
  it('classifies by the first real error, not by words anywhere in the output', () => {
    expect(classifyLibpqFailure('pg_dump: error: connection to server at "127.0.0.1", port 5432 failed: fe_sendauth: no password supplied')).toMatchObject({
      code: 'AUTH_FAILED',
    });
    expect(
      classifyLibpqFailure(
        'pg_dump: error: connection to server at "127.0.0.1", port 1 failed: Connection refused\n\tIs the server running on that host and accepting TCP/IP connections?',
      ),
    ).toMatchObject({ code: 'CONNECT_FAILED' });
    expect(
      classifyLibpqFailure(
        'psql:f.sql:1: ERROR:  duplicate key value violates unique constraint "k"\nDETAIL:  Key (note)=(could not connect to server) already exists.',
      ),
    ).toBeUndefined();
  });
});
