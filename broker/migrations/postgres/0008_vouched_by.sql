-- Who vouched for the credential an identity filed a request with (SQLite's 0011): they
-- may not decide the request.
ALTER TABLE requests ADD COLUMN vouched_by BIGINT REFERENCES users (id);
