-- The memory schema as `alignx serve` made it before Alembic (Base.metadata.create_all, sqlite),
-- what an upgrade starts from (tests/test_serve_migrations.py).
CREATE TABLE alignx_users (
	id VARCHAR(32) NOT NULL, 
	name VARCHAR(200) NOT NULL, 
	key_hash VARCHAR(64) NOT NULL, 
	created_at DATETIME NOT NULL, 
	PRIMARY KEY (id)
);
CREATE UNIQUE INDEX ix_alignx_users_key_hash ON alignx_users (key_hash);
CREATE TABLE alignx_events (
	id INTEGER NOT NULL, 
	user_id VARCHAR(32) NOT NULL, 
	kind VARCHAR(16) NOT NULL, 
	created_at DATETIME NOT NULL, 
	data JSON NOT NULL, 
	direction JSON, 
	PRIMARY KEY (id), 
	FOREIGN KEY(user_id) REFERENCES alignx_users (id) ON DELETE CASCADE
);
CREATE INDEX ix_alignx_events_user_id ON alignx_events (user_id);
