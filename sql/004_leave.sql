-- Leave (what EmployeeRequest did): the types of leave an org grants, with a
-- yearly allowance, and the requests people make against them. The database
-- itself refuses overlapping pending/approved requests of one person, so two
-- concurrent requests cannot both get in.
CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE leave_types (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	name		text NOT NULL,
	days_per_year	numeric(5,1) NOT NULL CHECK (days_per_year >= 0),
	paid		boolean NOT NULL DEFAULT true,
	created_at	timestamptz NOT NULL DEFAULT now(),
	UNIQUE (org_id, name)
);
CREATE INDEX leave_types_page ON leave_types (org_id, created_at, id);

CREATE TABLE leave_requests (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	user_id		uuid NOT NULL REFERENCES users (id),
	type_id		uuid NOT NULL REFERENCES leave_types (id),
	start_date	date NOT NULL,
	end_date	date NOT NULL,
	half_day	boolean NOT NULL DEFAULT false,
	reason		text,
	status		text NOT NULL DEFAULT 'pending' CHECK (status IN
			    ('pending', 'approved', 'rejected', 'cancelled')),
	-- working days (without weekends and holidays) counted at request
	-- time: a holiday added later does not change what was granted
	days		numeric(5,1) NOT NULL CHECK (days > 0),
	decided_by	uuid REFERENCES users (id),
	decided_at	timestamptz,
	comment		text,
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now(),
	CHECK (end_date >= start_date),
	CHECK (NOT half_day OR start_date = end_date),
	CONSTRAINT leave_requests_no_overlap EXCLUDE USING gist (user_id WITH =,
	    daterange(start_date, end_date, '[]') WITH &&)
	    WHERE (status IN ('pending', 'approved'))
);
CREATE INDEX leave_requests_org_page ON leave_requests (org_id, created_at, id);
CREATE INDEX leave_requests_user ON leave_requests (user_id, start_date);
CREATE INDEX leave_requests_pending ON leave_requests (org_id)
	WHERE status = 'pending';
CREATE TRIGGER leave_requests_touch BEFORE UPDATE ON leave_requests
	FOR EACH ROW EXECUTE FUNCTION rc_touch_updated_at();

-- The yearly allowance of a paid type: what a person's pending and approved
-- requests of that type starting in the year hold, plus the new one, stays
-- within days_per_year. Checked here rather than by the API's statement
-- alone so that concurrent requests cannot both fit: one person's requests
-- queue on the advisory lock, and each query of a volatile function takes
-- a fresh snapshot (READ COMMITTED), so the second sees the first's row.
CREATE FUNCTION leave_requests_check_balance() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	t	leave_types%ROWTYPE;
	used	numeric;
BEGIN
	SELECT * INTO t FROM leave_types WHERE id = NEW.type_id;
	IF NOT t.paid OR NEW.status NOT IN ('pending', 'approved') THEN
		RETURN NEW;
	END IF;
	PERFORM pg_advisory_xact_lock(hashtext('leave_requests:' ||
	    NEW.user_id::text));
	SELECT COALESCE(sum(days), 0) INTO used FROM leave_requests
	WHERE user_id = NEW.user_id AND type_id = NEW.type_id
	  AND status IN ('pending', 'approved')
	  AND date_part('year', start_date) = date_part('year', NEW.start_date);
	IF used + NEW.days > t.days_per_year THEN
		RAISE EXCEPTION 'this asks for % day(s); % of the year''s % are '
		    'already taken or pending', NEW.days, used, t.days_per_year
		    USING ERRCODE = 'RC001';
	END IF;
	RETURN NEW;
END
$$;
CREATE TRIGGER leave_requests_balance BEFORE INSERT ON leave_requests
	FOR EACH ROW EXECUTE FUNCTION leave_requests_check_balance();
