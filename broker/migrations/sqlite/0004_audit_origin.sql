-- Where a change came from, when it came over HTTP: the peer's address and user agent.
ALTER TABLE audit_events ADD COLUMN source_ip TEXT;
ALTER TABLE audit_events ADD COLUMN user_agent TEXT;
