-- Identity: organisations, their people, the tokens and codes that let them
-- in, the brute-force counters, and the audit log (what Cognito kept).

-- Keeps updated_at true without every UPDATE having to say so.
CREATE FUNCTION rc_touch_updated_at() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	NEW.updated_at := now();
	RETURN NEW;
END
$$;

CREATE TABLE orgs (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	name			text NOT NULL,
	slug			citext NOT NULL UNIQUE,
	-- checked against pg_timezone_names by the API
	timezone		text NOT NULL DEFAULT 'UTC',
	workday_start		time NOT NULL DEFAULT '09:00',
	workday_end		time NOT NULL DEFAULT '17:00',
	late_after_minutes	int NOT NULL DEFAULT 15
				CHECK (late_after_minutes BETWEEN 0 AND 1440),
	-- ISO days: 1 = Monday .. 7 = Sunday
	weekend_days		int[] NOT NULL DEFAULT '{6,7}'
				CHECK (weekend_days <@ '{1,2,3,4,5,6,7}'),
	-- lower-case e-mail domains whose owners may sign up themselves
	signup_domains		text[] NOT NULL DEFAULT '{}',
	face_required		boolean NOT NULL DEFAULT false,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX orgs_page ON orgs (created_at, id);
CREATE TRIGGER orgs_touch BEFORE UPDATE ON orgs
	FOR EACH ROW EXECUTE FUNCTION rc_touch_updated_at();

CREATE TABLE users (
	id			uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id			uuid REFERENCES orgs (id),
	email			citext NOT NULL UNIQUE,
	name			text NOT NULL,
	role			text NOT NULL CHECK (role IN ('superadmin',
				    'admin', 'manager', 'employee', 'intern')),
	manager_id		uuid REFERENCES users (id),
	status			text NOT NULL DEFAULT 'active'
				CHECK (status IN ('active', 'disabled')),
	password_hash		text NOT NULL,
	must_change_password	boolean NOT NULL DEFAULT false,
	-- in every access token; bumped to make all of them invalid at once
	token_version		int NOT NULL DEFAULT 0,
	created_at		timestamptz NOT NULL DEFAULT now(),
	updated_at		timestamptz NOT NULL DEFAULT now(),
	last_login_at		timestamptz,
	-- a superadmin runs the installation and belongs to no org; everyone
	-- else belongs to exactly one
	CHECK ((role = 'superadmin') = (org_id IS NULL)),
	CHECK (manager_id IS NULL OR manager_id <> id)
);
CREATE INDEX users_org_page ON users (org_id, created_at, id);
CREATE INDEX users_manager ON users (manager_id) WHERE manager_id IS NOT NULL;
CREATE TRIGGER users_touch BEFORE UPDATE ON users
	FOR EACH ROW EXECUTE FUNCTION rc_touch_updated_at();

-- Opaque refresh tokens, stored as hex SHA-256. Each login starts a family;
-- every refresh marks its token used and adds the next one to the family,
-- so a used token coming back means it was stolen: the family is revoked.
CREATE TABLE refresh_tokens (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	family		uuid NOT NULL,
	token_hash	text NOT NULL UNIQUE,
	expires_at	timestamptz NOT NULL,
	created_at	timestamptz NOT NULL DEFAULT now(),
	used_at		timestamptz,
	revoked_at	timestamptz
);
CREATE INDEX refresh_tokens_family ON refresh_tokens (family);
CREATE INDEX refresh_tokens_user ON refresh_tokens (user_id);

-- Mailed one-time codes (password reset), stored as hex SHA-256.
CREATE TABLE one_time_codes (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	user_id		uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
	purpose		text NOT NULL CHECK (purpose IN ('password_reset')),
	code_hash	text NOT NULL,
	expires_at	timestamptz NOT NULL,
	attempts	int NOT NULL DEFAULT 0,
	used_at		timestamptz,
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX one_time_codes_user ON one_time_codes (user_id, purpose,
	created_at);

-- Failed logins per 'email:<lower-case e-mail>' and per 'ip:<address>'.
-- Kept in the database, not in memory, so that every daemon sharing it
-- counts the same attempts.
CREATE TABLE login_failures (
	key		text PRIMARY KEY,
	failures	int NOT NULL DEFAULT 0,
	locked_until	timestamptz,
	updated_at	timestamptz NOT NULL DEFAULT now()
);

CREATE TABLE audit_log (
	id		bigserial PRIMARY KEY,
	org_id		uuid,		-- no FK: the trail outlives what it names
	actor_id	uuid,
	action		text NOT NULL,
	target_id	uuid,
	detail		jsonb NOT NULL DEFAULT '{}',
	client		text,
	request_id	text,
	at		timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX audit_log_org_at ON audit_log (org_id, at);
