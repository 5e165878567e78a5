-- Every daemon caches, per loop thread, the principal an access token names
-- (src/auth/principal_cache.c). These triggers tell them all whose cached
-- principal is stale: the payload is the user id, on the channel
-- 'rollcall_principals'.

-- TG_ARGV[0] names the row's column holding the user id.
CREATE FUNCTION rc_principal_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	r record;
BEGIN
	IF TG_OP = 'DELETE' THEN
		r := OLD;
	ELSE
		r := NEW;
	END IF;
	PERFORM pg_notify('rollcall_principals', to_jsonb(r) ->> TG_ARGV[0]);
	RETURN NULL;
END
$$;

-- Only the columns the principal carries (src/auth/middleware.c's
-- SQL_PRINCIPAL): a login's last_login_at or a rehash does not drop it.
CREATE TRIGGER users_principal_changed
	AFTER UPDATE ON users FOR EACH ROW
	WHEN (OLD.status IS DISTINCT FROM NEW.status
	    OR OLD.role IS DISTINCT FROM NEW.role
	    OR OLD.org_id IS DISTINCT FROM NEW.org_id
	    OR OLD.manager_id IS DISTINCT FROM NEW.manager_id
	    OR OLD.token_version IS DISTINCT FROM NEW.token_version
	    OR OLD.must_change_password IS DISTINCT FROM NEW.must_change_password
	    OR OLD.email IS DISTINCT FROM NEW.email
	    OR OLD.name IS DISTINCT FROM NEW.name)
	EXECUTE FUNCTION rc_principal_notify('id');
CREATE TRIGGER users_principal_deleted
	AFTER DELETE ON users FOR EACH ROW
	EXECUTE FUNCTION rc_principal_notify('id');

-- A refresh family revoked (logout, reuse detected, disable, new
-- credentials) ends the access tokens whose sid names it; a family whose
-- rows are deleted is as dead. pg_notify folds the identical payloads of
-- one transaction into one notification.
CREATE TRIGGER refresh_tokens_revoked
	AFTER UPDATE OF revoked_at ON refresh_tokens FOR EACH ROW
	WHEN (OLD.revoked_at IS NULL AND NEW.revoked_at IS NOT NULL)
	EXECUTE FUNCTION rc_principal_notify('user_id');
CREATE TRIGGER refresh_tokens_deleted
	AFTER DELETE ON refresh_tokens FOR EACH ROW
	EXECUTE FUNCTION rc_principal_notify('user_id');
