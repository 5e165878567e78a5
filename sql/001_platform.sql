-- The platform: extensions every later migration may use, and one row that
-- identifies this installation (for logs and exported reports).
CREATE EXTENSION IF NOT EXISTS citext;

CREATE TABLE installation (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	created_at	timestamptz NOT NULL DEFAULT now(),
	singleton	boolean NOT NULL DEFAULT true UNIQUE CHECK (singleton)
);
INSERT INTO installation DEFAULT VALUES;
