import { describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/engine/config.js';
import { resolveRemote, splitRemoteFolder } from '../../src/engine/remote/resolve-remote.js';

// Remotes from dbops.config.yaml and inline s3:// URLs: what each setting and variable does,
// and every mistake refused with its key named.

const config = (yaml: string) => parseConfig(yaml, 'dbops.config.yaml');

describe('remotes', () => {
  it("an inline s3:// remote takes the SDK's endpoint and region variables and DBOPS_S3_PATH_STYLE", () => {
    const env = {
      AWS_ENDPOINT_URL: 'https://generic.example',
      AWS_ENDPOINT_URL_S3: 'https://s3.example:9000/',
      AWS_REGION: 'eu-central-1',
      DBOPS_S3_PATH_STYLE: '1',
    };
    expect(resolveRemote('s3://acme-backups/team/prod/', config(''), env)).toMatchObject({
      bucket: 'acme-backups',
      prefix: 'team/prod',
      endpoint: 'https://s3.example:9000',
      region: 'eu-central-1',
      pathStyle: true,
      display: 's3://acme-backups/team/prod at s3.example:9000',
    });
    expect(resolveRemote('s3://acme-backups', config(''), {})).toMatchObject({
      prefix: '',
      endpoint: undefined,
      region: 'us-east-1',
      pathStyle: false,
      display: 's3://acme-backups',
    });
    expect(splitRemoteFolder('s3://acme-backups/team/prod/20261123_071502_prod', {})).toMatchObject({
      folder: '20261123_071502_prod',
      remote: { prefix: 'team/prod' },
    });
  });

  it('a configured remote: its own settings first, the environment for what it leaves out; the only one is the default', () => {
    const c = config(`
remotes:
  offsite:
    bucket: acme-backups
    prefix: dbops/prod
    endpoint: https://account.r2.cloudflarestorage.com
    region: auto
    storage_class: STANDARD_IA
    retention: { keep_last: 30 }
`);
    expect(resolveRemote(undefined, c, { AWS_REGION: 'us-west-2' })).toMatchObject({
      name: 'offsite',
      bucket: 'acme-backups',
      prefix: 'dbops/prod',
      region: 'auto',
      storageClass: 'STANDARD_IA',
      pathStyle: false,
      retention: { keep_last: 30, incomplete_max_age_hours: 24 },
    });
    expect(() => resolveRemote('elsewhere', c, {})).toThrow(/No remote named "elsewhere" \(configured: offsite\)/);
    expect(() => resolveRemote(undefined, config(''), {})).toThrow(/Name the remote to use \(none is configured\)/);
  });

  it('refuses credentials in the file, bad names and endpoints, each key named', () => {
    expect(() => config('remotes:\n  Off:\n    bucket: acme\n')).toThrow(/remotes\.Off: Invalid key in record/);
    const bad = () =>
      config(`
remotes:
  off:
    bucket: Bad_Bucket
    endpoint: ftp://x
    access_key_id: AKIA…
`);
    expect(bad).toThrow(
      /has 3 problem\(s\): remotes\.off\.bucket: a bucket name: .+; remotes\.off\.endpoint: Invalid URL; remotes\.off: Unrecognized key: "access_key_id"/,
    );
    expect(() => resolveRemote('s3://a/x', config(''), {})).toThrow(expect.objectContaining({ code: 'REMOTE_INVALID' }));
    expect(() => resolveRemote('s3://ok-bucket/../x', config(''), {})).toThrow(/no empty, "\." or "\.\." parts/);
    expect(() => resolveRemote('s3://ok-bucket/x', config(''), { AWS_ENDPOINT_URL: 'https://user:pw@s3.example' })).toThrow(
      /must not carry a user name or password/,
    );
  });
});
