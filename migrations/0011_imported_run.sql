-- 0011_imported_run: runs loaded from another home's bundle (`dagctl
-- import`), for incident review. They keep the states, tries, logs and XCom
-- they had there; the scheduler never resumes, schedules or clears them.
-- NULL for every run made here; else when it was imported (microseconds
-- since the Unix epoch, UTC).
ALTER TABLE dag_run ADD COLUMN imported_at BIGINT;
