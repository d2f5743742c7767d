/* Gauges of the jobs tables for /metrics: executions and jobs by status. */
#ifndef BW_DB_JOB_STATS_H
#define BW_DB_JOB_STATS_H

/* metrics_on_collect() callback: sets bw_jobs_executions{status} and bw_jobs{status} from
 * Postgres (every status, 0 when absent). The counts are cached for 5 s, so scrapes stay cheap on
 * large tables; on a database error the previous values are kept. */
void db_job_stats_collect(void);

#endif
