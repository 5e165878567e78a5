-- Pictures and faces (what UploadPicture, S3 and Rekognition did): the
-- metadata of stored pictures (the bytes live in the blob store, named by
-- their SHA-256), the face templates people enrolled, and the kiosk devices
-- that punch people in and out by face.

-- One row per upload. The same bytes uploaded twice make two rows and one
-- blob: a blob is deleted only when no row names it any more.
CREATE TABLE pictures (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	owner_id	uuid NOT NULL REFERENCES users (id),
	-- upload: POST /pictures; face: the source of an enrolled template;
	-- check_in: taken at a face-gated punch, purged after
	-- face.photo_retention_days
	purpose		text NOT NULL DEFAULT 'upload'
			CHECK (purpose IN ('upload', 'face', 'check_in')),
	content_type	text NOT NULL DEFAULT 'image/jpeg',
	sha256		text NOT NULL CHECK (sha256 ~ '^[0-9a-f]{64}$'),
	thumb_sha256	text NOT NULL CHECK (thumb_sha256 ~ '^[0-9a-f]{64}$'),
	width		int NOT NULL CHECK (width > 0),
	height		int NOT NULL CHECK (height > 0),
	bytes		bigint NOT NULL CHECK (bytes > 0),
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX pictures_owner ON pictures (org_id, owner_id, created_at, id);
CREATE INDEX pictures_sha ON pictures (sha256);
CREATE INDEX pictures_thumb_sha ON pictures (thumb_sha256);
CREATE INDEX pictures_purge ON pictures (created_at) WHERE purpose = 'check_in';

-- A face template is never returned by the API. method/version say what
-- made it: templates of different methods are never compared.
CREATE TABLE face_templates (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	user_id		uuid NOT NULL REFERENCES users (id),
	picture_id	uuid REFERENCES pictures (id) ON DELETE SET NULL,
	method		text NOT NULL,
	version		int NOT NULL,
	template	bytea NOT NULL,
	quality		real NOT NULL CHECK (quality BETWEEN 0 AND 1),
	created_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX face_templates_user ON face_templates (user_id, created_at, id);
CREATE INDEX face_templates_org ON face_templates (org_id);

-- Every daemon keeps an in-memory gallery per org for 1:N identification;
-- any change tells them all which org's gallery is stale.
CREATE FUNCTION face_templates_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
	IF TG_OP = 'DELETE' THEN
		PERFORM pg_notify('rollcall_faces', OLD.org_id::text);
	ELSE
		PERFORM pg_notify('rollcall_faces', NEW.org_id::text);
	END IF;
	RETURN NULL;
END
$$;
CREATE TRIGGER face_templates_changed
	AFTER INSERT OR UPDATE OR DELETE ON face_templates
	FOR EACH ROW EXECUTE FUNCTION face_templates_notify();

-- The similarity a face must reach to match, per org; NULL: the
-- installation's face.threshold.
ALTER TABLE orgs ADD COLUMN face_threshold real
	CHECK (face_threshold IS NULL OR face_threshold BETWEEN 0 AND 1);

-- Kiosk devices: the token is shown once; only its SHA-256 is kept (the
-- token is 32 random bytes, so a slow hash adds nothing).
CREATE TABLE kiosks (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	name		text NOT NULL,
	token_hash	bytea NOT NULL UNIQUE,
	created_by	uuid REFERENCES users (id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	last_used_at	timestamptz
);
CREATE INDEX kiosks_org ON kiosks (org_id, created_at, id);

-- The photo of a face-gated punch, and how well it matched.
ALTER TABLE attendance_events
	ADD CONSTRAINT attendance_events_picture
	FOREIGN KEY (picture_id) REFERENCES pictures (id) ON DELETE SET NULL,
	ADD COLUMN similarity real,
	ADD COLUMN kiosk_id uuid REFERENCES kiosks (id) ON DELETE SET NULL;

-- Blob deletions go through the outbox: the jobs worker unlinks a blob
-- once no picture row names it (a file system call has no place on a
-- request's event loop, and the row change must commit first).
ALTER TABLE jobs DROP CONSTRAINT jobs_kind_check;
ALTER TABLE jobs ADD CONSTRAINT jobs_kind_check
	CHECK (kind IN ('mail', 'webhook', 'blob_delete'));
