-- Custom SQLSTATEs are unique (include/rollcall/sqlstate.h lists them):
-- RC001 is attendance's "already checked in"; the leave balance trigger
-- raised it too, and now raises RC004. The function is otherwise that of
-- sql/004_leave.sql.
CREATE OR REPLACE FUNCTION leave_requests_check_balance() RETURNS trigger
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
		    USING ERRCODE = 'RC004';
	END IF;
	RETURN NEW;
END
$$;
