-- attendance_days() for one person is planned with its caller's statement,
-- once, instead of at every call.
--
-- Its SET work_mem clause (005) kept PostgreSQL from inlining it, so every
-- call planned its body again: ~2 ms, most of the time of GET
-- /attendance/days and /today, Slack's status and each check-in's rollup
-- refresh. Inlined into an org-wide read, though, the body plans worse
-- (the daily report of 1,000 people: 26 -> 130 ms). So the body becomes
-- attendance_person_days(), inlinable, for the one-person callers; and
-- attendance_days() wraps it as before (its own plan at each call, and the
-- memory for a month of an org) for the org-wide ones.
ALTER FUNCTION attendance_days(uuid, date, date, uuid)
	RENAME TO attendance_person_days;
ALTER FUNCTION attendance_person_days(uuid, date, date, uuid)
	RESET work_mem;

CREATE FUNCTION attendance_days(p_org uuid, p_from date, p_to date,
	p_user uuid DEFAULT NULL)
RETURNS TABLE (user_id uuid, date date, first_in timestamptz,
	last_out timestamptz, worked_minutes int, open_pair boolean,
	status text)
LANGUAGE sql STABLE SET work_mem = '32MB' AS $$
SELECT * FROM attendance_person_days(p_org, p_from, p_to, p_user)
$$;

-- A person's refresh (010) reads the inlinable body, and always with a
-- generic plan: its custom plans (the default while they look cheaper)
-- planned the statement again at each check-in.
CREATE OR REPLACE FUNCTION attendance_rollup_refresh(p_user uuid,
	p_from date, p_to date)
RETURNS void LANGUAGE plpgsql
SET plan_cache_mode = force_generic_plan AS $$
DECLARE
	v_org uuid;
	v_active boolean;
BEGIN
	SELECT org_id, status = 'active' INTO v_org, v_active
	    FROM users WHERE id = p_user;
	IF v_org IS NULL THEN
		DELETE FROM attendance_rollup WHERE user_id = p_user;
		RETURN;
	END IF;
	PERFORM attendance_rollup_lock(v_org, p_user);
	DELETE FROM attendance_rollup
	    WHERE user_id = p_user AND date BETWEEN p_from AND p_to;
	IF v_active THEN
		INSERT INTO attendance_rollup (user_id, date, org_id, first_in,
		    last_out, worked_minutes, open_pair, status)
		SELECT a.user_id, a.date, v_org, a.first_in, a.last_out,
		    a.worked_minutes, a.open_pair, NULLIF(a.status, 'absent')
		FROM attendance_person_days(v_org, p_from, p_to, p_user) a
		WHERE NOT attendance_rollup_plain(a.first_in, a.last_out,
		    a.worked_minutes, a.open_pair, a.status);
	END IF;
END
$$;
