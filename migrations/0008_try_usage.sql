-- 0008_try_usage: what each try cost, from its supervisor's status file
-- (getrusage(RUSAGE_CHILDREN) once it has reaped the task and everything the
-- task started): the largest resident set of one of its processes, user and
-- system CPU time of them all, and the wall time from the supervisor's start
-- to the try's end. NULL when unknown (a try still running, lost, or ended
-- before this migration).

ALTER TABLE task_try ADD COLUMN max_rss_kb INTEGER;
ALTER TABLE task_try ADD COLUMN cpu_user_us INTEGER;
ALTER TABLE task_try ADD COLUMN cpu_system_us INTEGER;
ALTER TABLE task_try ADD COLUMN wall_us INTEGER;
