/* Execution counters of several jobs in one query: see job_counts.h. */
#include "db/job_counts.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/buf.h"
#include "jobs/execution.h"

enum db_status db_jobs_fill_counts(struct db *db, struct db_job *jobs, int n)
{
	static const char sql[] =
		"SELECT job_pk, status, count(*) FROM job_executions WHERE job_pk ="
		" ANY($1::bigint[]) GROUP BY job_pk, status UNION ALL SELECT job_pk, 'TARGETS',"
		" count(*) FROM job_targets WHERE job_pk = ANY($1::bigint[]) GROUP BY job_pk";
	struct db_rows *rows = NULL;
	struct buf pks;
	enum db_status st;

	if (n <= 0)
		return DB_NONE;
	buf_init(&pks);
	buf_putc(&pks, '{');
	for (int i = 0; i < n; i++)
		buf_printf(&pks, "%s%" PRId64, i ? "," : "", jobs[i].pk);
	buf_putc(&pks, '}');
	if (pks.is_oom) {
		buf_cleanup(&pks);
		return DB_HARD;
	}
	const char *params[] = { pks.data };
	st = db_exec_static(db, sql, 1, params, &rows);
	buf_cleanup(&pks);
	if (st < 0)
		return st;
	for (int i = 0; i < n; i++) {
		memset(&jobs[i].counts, 0, sizeof(jobs[i].counts));
		jobs[i].target_count = 0;
	}
	for (int r = 0; rows && r < rows->nrows; r++) {
		int64_t pk = strtoll(db_rows_get(rows, r, 0), NULL, 10);
		const char *what = db_rows_get(rows, r, 1);
		int64_t count = strtoll(db_rows_get(rows, r, 2), NULL, 10);
		enum jobs_exec_status es;

		for (int i = 0; i < n; i++) {
			if (jobs[i].pk != pk)
				continue;
			if (strcmp(what, "TARGETS") == 0)
				jobs[i].target_count = count;
			else if (jobs_exec_status_parse(what, &es))
				jobs_job_counts_add(&jobs[i].counts, es, count);
			break;
		}
	}
	db_rows_free(rows);
	return st;
}
