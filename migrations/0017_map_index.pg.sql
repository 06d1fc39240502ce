-- 0017_map_index, PostgreSQL's text: a task instance is (run, task,
-- map_index), -1 for a task that is not mapped (see the SQLite text).
-- PostgreSQL changes the keys in place; the constraints carry the names
-- PostgreSQL gave them when 0001, 0003 and 0006 created the tables.

ALTER TABLE task_instance ADD COLUMN map_index BIGINT NOT NULL DEFAULT -1;
ALTER TABLE task_instance DROP CONSTRAINT task_instance_pkey;
ALTER TABLE task_instance ADD PRIMARY KEY (run_pk, task_id, map_index);

ALTER TABLE task_try ADD COLUMN map_index BIGINT NOT NULL DEFAULT -1;
ALTER TABLE task_try DROP CONSTRAINT task_try_pkey;
ALTER TABLE task_try ADD PRIMARY KEY (run_pk, task_id, map_index, try_number);

ALTER TABLE xcom ADD COLUMN map_index BIGINT NOT NULL DEFAULT -1;
ALTER TABLE xcom DROP CONSTRAINT xcom_pkey;
ALTER TABLE xcom ADD PRIMARY KEY (run_pk, task_id, map_index, key);

ALTER TABLE task_claim ADD COLUMN map_index BIGINT NOT NULL DEFAULT -1;
ALTER TABLE task_claim DROP CONSTRAINT task_claim_run_pk_task_id_try_number_key;
ALTER TABLE task_claim ADD UNIQUE (run_pk, task_id, map_index, try_number);
