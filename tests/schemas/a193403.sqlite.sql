-- The database of the previous release (commit a193403: create_all, schema_meta version 1) with a few rows;
-- tests/test_migrations.py upgrades it in place.
BEGIN TRANSACTION;
CREATE TABLE chat_sessions (
	id INTEGER NOT NULL, 
	team_id VARCHAR(32) NOT NULL, 
	channel_id VARCHAR(32) NOT NULL, 
	thread_ts VARCHAR(32) NOT NULL, 
	user_id VARCHAR(32) NOT NULL, 
	messages JSON NOT NULL, 
	draft JSON NOT NULL, 
	asked_field VARCHAR(64), 
	language VARCHAR(8) NOT NULL, 
	state VARCHAR(16) NOT NULL, 
	summary_ts VARCHAR(32), 
	created_at DATETIME NOT NULL, 
	updated_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_chat_session_thread UNIQUE (team_id, channel_id, thread_ts)
);
INSERT INTO "chat_sessions" VALUES(1,'T1','C1','1700000000.000100','U1','[{"role": "user", "text": "resnet18 on cats, 5 epochs", "ts": "1700000000.000100"}]','{"model": "resnet18", "dataset_path": "cats", "epochs": 5}',NULL,'ko','started','1700000001.0002','2026-12-01 17:56:02.691119','2026-12-01 17:56:02.691129');
CREATE TABLE processed_events (
	event_id VARCHAR(128) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (event_id)
);
INSERT INTO "processed_events" VALUES('Ev1','2026-12-01 17:56:02.769124');
CREATE TABLE run_epochs (
	id INTEGER NOT NULL, 
	run_id INTEGER NOT NULL, 
	epoch INTEGER NOT NULL, 
	metrics JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id), 
	CONSTRAINT uq_run_epoch UNIQUE (run_id, epoch), 
	FOREIGN KEY(run_id) REFERENCES training_runs (id) ON DELETE CASCADE
);
INSERT INTO "run_epochs" VALUES(1,1,1,'{"val_acc": 0.6}','2026-12-01 17:56:02.749006');
INSERT INTO "run_epochs" VALUES(2,1,2,'{"val_acc": 0.7}','2026-12-01 17:56:02.749016');
INSERT INTO "run_epochs" VALUES(3,1,3,'{"val_acc": 0.8}','2026-12-01 17:56:02.749018');
INSERT INTO "run_epochs" VALUES(4,1,4,'{"val_acc": 0.9}','2026-12-01 17:56:02.749019');
INSERT INTO "run_epochs" VALUES(5,1,5,'{"val_acc": 1.0}','2026-12-01 17:56:02.749021');
CREATE TABLE schema_meta (
	id INTEGER NOT NULL, 
	version INTEGER NOT NULL, 
	PRIMARY KEY (id)
);
INSERT INTO "schema_meta" VALUES(1,1);
CREATE TABLE training_runs (
	id INTEGER NOT NULL, 
	session_id INTEGER, 
	status VARCHAR(16) NOT NULL, 
	config JSON NOT NULL, 
	progress DOUBLE NOT NULL, 
	current_epoch INTEGER NOT NULL, 
	total_epochs INTEGER NOT NULL, 
	metrics JSON NOT NULL, 
	created_at DATETIME NOT NULL, 
	started_at DATETIME, 
	completed_at DATETIME, 
	error_message TEXT, 
	error_detail TEXT, 
	output_dir VARCHAR(1024), 
	start_key VARCHAR(128), 
	pid INTEGER, 
	gpu VARCHAR(16), 
	events_offset INTEGER NOT NULL, 
	last_event_at DATETIME, 
	stalled BOOLEAN NOT NULL, 
	scheduled_for DATETIME, 
	resume_of INTEGER, 
	slack_channel VARCHAR(32), 
	slack_thread_ts VARCHAR(32), 
	slack_ts VARCHAR(32), 
	requested_by VARCHAR(32), 
	PRIMARY KEY (id), 
	FOREIGN KEY(session_id) REFERENCES chat_sessions (id) ON DELETE SET NULL, 
	UNIQUE (start_key), 
	FOREIGN KEY(resume_of) REFERENCES training_runs (id)
);
INSERT INTO "training_runs" VALUES(1,1,'completed','{"model": "resnet18", "dataset_path": "cats", "epochs": 5}',1.0,5,5,'{"val_acc": 0.9}','2026-12-01 17:56:02.725357','2026-11-30 10:00:00.000000','2026-11-30 11:00:00.000000',NULL,NULL,'/srv/outputs/run-0001','k-1',NULL,NULL,0,NULL,0,NULL,NULL,'C1','1700000000.000100','1700000002.0003','U1');
INSERT INTO "training_runs" VALUES(2,1,'running','{"model": "resnet18", "dataset_path": "cats", "epochs": 5}',0.0,0,5,'{}','2026-12-01 17:56:02.787561',NULL,NULL,NULL,NULL,NULL,'k-2',4242,NULL,1234,NULL,0,NULL,1,NULL,NULL,NULL,'U1');
INSERT INTO "training_runs" VALUES(3,NULL,'pending','{"model": "resnet50", "dataset_path": "dogs", "epochs": 3}',0.0,0,3,'{}','2026-12-01 17:56:02.789301',NULL,NULL,NULL,NULL,NULL,'k-3',NULL,NULL,0,NULL,0,'2026-12-02 02:00:00.000000',NULL,NULL,NULL,NULL,'U2');
CREATE INDEX ix_training_runs_status ON training_runs (status);
CREATE INDEX ix_run_epochs_run_id ON run_epochs (run_id);
COMMIT;
