-- 0016_worker_log_url: where a worker serves its tries' logs
-- (worker.log_server_port), "http://HOST:PORT"; NULL when it serves none.
-- The schedulers' web servers and the CLI read a remote try's log there.
ALTER TABLE worker ADD COLUMN log_url TEXT;
