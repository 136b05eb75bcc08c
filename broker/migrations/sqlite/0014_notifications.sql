-- Notification sinks (`POST /api/v1/notifications/sinks`): where the broker tells people
-- of the events they must act on. A sink hears the events after `from_seq`, the trail's
-- head when it was added, so it is never sent what happened before it existed.
CREATE TABLE notification_sinks (
    id                 INTEGER PRIMARY KEY,
    name               TEXT    NOT NULL,
    kind               TEXT    NOT NULL CHECK (kind IN ('slack', 'webhook')),
    url_env            TEXT,             -- the variable holding the URL, or
    url                TEXT,             -- the URL itself
    secret_env         TEXT,             -- the variable holding the signing key
    events             TEXT    NOT NULL, -- JSON array of audit actions
    resource_ids       TEXT,             -- JSON array of resource ids; NULL: all
    from_seq           INTEGER NOT NULL,
    created_at         INTEGER NOT NULL,
    created_by         INTEGER NOT NULL REFERENCES users (id),
    removed_at         INTEGER,
    failures_in_a_row  INTEGER NOT NULL DEFAULT 0,
    last_delivered_at  INTEGER,
    CHECK ((url_env IS NULL) <> (url IS NULL))
);
CREATE UNIQUE INDEX notification_sinks_name ON notification_sinks (name) WHERE removed_at IS NULL;

-- How far the trail has been fanned out to sinks. The fan-out reads the events after it,
-- queues their deliveries and moves it in one transaction: an event is queued once, and a
-- change rolled back (so never in the trail) is never sent.
CREATE TABLE notification_cursor (
    id  INTEGER PRIMARY KEY CHECK (id = 1),
    seq INTEGER NOT NULL
);
INSERT INTO notification_cursor (id, seq) VALUES (1, 0);

-- The outbox: one message to one sink, its body fixed when queued (every retry sends the
-- same), attempted until the sink answers 2xx or it is a day old.
CREATE TABLE notification_deliveries (
    id              INTEGER PRIMARY KEY,
    sink_id         INTEGER NOT NULL REFERENCES notification_sinks (id),
    seq             INTEGER NOT NULL,
    event           TEXT    NOT NULL,
    body            TEXT    NOT NULL,
    queued_at       INTEGER NOT NULL,
    attempts        INTEGER NOT NULL DEFAULT 0,
    next_attempt_at INTEGER NOT NULL,
    claimed_until   INTEGER,
    claim_token     TEXT,
    delivered_at    INTEGER,
    gave_up_at      INTEGER,
    UNIQUE (sink_id, seq)
);
CREATE INDEX notification_deliveries_open ON notification_deliveries (next_attempt_at)
    WHERE delivered_at IS NULL AND gave_up_at IS NULL;
CREATE INDEX notification_deliveries_of_sink ON notification_deliveries (sink_id, id);

-- Every attempt, as the sink's page shows it.
CREATE TABLE notification_attempts (
    id            INTEGER PRIMARY KEY,
    delivery_id   INTEGER NOT NULL REFERENCES notification_deliveries (id),
    at            INTEGER NOT NULL,
    response_code INTEGER,
    error         TEXT
);
CREATE INDEX notification_attempts_of_delivery ON notification_attempts (delivery_id, id);

-- What each person chose not to be named in (`PUT /api/v1/me/notifications`): they are left
-- out of those messages' recipients, unless the event is one their roles may not mute.
CREATE TABLE notification_mutes (
    user_id INTEGER NOT NULL REFERENCES users (id),
    event   TEXT    NOT NULL,
    PRIMARY KEY (user_id, event)
);
