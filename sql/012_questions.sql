-- Question collection (what carer_genese_question_collection did): an org's
-- question sets, their questions and choices with the answer key, the
-- submissions people make and the answers in them (scored when submitted),
-- and the grades an admin gives where an answer needs a reader.

CREATE TABLE question_sets (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	title		text NOT NULL,
	description	text NOT NULL DEFAULT '',
	-- only a published set is seen and answered by anyone but an admin
	published	boolean NOT NULL DEFAULT false,
	max_attempts	int NOT NULL DEFAULT 1 CHECK (max_attempts BETWEEN 1 AND 100),
	created_by	uuid REFERENCES users (id),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX question_sets_page ON question_sets (org_id, created_at, id);
CREATE TRIGGER question_sets_touch BEFORE UPDATE ON question_sets
	FOR EACH ROW EXECUTE FUNCTION rc_touch_updated_at();

CREATE TABLE questions (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	set_id		uuid NOT NULL REFERENCES question_sets (id) ON DELETE CASCADE,
	position	int NOT NULL,
	kind		text NOT NULL CHECK (kind IN ('single', 'multiple', 'text')),
	prompt		text NOT NULL,
	points		int NOT NULL CHECK (points BETWEEN 0 AND 1000),
	created_at	timestamptz NOT NULL DEFAULT now(),
	updated_at	timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX questions_set ON questions (set_id, position, created_at);
CREATE TRIGGER questions_touch BEFORE UPDATE ON questions
	FOR EACH ROW EXECUTE FUNCTION rc_touch_updated_at();

-- The choices of a single/multiple question in their order; correct is
-- the answer key, which only admins are shown.
CREATE TABLE question_choices (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	question_id	uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
	position	int NOT NULL,
	text		text NOT NULL,
	correct		boolean NOT NULL DEFAULT false
);
CREATE INDEX question_choices_question ON question_choices (question_id, position);

-- One attempt of one person at a set. score and pending_review are kept
-- true by the statements that submit and grade; max_score is the set's
-- total when submitted (questions do not change once a set has
-- submissions: the API refuses it).
CREATE TABLE question_submissions (
	id		uuid PRIMARY KEY DEFAULT gen_random_uuid(),
	org_id		uuid NOT NULL REFERENCES orgs (id),
	set_id		uuid NOT NULL REFERENCES question_sets (id) ON DELETE CASCADE,
	user_id		uuid NOT NULL REFERENCES users (id),
	attempt		int NOT NULL CHECK (attempt >= 1),
	score		int NOT NULL DEFAULT 0,
	max_score	int NOT NULL DEFAULT 0,
	pending_review	boolean NOT NULL DEFAULT false,
	created_at	timestamptz NOT NULL DEFAULT now(),
	graded_by	uuid REFERENCES users (id),
	graded_at	timestamptz,
	UNIQUE (set_id, user_id, attempt)
);
CREATE INDEX question_submissions_page ON question_submissions
	(set_id, created_at, id);
CREATE INDEX question_submissions_user ON question_submissions (user_id);

-- What the person answered; points is the automatic score of a choice
-- question, NULL for a text answer waiting for a grade.
CREATE TABLE question_answers (
	submission_id	uuid NOT NULL REFERENCES question_submissions (id)
			    ON DELETE CASCADE,
	question_id	uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
	choice_ids	uuid[] NOT NULL DEFAULT '{}',
	text		text,
	points		int,
	PRIMARY KEY (submission_id, question_id)
);

-- An admin's grade of one question of a submission: it overrides the
-- automatic points (or gives a text answer its points).
CREATE TABLE question_grades (
	submission_id	uuid NOT NULL REFERENCES question_submissions (id)
			    ON DELETE CASCADE,
	question_id	uuid NOT NULL REFERENCES questions (id) ON DELETE CASCADE,
	points		int NOT NULL CHECK (points >= 0),
	graded_by	uuid REFERENCES users (id),
	graded_at	timestamptz NOT NULL DEFAULT now(),
	PRIMARY KEY (submission_id, question_id)
);

-- Numbers a new submission and refuses one past the set's max_attempts
-- (SQLSTATE RC005). In the database so that two concurrent submissions of
-- one person cannot both get the last attempt: they queue on the advisory
-- lock, and each query of this volatile function takes a fresh snapshot
-- (READ COMMITTED), so the second sees the first's row.
CREATE FUNCTION question_submissions_attempt() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
	allowed	int;
	used	int;
BEGIN
	PERFORM pg_advisory_xact_lock(hashtext('question_submissions:' ||
	    NEW.set_id::text || ':' || NEW.user_id::text));
	SELECT max_attempts INTO allowed FROM question_sets WHERE id = NEW.set_id;
	SELECT count(*) INTO used FROM question_submissions
	WHERE set_id = NEW.set_id AND user_id = NEW.user_id;
	IF used >= allowed THEN
		RAISE EXCEPTION 'all % attempt(s) at this set are used', allowed
		    USING ERRCODE = 'RC005';
	END IF;
	NEW.attempt := used + 1;
	RETURN NEW;
END
$$;
CREATE TRIGGER question_submissions_attempt BEFORE INSERT ON
	question_submissions FOR EACH ROW
	EXECUTE FUNCTION question_submissions_attempt();
