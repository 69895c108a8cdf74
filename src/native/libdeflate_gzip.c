// A thin Node-API binding for libdeflate's whole-buffer gzip compressor and decompressor, used
// by src/engine/backup/parallel-gzip.ts to write each block of a CSV as one gzip member, and by
// src/engine/restore/member-gunzip.ts to read such members back.
//
// Why libdeflate: deflate is most of a backup's CPU time on text-heavy tables, and libdeflate at
// level 1 compresses the benchmark's article text in about half the CPU time zlib's level 1
// needs, into a 3 % smaller member that every gzip reader reads. It has no streaming API, which
// is no loss here: parallel-gzip already cuts its input into independent members. The compress
// runs on libuv's thread pool (napi_async_work), so several members deflate at once, as with
// zlib's own asynchronous calls.
#include <libdeflate.h>
#include <node_api.h>
#include <stdbool.h>
#include <stdlib.h>

#define CHECK(env, call)                                                    \
  do {                                                                      \
    if ((call) != napi_ok) {                                                \
      napi_throw_error((env), "DBOPS_NATIVE", "libdeflate binding: " #call); \
      return NULL;                                                          \
    }                                                                       \
  } while (0)

typedef struct {
  struct libdeflate_compressor *compressor;
  // Set while a gzip() job uses the compressor: a second job at once would share its state.
  int busy;
} Compressor;

// Marks the externals this binding makes, so another addon's External is never taken for one.
static const napi_type_tag COMPRESSOR_TAG = {0x6462f0b5d1a24c3bULL, 0x9a1e7d40c8f35e21ULL};

/** The compressor behind value, or NULL (with a TypeError thrown) when value is not one of ours. */
static Compressor *compressor_of(napi_env env, napi_value value) {
  bool tagged = false;
  Compressor *k = NULL;
  if (napi_check_object_type_tag(env, value, &COMPRESSOR_TAG, &tagged) != napi_ok || !tagged ||
      napi_get_value_external(env, value, (void **)&k) != napi_ok) {
    napi_throw_type_error(env, "DBOPS_NATIVE", "not a compressor made by createCompressor()");
    return NULL;
  }
  return k;
}

static void free_compressor(napi_env env, void *data, void *hint) {
  (void)env;
  (void)hint;
  Compressor *k = data;
  libdeflate_free_compressor(k->compressor);
  free(k);
}

// createCompressor(level: number): external — one per member being compressed at a time.
static napi_value create_compressor(napi_env env, napi_callback_info info) {
  size_t argc = 1;
  napi_value argv[1];
  int32_t level = 0;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  CHECK(env, napi_get_value_int32(env, argv[0], &level));
  if (level < 0 || level > 12) {
    napi_throw_range_error(env, "DBOPS_NATIVE", "libdeflate levels are 0 to 12");
    return NULL;
  }
  Compressor *k = malloc(sizeof *k);
  if (k != NULL) k->busy = 0;
  if (k == NULL || (k->compressor = libdeflate_alloc_compressor(level)) == NULL) {
    free(k);
    napi_throw_error(env, "DBOPS_NATIVE", "libdeflate: out of memory for a compressor");
    return NULL;
  }
  napi_value external;
  if (napi_create_external(env, k, free_compressor, NULL, &external) != napi_ok) {
    free_compressor(env, k, NULL);
    napi_throw_error(env, "DBOPS_NATIVE", "libdeflate binding: napi_create_external");
    return NULL;
  }
  CHECK(env, napi_type_tag_object(env, external, &COMPRESSOR_TAG));
  return external;
}

// gzipBound(compressor, bytes: number): number — the output size gzip() can need at most.
static napi_value gzip_bound(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  Compressor *k = NULL;
  int64_t bytes = 0;
  napi_value result;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  if (argc < 2 || (k = compressor_of(env, argv[0])) == NULL) return NULL;
  CHECK(env, napi_get_value_int64(env, argv[1], &bytes));
  CHECK(env, napi_create_double(env, (double)libdeflate_gzip_compress_bound(k->compressor, bytes < 0 ? 0 : (size_t)bytes), &result));
  return result;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep[3];
  Compressor *k;
  const void *in;
  size_t in_bytes;
  void *out;
  size_t out_bytes;
  size_t written;
} Job;

static void run_job(napi_env env, void *data) {
  (void)env;
  Job *job = data;
  job->written = libdeflate_gzip_compress(job->k->compressor, job->in, job->in_bytes, job->out, job->out_bytes);
}

static void finish_job(napi_env env, napi_status status, void *data) {
  Job *job = data;
  napi_value value;
  job->k->busy = 0;
  if (status == napi_ok && job->written > 0 && napi_create_double(env, (double)job->written, &value) == napi_ok) {
    napi_resolve_deferred(env, job->deferred, value);
  } else {
    napi_value message;
    napi_value error;
    napi_create_string_utf8(env, job->written == 0 ? "libdeflate: the output buffer is too small for the member" : "libdeflate: the compress job failed",
                            NAPI_AUTO_LENGTH, &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  for (int i = 0; i < 3; i++) napi_delete_reference(env, job->keep[i]);
  napi_delete_async_work(env, job->work);
  free(job);
}

// gzip(compressor, input: Buffer, output: Buffer): Promise<number> — input as one gzip member
// written to the start of output; resolves to its length. The caller must not touch either
// buffer, nor give the compressor to another call, until the promise settles; the job holds
// references to all three, so none is collected meanwhile. A reference holds the Buffer, not a
// detached backing store: neither buffer may be transferred (postMessage, structuredClone) while
// the job runs. dbops's callers allocate both themselves and never hand them anywhere.
static napi_value gzip(napi_env env, napi_callback_info info) {
  size_t argc = 3;
  napi_value argv[3];
  napi_value promise = NULL;
  napi_value name;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Job *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "DBOPS_NATIVE", "libdeflate binding: out of memory");
    return NULL;
  }
  if (argc < 3 || (job->k = compressor_of(env, argv[0])) == NULL) {
    free(job);
    return NULL;
  }
  if (napi_get_buffer_info(env, argv[1], (void **)&job->in, &job->in_bytes) != napi_ok || napi_get_buffer_info(env, argv[2], &job->out, &job->out_bytes) != napi_ok) {
    free(job);
    napi_throw_type_error(env, "DBOPS_NATIVE", "gzip(compressor, input: Buffer, output: Buffer)");
    return NULL;
  }
  if (job->k->busy) {
    free(job);
    napi_throw_error(env, "DBOPS_NATIVE", "libdeflate binding: this compressor is already compressing a member");
    return NULL;
  }
  int refs = 0;
  while (refs < 3 && napi_create_reference(env, argv[refs], 1, &job->keep[refs]) == napi_ok) refs++;
  if (refs == 3 && napi_create_promise(env, &job->deferred, &promise) == napi_ok &&
      napi_create_string_utf8(env, "dbops.libdeflate.gzip", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_create_async_work(env, NULL, name, run_job, finish_job, job, &job->work) == napi_ok) {
    if (napi_queue_async_work(env, job->work) == napi_ok) {
      job->k->busy = 1;
      return promise;
    }
    napi_delete_async_work(env, job->work);
  }
  // Nothing was queued: let go of what was taken. A created promise stays pending, unreachable.
  for (int i = 0; i < refs; i++) napi_delete_reference(env, job->keep[i]);
  free(job);
  napi_throw_error(env, "DBOPS_NATIVE", "libdeflate binding: the compress job could not be queued");
  return NULL;
}

typedef struct {
  napi_async_work work;
  napi_deferred deferred;
  napi_ref keep[2];
  const void *in;
  size_t in_bytes;
  void *out;
  size_t out_bytes;
  int status;
  size_t used_in;
  size_t used_out;
} Unzip;

static void run_unzip(napi_env env, void *data) {
  (void)env;
  Unzip *job = data;
  struct libdeflate_decompressor *d = libdeflate_alloc_decompressor();
  if (d == NULL) {
    job->status = -1;
    return;
  }
  job->status = (int)libdeflate_gzip_decompress_ex(d, job->in, job->in_bytes, job->out, job->out_bytes, &job->used_in, &job->used_out);
  libdeflate_free_decompressor(d);
}

static void finish_unzip(napi_env env, napi_status status, void *data) {
  Unzip *job = data;
  napi_value result = NULL;
  napi_value values[3];
  int ok = status == napi_ok && job->status >= 0 && napi_create_array_with_length(env, 3, &result) == napi_ok &&
           napi_create_int32(env, job->status, &values[0]) == napi_ok && napi_create_double(env, (double)job->used_in, &values[1]) == napi_ok &&
           napi_create_double(env, (double)job->used_out, &values[2]) == napi_ok;
  for (uint32_t i = 0; ok && i < 3; i++) ok = napi_set_element(env, result, i, values[i]) == napi_ok;
  if (ok) {
    napi_resolve_deferred(env, job->deferred, result);
  } else {
    napi_value message;
    napi_value error;
    napi_create_string_utf8(env, job->status < 0 ? "libdeflate: out of memory for a decompressor" : "libdeflate: the decompress job failed", NAPI_AUTO_LENGTH,
                            &message);
    napi_create_error(env, NULL, message, &error);
    napi_reject_deferred(env, job->deferred, error);
  }
  for (int i = 0; i < 2; i++) napi_delete_reference(env, job->keep[i]);
  napi_delete_async_work(env, job->work);
  free(job);
}

// gunzip(input: Buffer, output: Buffer): Promise<[status, inputUsed, outputWritten]> — the first
// gzip member of input, decompressed into output. status is libdeflate's: 0 success, 1 bad or
// incomplete data, 3 output too small. As with gzip(), neither buffer may be touched until the
// promise settles.
static napi_value gunzip(napi_env env, napi_callback_info info) {
  size_t argc = 2;
  napi_value argv[2];
  napi_value promise = NULL;
  napi_value name;
  CHECK(env, napi_get_cb_info(env, info, &argc, argv, NULL, NULL));
  Unzip *job = calloc(1, sizeof *job);
  if (job == NULL) {
    napi_throw_error(env, "DBOPS_NATIVE", "libdeflate binding: out of memory");
    return NULL;
  }
  if (argc < 2 || napi_get_buffer_info(env, argv[0], (void **)&job->in, &job->in_bytes) != napi_ok ||
      napi_get_buffer_info(env, argv[1], &job->out, &job->out_bytes) != napi_ok) {
    free(job);
    napi_throw_type_error(env, "DBOPS_NATIVE", "gunzip(input: Buffer, output: Buffer)");
    return NULL;
  }
  int refs = 0;
  while (refs < 2 && napi_create_reference(env, argv[refs], 1, &job->keep[refs]) == napi_ok) refs++;
  if (refs == 2 && napi_create_promise(env, &job->deferred, &promise) == napi_ok &&
      napi_create_string_utf8(env, "dbops.libdeflate.gunzip", NAPI_AUTO_LENGTH, &name) == napi_ok &&
      napi_create_async_work(env, NULL, name, run_unzip, finish_unzip, job, &job->work) == napi_ok) {
    if (napi_queue_async_work(env, job->work) == napi_ok) return promise;
    napi_delete_async_work(env, job->work);
  }
  for (int i = 0; i < refs; i++) napi_delete_reference(env, job->keep[i]);
  free(job);
  napi_throw_error(env, "DBOPS_NATIVE", "libdeflate binding: the decompress job could not be queued");
  return NULL;
}

static napi_value init(napi_env env, napi_value exports) {
  napi_property_descriptor properties[] = {
      {"createCompressor", NULL, create_compressor, NULL, NULL, NULL, napi_default, NULL},
      {"gzipBound", NULL, gzip_bound, NULL, NULL, NULL, napi_default, NULL},
      {"gzip", NULL, gzip, NULL, NULL, NULL, napi_default, NULL},
      {"gunzip", NULL, gunzip, NULL, NULL, NULL, napi_default, NULL},
  };
  CHECK(env, napi_define_properties(env, exports, sizeof properties / sizeof properties[0], properties));
  return exports;
}

NAPI_MODULE_INIT() { return init(env, exports); }
